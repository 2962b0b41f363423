package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/tenant/oauth"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

// acctRoutesToken issues a read/write/follow token for a local account.
func acctRoutesToken(t *testing.T, w *world, tenantID, accountID int64) string {
	t.Helper()
	ctx := context.Background()
	svc := &oauth.Service{Store: tenantpg.NewOAuthStore(w.db)}
	app, secret, err := svc.RegisterApp(ctx, tenantID, "acctroutes", "", oauth.OOB, "read write follow")
	if err != nil {
		t.Fatal(err)
	}
	code, err := svc.Authorize(ctx, app, accountID, oauth.OOB, "read write follow", "", "")
	if err != nil {
		t.Fatal(err)
	}
	g, err := svc.Exchange(ctx, tenantID, oauth.TokenRequest{GrantType: "authorization_code", ClientID: app.ClientID,
		ClientSecret: secret, Code: code, RedirectURI: oauth.OOB})
	if err != nil {
		t.Fatal(err)
	}
	return g.AccessToken
}

// TestIssue17CrossTenantAccountRoutesRealStore: tenant A's alice has a
// remote follower r, follows and features r, keeps a note on r, blocks,
// mutes and dismissed accounts. Tenant B's alice, with her own token on
// her own domain, names r, A's alice and A's rows on every account route
// of issue 17: each answers as for any account she has nothing to do with,
// shows none of A's rows, and not one of A's rows changes. The outbox here
// is empty: any federation attempt would panic.
func TestIssue17CrossTenantAccountRoutesRealStore(t *testing.T) {
	t.Parallel()
	w, _ := clientAPI(t)
	ctx := context.Background()
	s := w.accounts
	remote := func(name string) *federation.Account {
		uri := "https://r.example/users/" + name
		a, err := s.UpsertRemoteActor(ctx, &federation.Account{Domain: "r.example", Username: name, Discoverable: true,
			Remote: &federation.RemoteInfo{URI: uri, KeyID: uri + "#main-key", Inbox: uri + "/inbox", Type: "Person", FetchedAt: time.Now()}})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	r, x := remote("r"), remote("x")
	a := w.aliceA
	for i, pair := range [][2]int64{{r.ID, a.ID}, {a.ID, r.ID}} {
		if _, _, err := s.CreateFollow(ctx, pair[0], pair[1], fmt.Sprintf("https://x.example/f/%d", i), "accepted"); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Endorse(ctx, a.ID, r.ID))
	must(s.SetAccountNote(ctx, a.ID, r.ID, "A's private note"))
	must(s.Block(ctx, a.ID, x.ID, ""))
	must(s.Mute(ctx, a.ID, r.ID, true, nil))
	must(s.DismissSuggestion(ctx, a.ID, x.ID))
	snapshot := func() string {
		var out string
		err := w.db.QueryRow(ctx, `select concat_ws('|',
			(select string_agg(target_id || ':' || comment, ',') from account_notes where account_id = $1),
			(select string_agg(target_id::text, ',') from account_endorsements where account_id = $1),
			(select string_agg(target_id::text, ',') from blocks where account_id = $1),
			(select string_agg(target_id::text, ',') from mutes where account_id = $1),
			(select string_agg(target_id::text, ',') from suggestion_dismissals where account_id = $1),
			(select string_agg(follower_id || '>' || followee_id, ',' order by id) from follows where follower_id = $1 or followee_id = $1),
			(select avatar_url || quote_policy from accounts where id = $1))`, a.ID).Scan(&out)
		must(err)
		return out
	}
	before := snapshot()

	tokenB := acctRoutesToken(t, w, w.tenantB.ID, w.aliceB.ID)
	rid, aid := fmt.Sprint(r.ID), fmt.Sprint(a.ID)
	form := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v
	}
	cases := []struct {
		method, path string
		form         url.Values
		status       int
		body         string // when set, the exact body
	}{
		{"GET", "/api/v1/blocks", nil, 200, "[]"},
		{"GET", "/api/v1/mutes", nil, 200, "[]"},
		{"GET", "/api/v1/endorsements", nil, 200, "[]"},
		{"GET", "/api/v2/suggestions", nil, 200, ""},
		{"GET", "/api/v1/directory?local=false", nil, 200, ""},
		{"POST", "/api/v1/accounts/" + rid + "/note", form("comment", "B's own"), 200, ""},
		{"POST", "/api/v1/accounts/" + aid + "/note", form("comment", ""), 200, ""},
		{"POST", "/api/v1/accounts/" + rid + "/remove_from_followers", form(), 200, ""},
		{"POST", "/api/v1/accounts/" + rid + "/endorse", form(), 422, ""},
		{"POST", "/api/v1/accounts/" + rid + "/unendorse", form(), 200, ""},
		{"POST", "/api/v1/accounts/" + rid + "/unpin", form(), 200, ""},
		{"DELETE", "/api/v1/suggestions/" + aid, nil, 200, "{}"},
	}
	for _, c := range cases {
		var body *strings.Reader
		headers := []string{"Authorization", "Bearer " + tokenB}
		if c.form != nil {
			body = strings.NewReader(c.form.Encode())
			headers = append(headers, "Content-Type", "application/x-www-form-urlencoded")
		} else {
			body = strings.NewReader("")
		}
		resp := w.do(t, c.method, "b.example", c.path, body, headers...)
		got := readAll(t, resp.Body)
		if resp.StatusCode != c.status || (c.body != "" && got != c.body) {
			t.Errorf("%s %s as B's alice: %d %s", c.method, c.path, resp.StatusCode, got)
		}
		if strings.Contains(got, "A's private note") || strings.Contains(got, `"endorsed":true`) ||
			c.method == "GET" && strings.Contains(got, `"id":"`+aid+`"`) {
			t.Errorf("%s %s shows tenant A's rows or alice: %s", c.method, c.path, got)
		}
	}
	if after := snapshot(); after != before {
		t.Fatalf("tenant A's rows changed:\nbefore %s\nafter  %s", before, after)
	}
	resp := w.get(t, "b.example", "/api/v1/accounts/relationships?id[]="+rid, "Authorization", "Bearer "+tokenB)
	if got := readAll(t, resp.Body); resp.StatusCode != http.StatusOK || !strings.Contains(got, `"note":"B's own"`) ||
		!strings.Contains(got, `"endorsed":false`) || !strings.Contains(got, `"muting":false`) {
		t.Errorf("B's relationship with r: %d %s", resp.StatusCode, got)
	}
}
