package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roost-social/roost/api/mastodon"
	"github.com/roost-social/roost/federation"
)

// notifWorld is hiddenWorld's two tenants with remote senders on
// remote.example and other.example, and alice of A's public post.
type notifWorld struct {
	*hiddenWorld
	r1, r2, r3, far *federation.Account
	post            int64
}

func newNotifWorld(t *testing.T, with ...func(*mastodon.Handler)) *notifWorld {
	t.Helper()
	w := &notifWorld{hiddenWorld: newHiddenWorld(t, with...)}
	remote := func(domain, name string) *federation.Account {
		uri := "https://" + domain + "/users/" + name
		a, err := w.accounts.UpsertRemoteActor(context.Background(), &federation.Account{Domain: domain, Username: name,
			Remote: &federation.RemoteInfo{URI: uri, KeyID: uri + "#main-key", Inbox: uri + "/inbox", Type: "Person", FetchedAt: time.Now()}})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	w.r1, w.r2, w.r3, w.far = remote("remote.example", "r1"), remote("remote.example", "r2"),
		remote("remote.example", "r3"), remote("other.example", "far")
	id := w.hiddenWorld.post(t, w.aliceA, map[string]any{"status": "hello world"})
	if _, err := fmt.Sscan(id, &w.post); err != nil {
		t.Fatal(err)
	}
	return w
}

// notify stores a notification for alice of A at a given time, as the
// triggers do (the group key follows the time).
func (w *notifWorld) notify(t *testing.T, from *federation.Account, kind string, status int64, at time.Time) int64 {
	t.Helper()
	var st any
	if status != 0 {
		st = status
	}
	var id int64
	if err := w.db.QueryRow(context.Background(), `insert into notifications (account_id, from_account_id, type, status_id, created_at)
		values ($1, $2, $3, $4, $5) returning id`, w.aliceA.ID, from.ID, kind, st, at).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

type groupedPage struct {
	Accounts        []struct{ ID string } `json:"accounts"`
	PartialAccounts *[]struct {
		ID     string `json:"id"`
		Avatar string `json:"avatar"`
	} `json:"partial_accounts"`
	Statuses []struct{ ID string } `json:"statuses"`
	Groups   []struct {
		Key          string   `json:"group_key"`
		Count        int      `json:"notifications_count"`
		Type         string   `json:"type"`
		MostRecent   string   `json:"most_recent_notification_id"`
		PageMin      string   `json:"page_min_id"`
		PageMax      string   `json:"page_max_id"`
		LatestPageAt string   `json:"latest_page_notification_at"`
		Samples      []string `json:"sample_account_ids"`
		StatusID     *string  `json:"status_id"`
	} `json:"notification_groups"`
}

func decodeAs[T any](t *testing.T, r reply) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	return v
}

func (p groupedPage) keys() []string {
	var out []string
	for _, g := range p.Groups {
		out = append(out, g.Key)
	}
	return out
}

func acctIDs(accts []struct{ ID string }) []string {
	var out []string
	for _, a := range accts {
		out = append(out, a.ID)
	}
	return out
}

// nextOf is the path and query of a Link header's rel="next".
func nextOf(t *testing.T, link string) string {
	t.Helper()
	for _, part := range strings.Split(link, ",") {
		if strings.Contains(part, `rel="next"`) {
			raw := strings.TrimSpace(part[strings.Index(part, "<")+1 : strings.Index(part, ">")])
			u, err := url.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			return u.RequestURI()
		}
	}
	t.Fatalf("no next in %q", link)
	return ""
}

// TestIssue17GroupedNotifications: GET /api/v2/notifications groups as
// Mastodon — two favourites of one post on one day are one group (count
// 2, newest sender first), a favourite on another day another, follows of
// a day one, a mention alone — with every account and status once; pages
// follow the Link header; partial_avatars sends the first sender in full
// and the others partly; one group, its accounts, the unread count; and
// another tenant's account can neither read nor dismiss alice's groups.
func TestIssue17GroupedNotifications(t *testing.T) {
	w := newNotifWorld(t)
	now, old := time.Now().UTC(), time.Now().UTC().Add(-72*time.Hour)
	w.notify(t, w.r3, "favourite", w.post, old)
	w.notify(t, w.r1, "follow", 0, now)
	fav1 := w.notify(t, w.r1, "favourite", w.post, now)
	mention := w.notify(t, w.r3, "mention", w.post, now)
	w.notify(t, w.r2, "follow", 0, now)
	fav2 := w.notify(t, w.r2, "favourite", w.post, now)
	day := func(at time.Time) int64 { return at.Unix() / 86400 }
	favKey := fmt.Sprintf("favourite-%d-%d", w.post, day(now))
	folKey := fmt.Sprintf("follow-%d", day(now))
	want := []string{favKey, folKey, fmt.Sprintf("ungrouped-%d", mention), fmt.Sprintf("favourite-%d-%d", w.post, day(old))}
	r1, r2, r3, post := fmt.Sprint(w.r1.ID), fmt.Sprint(w.r2.ID), fmt.Sprint(w.r3.ID), fmt.Sprint(w.post)

	all := decodeAs[groupedPage](t, w.call(t, w.aliceA, "GET", "/api/v2/notifications", nil).want(t, 200))
	if !slices.Equal(all.keys(), want) {
		t.Fatalf("groups %v, want %v", all.keys(), want)
	}
	g := all.Groups[0]
	if g.Count != 2 || g.Type != "favourite" || g.MostRecent != fmt.Sprint(fav2) || g.PageMax != fmt.Sprint(fav2) ||
		g.PageMin != fmt.Sprint(fav1) || !slices.Equal(g.Samples, []string{r2, r1}) || g.StatusID == nil || *g.StatusID != post ||
		g.LatestPageAt == "" {
		t.Fatalf("favourites group: %+v", g)
	}
	if all.Groups[1].Count != 2 || all.Groups[1].StatusID != nil || all.Groups[3].Count != 1 {
		t.Fatalf("follow or old group: %+v", all.Groups)
	}
	if got := acctIDs(all.Accounts); len(got) != 3 || !slices.Contains(got, r1) || !slices.Contains(got, r2) || !slices.Contains(got, r3) ||
		len(all.Statuses) != 1 || all.Statuses[0].ID != post || all.PartialAccounts != nil {
		t.Fatalf("accounts %v statuses %v partial %v", got, all.Statuses, all.PartialAccounts)
	}

	// Paging by two groups through the Link header.
	first := w.call(t, w.aliceA, "GET", "/api/v2/notifications?limit=2", nil).want(t, 200)
	next := w.call(t, w.aliceA, "GET", nextOf(t, first.link), nil).want(t, 200)
	if k1, k2 := decodeAs[groupedPage](t, first).keys(), decodeAs[groupedPage](t, next).keys(); !slices.Equal(k1, want[:2]) ||
		len(k2) != 2 || k2[0] != want[2] {
		t.Fatalf("pages %v then %v (%s)", k1, k2, first.link)
	}

	// partial_avatars: the newest sender of each group in full.
	part := decodeAs[groupedPage](t, w.call(t, w.aliceA, "GET", "/api/v2/notifications?expand_accounts=partial_avatars&limit=1", nil).want(t, 200))
	if !slices.Equal(acctIDs(part.Accounts), []string{r2}) || part.PartialAccounts == nil || len(*part.PartialAccounts) != 1 ||
		(*part.PartialAccounts)[0].ID != r1 {
		t.Fatalf("partial_avatars: %+v", part)
	}
	w.call(t, w.aliceA, "GET", "/api/v2/notifications?expand_accounts=everything", nil).want(t, 422)

	// grouped_types without follow: follows one by one.
	favOnly := decodeAs[groupedPage](t, w.call(t, w.aliceA, "GET", "/api/v2/notifications?grouped_types[]=favourite", nil).want(t, 200))
	if len(favOnly.Groups) != 5 || favOnly.Groups[0].Key != favKey || !strings.HasPrefix(favOnly.Groups[1].Key, "ungrouped-") {
		t.Fatalf("grouped_types=favourite: %v", favOnly.keys())
	}

	one := decodeAs[groupedPage](t, w.call(t, w.aliceA, "GET", "/api/v2/notifications/"+favKey, nil).want(t, 200))
	if len(one.Groups) != 1 || one.Groups[0].Count != 2 || one.Groups[0].PageMin != "" {
		t.Fatalf("one group: %+v", one)
	}
	accts := w.call(t, w.aliceA, "GET", "/api/v2/notifications/"+folKey+"/accounts", nil).want(t, 200)
	if got := acctIDs(decodeAs[[]struct{ ID string }](t, accts)); !slices.Equal(got, []string{r2, r1}) {
		t.Fatalf("group accounts: %v", got)
	}

	// Unread: groups above the notifications marker.
	w.call(t, w.aliceA, "POST", "/api/v1/markers", map[string]any{"notifications": map[string]any{"last_read_id": fmt.Sprint(mention)}}).want(t, 200)
	if r := w.call(t, w.aliceA, "GET", "/api/v2/notifications/unread_count", nil).want(t, 200); r.body != `{"count":2}` {
		t.Fatalf("v2 unread: %s", r.body)
	}
	if r := w.call(t, w.aliceA, "GET", "/api/v1/notifications/unread_count", nil).want(t, 200); r.body != `{"count":2}` {
		t.Fatalf("v1 unread: %s", r.body)
	}

	// Another tenant's account: alice's keys name nothing of hers.
	for _, key := range want[:3] {
		w.call(t, w.aliceB, "GET", "/api/v2/notifications/"+key, nil).want(t, 404)
		w.call(t, w.aliceB, "GET", "/api/v2/notifications/"+key+"/accounts", nil).want(t, 404)
		w.call(t, w.aliceB, "POST", "/api/v2/notifications/"+key+"/dismiss", nil).want(t, 404)
		w.call(t, w.bob, "POST", "/api/v2/notifications/"+key+"/dismiss", nil).want(t, 404)
	}
	if again := decodeAs[groupedPage](t, w.call(t, w.aliceA, "GET", "/api/v2/notifications", nil).want(t, 200)); !slices.Equal(again.keys(), want) {
		t.Fatalf("others' dismiss changed alice's groups: %v", again.keys())
	}
	if r := w.call(t, w.aliceB, "GET", "/api/v2/notifications", nil).want(t, 200); strings.Contains(r.body, favKey) {
		t.Fatalf("tenant B sees alice's groups: %s", r.body)
	}
	w.call(t, w.aliceA, "POST", "/api/v2/notifications/"+favKey+"/dismiss", nil).want(t, 200)
	if again := decodeAs[groupedPage](t, w.call(t, w.aliceA, "GET", "/api/v2/notifications", nil).want(t, 200)); slices.Contains(again.keys(), favKey) {
		t.Fatalf("dismissed group still listed: %v", again.keys())
	}
}

// TestIssue17Finding2NotificationFiltersBeforeLimit: /api/v1/notifications
// applies account_id, hidden domains, mutes and hide filters before the
// limit: a page of one is the newest match, never empty while older
// matches exist (the old code paged first and filtered after).
func TestIssue17Finding2NotificationFiltersBeforeLimit(t *testing.T) {
	w := newNotifWorld(t)
	now := time.Now().UTC()
	own := w.notify(t, w.r1, "favourite", w.post, now)
	w.notify(t, w.far, "follow", 0, now)
	w.notify(t, w.r2, "follow", 0, now)
	ntf := func(query string) []struct{ ID string } {
		t.Helper()
		return decodeAs[[]struct{ ID string }](t, w.call(t, w.aliceA, "GET", "/api/v1/notifications?"+query, nil).want(t, 200))
	}
	if got := ntf(fmt.Sprintf("limit=1&account_id=%d", w.r1.ID)); len(got) != 1 || got[0].ID != fmt.Sprint(own) {
		t.Fatalf("account_id before the limit: %v", got)
	}
	w.call(t, w.aliceA, "POST", fmt.Sprintf("/api/v1/accounts/%d/mute", w.r2.ID), map[string]any{"notifications": true}).want(t, 200)
	w.call(t, w.aliceA, "POST", "/api/v1/domain_blocks", map[string]any{"domain": "other.example"}).want(t, 200)
	if got := ntf("limit=1"); len(got) != 1 || got[0].ID != fmt.Sprint(own) {
		t.Fatalf("muted and hidden domain before the limit: %v", got)
	}
	// A hide filter on notifications: the newest, a mention in a post it
	// matches, is skipped and the page still holds one.
	zebra, err := w.accounts.UpsertRemoteStatus(context.Background(), &federation.Status{AccountID: w.r3.ID,
		URI: "https://remote.example/users/r3/statuses/1", Content: "<p>a zebra</p>", Visibility: federation.Public,
		To: []string{federation.PublicCollection}, Published: now})
	if err != nil {
		t.Fatal(err)
	}
	w.notify(t, w.r3, "mention", zebra.ID, now)
	if got := ntf("limit=1"); len(got) != 1 || got[0].ID == fmt.Sprint(own) {
		t.Fatalf("the mention before the filter: %v", got)
	}
	w.call(t, w.aliceA, "POST", "/api/v2/filters", map[string]any{"title": "z", "context": []string{"notifications"},
		"filter_action": "hide", "keywords_attributes": []map[string]any{{"keyword": "zebra"}}}).want(t, 200)
	got := w.call(t, w.aliceA, "GET", "/api/v1/notifications?limit=1", nil).want(t, 200)
	if ns := decodeAs[[]struct{ ID string }](t, got); len(ns) != 1 || ns[0].ID != fmt.Sprint(own) || !strings.Contains(got.link, "max_id=") {
		t.Fatalf("hide filter before the limit: %v %q", ns, got.link)
	}
	v2 := decodeAs[groupedPage](t, w.call(t, w.aliceA, "GET", "/api/v2/notifications?limit=1", nil).want(t, 200))
	if len(v2.Groups) != 1 || v2.Groups[0].MostRecent != fmt.Sprint(own) {
		t.Fatalf("v2 hide filter before the limit: %+v", v2.Groups)
	}
}

// TestIssue17NotificationPolicyAndRequests: a policy that filters strangers
// sends their notifications to the requests (not the list); accepting
// shows them; drop stores nothing; another tenant's account neither reads
// nor decides alice's requests.
func TestIssue17NotificationPolicyAndRequests(t *testing.T) {
	w := newNotifWorld(t)
	pol := w.call(t, w.aliceA, "PATCH", "/api/v2/notifications/policy", map[string]any{"for_not_following": "filter"}).want(t, 200)
	if !strings.Contains(pol.body, `"for_not_following":"filter"`) || !strings.Contains(pol.body, `"for_limited_accounts":"filter"`) {
		t.Fatalf("policy: %s", pol.body)
	}
	w.call(t, w.aliceA, "PATCH", "/api/v2/notifications/policy", map[string]any{"for_not_following": "sometimes"}).want(t, 422)
	if v1 := w.call(t, w.aliceA, "GET", "/api/v1/notifications/policy", nil).want(t, 200); !strings.Contains(v1.body, `"filter_not_following":true`) {
		t.Fatalf("v1 policy: %s", v1.body)
	}
	w.exec(t, `insert into favourites (account_id, status_id, uri) values ($1, $2, 'https://remote.example/l/1')`, w.r1.ID, w.post)
	if r := w.call(t, w.aliceA, "GET", "/api/v1/notifications", nil).want(t, 200); r.body != "[]" {
		t.Fatalf("filtered notification listed: %s", r.body)
	}
	reqs := decodeAs[[]struct {
		ID      string `json:"id"`
		Count   string `json:"notifications_count"`
		Account struct{ ID string }
	}](t, w.call(t, w.aliceA, "GET", "/api/v1/notifications/requests", nil).want(t, 200))
	if len(reqs) != 1 || reqs[0].Account.ID != fmt.Sprint(w.r1.ID) || reqs[0].Count != "1" {
		t.Fatalf("requests: %+v", reqs)
	}
	id := reqs[0].ID
	w.call(t, w.aliceA, "GET", "/api/v1/notifications/requests/"+id, nil).want(t, 200)
	w.call(t, w.aliceB, "GET", "/api/v1/notifications/requests/"+id, nil).want(t, 404)
	w.call(t, w.aliceB, "POST", "/api/v1/notifications/requests/"+id+"/accept", nil).want(t, 404)
	w.call(t, w.bob, "POST", "/api/v1/notifications/requests/"+id+"/dismiss", nil).want(t, 404)
	if r := w.call(t, w.aliceA, "GET", "/api/v1/notifications?include_filtered=true", nil).want(t, 200); !strings.Contains(r.body, `"favourite"`) {
		t.Fatalf("include_filtered: %s", r.body)
	}
	w.call(t, w.aliceA, "POST", "/api/v1/notifications/requests/"+id+"/accept", nil).want(t, 200)
	if r := w.call(t, w.aliceA, "GET", "/api/v1/notifications", nil).want(t, 200); !strings.Contains(r.body, `"favourite"`) {
		t.Fatalf("accepted request not listed: %s", r.body)
	}
	if r := w.call(t, w.aliceA, "GET", "/api/v1/notifications/requests/merged", nil).want(t, 200); r.body != `{"merged":true}` {
		t.Fatalf("merged: %s", r.body)
	}

	w.call(t, w.aliceA, "PATCH", "/api/v2/notifications/policy", map[string]any{"for_not_following": "drop"}).want(t, 200)
	w.exec(t, `insert into favourites (account_id, status_id, uri) values ($1, $2, 'https://remote.example/l/2')`, w.r2.ID, w.post)
	var n int
	if err := w.db.QueryRow(context.Background(), `select count(*) from notifications where from_account_id = $1`, w.r2.ID).Scan(&n); err != nil || n != 0 {
		t.Fatalf("dropped notification stored: %d %v", n, err)
	}
	// The other tenant's policy is its own.
	if r := w.call(t, w.aliceB, "GET", "/api/v2/notifications/policy", nil).want(t, 200); !strings.Contains(r.body, `"for_not_following":"accept"`) {
		t.Fatalf("tenant B's policy: %s", r.body)
	}
}

// exec runs SQL on the world's database.
func (w *notifWorld) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	if _, err := w.db.Exec(context.Background(), query, args...); err != nil {
		t.Fatal(err)
	}
}
