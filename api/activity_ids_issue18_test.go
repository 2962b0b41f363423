package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
)

// sentActivity is one activity the delivery queue holds, as sent.
type sentActivity struct {
	ID, Type, Object string // Object: the embedded object's id, or the object itself
}

// sentBy lists the activities an account sent, in order, one per id
// (every one here goes to one inbox).
func (w *appWorld) sentBy(t *testing.T, a *federation.Account) []sentActivity {
	t.Helper()
	rows, err := w.db.Query(context.Background(), `select activity_id, body from deliveries where sender_id = $1 order by id`, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []sentActivity
	for rows.Next() {
		var id string
		var body []byte
		if err := rows.Scan(&id, &body); err != nil {
			t.Fatal(err)
		}
		var doc struct {
			ID     string          `json:"id"`
			Type   string          `json:"type"`
			Object json.RawMessage `json:"object"`
		}
		if err := json.Unmarshal(body, &doc); err != nil || doc.ID != id {
			t.Fatalf("delivery %q: body id %q, %v", id, doc.ID, err)
		}
		var obj struct{ ID string }
		if json.Unmarshal(doc.Object, &obj) != nil || obj.ID == "" {
			_ = json.Unmarshal(doc.Object, &obj.ID)
		}
		out = append(out, sentActivity{ID: id, Type: doc.Type, Object: obj.ID})
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Issue 18 (left 2): a person boosting their own post sent an Announce
// whose id was that post's Create id, a boost's id served no document,
// and a like or block after an undone one reused the first one's id (so
// receivers, which drop ids they have seen, dropped it). Every activity
// a post's life emits has an id of its own; Create and Announce ids
// answer their documents; each Undo carries the id that was sent.
func TestIssue18ActivityIDsDistinctAndDereferenceable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newAppWorld(t)
	alice := w.aliceA
	uri := "https://remote.example/users/r"
	r, err := w.accounts.UpsertRemoteActor(ctx, &federation.Account{Domain: "remote.example", Username: "r",
		Remote: &federation.RemoteInfo{URI: uri, KeyID: uri + "#main-key", Inbox: uri + "/inbox", Type: "Person", FetchedAt: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.accounts.CreateFollow(ctx, r.ID, alice.ID, uri+"#follows/1", federation.FollowAccepted); err != nil {
		t.Fatal(err)
	}
	theirs, err := w.accounts.UpsertRemoteStatus(ctx, &federation.Status{AccountID: r.ID, URI: uri + "/statuses/9",
		Content: "<p>theirs</p>", Visibility: federation.Public, To: []string{federation.PublicCollection}, Published: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	post := w.postAs(t, alice, "my own post")
	theirID := strconv.FormatInt(theirs.ID, 10)
	steps := []struct{ method, path string }{
		{http.MethodPut, "/api/v1/statuses/" + post},
		{http.MethodPost, "/api/v1/statuses/" + post + "/reblog"},
		{http.MethodPost, "/api/v1/statuses/" + post + "/unreblog"},
		{http.MethodPost, "/api/v1/statuses/" + post + "/reblog"},
		{http.MethodPost, "/api/v1/statuses/" + theirID + "/favourite"},
		{http.MethodPost, "/api/v1/statuses/" + theirID + "/unfavourite"},
		{http.MethodPost, "/api/v1/statuses/" + theirID + "/favourite"},
		{http.MethodPost, "/api/v1/statuses/" + theirID + "/unfavourite"},
		{http.MethodPost, "/api/v1/statuses/" + theirID + "/reblog"},
		{http.MethodPost, "/api/v1/statuses/" + theirID + "/unreblog"},
		{http.MethodPost, "/api/v1/statuses/" + theirID + "/reblog"},
		{http.MethodPost, "/api/v1/accounts/" + strconv.FormatInt(r.ID, 10) + "/block"},
		{http.MethodPost, "/api/v1/accounts/" + strconv.FormatInt(r.ID, 10) + "/unblock"},
		{http.MethodPost, "/api/v1/accounts/" + strconv.FormatInt(r.ID, 10) + "/block"},
		{http.MethodPost, "/api/v1/accounts/" + strconv.FormatInt(r.ID, 10) + "/unblock"},
	}
	for _, s := range steps {
		var body any
		if s.method == http.MethodPut {
			body = map[string]any{"status": "my own post, edited"}
		}
		if code, out := w.apiCall(t, alice, s.method, s.path, body); code != http.StatusOK {
			t.Fatalf("%s %s: %d %s", s.method, s.path, code, out)
		}
	}
	sent := w.sentBy(t, alice)
	want := []string{"Create", "Update", "Announce", "Undo", "Announce", "Like", "Undo", "Like", "Undo",
		"Announce", "Undo", "Announce", "Block", "Undo", "Block", "Undo"}
	var kinds []string
	byID := map[string]sentActivity{}
	for _, a := range sent {
		kinds = append(kinds, a.Type)
		if had, dup := byID[a.ID]; dup {
			t.Errorf("%s and %s share the id %s", had.Type, a.Type, a.ID)
		}
		byID[a.ID] = a
	}
	if strings.Join(kinds, " ") != strings.Join(want, " ") {
		t.Fatalf("sent %v, want %v", kinds, want)
	}
	// Each Undo names the activity sent just before it, by the id it was
	// sent with.
	for i, a := range sent {
		if a.Type == "Undo" && a.Object != sent[i-1].ID {
			t.Errorf("Undo %d carries %q, the %s sent was %q", i, a.Object, sent[i-1].Type, sent[i-1].ID)
		}
	}
	createID, liveOwnBoost, liveTheirBoost := sent[0].ID, sent[4].ID, sent[11].ID
	apGet := func(host, id string) (int, map[string]any) {
		resp := w.do(t, http.MethodGet, host, pathOf(t, id), nil, "Accept", "application/activity+json")
		var doc map[string]any
		_ = json.Unmarshal([]byte(readAll(t, resp.Body)), &doc)
		return resp.StatusCode, doc
	}
	for _, c := range []struct {
		name, id, host string
		code           int
		kind, object   string
	}{
		{"the post's Create", createID, "a.example", 200, "Create", ""},
		{"the live boost of her own post", liveOwnBoost, "a.example", 200, "Announce", sent[0].Object},
		{"the live boost of a remote post", liveTheirBoost, "a.example", 200, "Announce", theirs.URI},
		{"an undone boost", sent[2].ID, "a.example", 404, "", ""},
		{"a boost on another tenant's domain", liveOwnBoost, "b.example", 404, "", ""},
		{"a boost under another name", strings.Replace(liveOwnBoost, "/alice/", "/bob/", 1), "a.example", 404, "", ""},
	} {
		code, doc := apGet(c.host, c.id)
		if code != c.code {
			t.Errorf("%s (%s): %d, want %d", c.name, c.id, code, c.code)
			continue
		}
		if c.code == 200 && (doc["id"] != c.id || doc["type"] != c.kind || (c.object != "" && doc["object"] != c.object)) {
			t.Errorf("%s: %v", c.name, doc)
		}
	}
	// A browser at a boost's id gets the boosted post.
	p := w.browser(t, "a.example").get(pathOf(t, liveOwnBoost))
	if p.code != http.StatusFound || p.header.Get("Location") != "https://a.example/@alice/"+post {
		t.Errorf("browser at the boost: %d to %q", p.code, p.header.Get("Location"))
	}
	// A boost of a post the public may no longer see is no document.
	if _, err := w.db.Exec(ctx, `update statuses set visibility = 'private' where id = $1`, theirs.ID); err != nil {
		t.Fatal(err)
	}
	if code, _ := apGet("a.example", liveTheirBoost); code != http.StatusNotFound {
		t.Errorf("a boost of a hidden post: %d, want 404", code)
	}
	// Deleting the post sends a Delete of its own id (to r, following
	// again after the blocks), and its Create id and boost answer no more.
	if _, _, err := w.accounts.CreateFollow(ctx, r.ID, alice.ID, uri+"#follows/2", federation.FollowAccepted); err != nil {
		t.Fatal(err)
	}
	if code, out := w.apiCall(t, alice, http.MethodDelete, "/api/v1/statuses/"+post, nil); code != http.StatusOK {
		t.Fatalf("delete: %d %s", code, out)
	}
	all := w.sentBy(t, alice)
	last := all[len(all)-1]
	if last.Type != "Delete" || byID[last.ID].ID != "" {
		t.Errorf("the Delete %v reuses an id sent before", last)
	}
	for _, id := range []string{createID, liveOwnBoost} {
		if code, _ := apGet("a.example", id); code != http.StatusNotFound {
			t.Errorf("%s after the delete: %d, want 404", id, code)
		}
	}
}
