package inbox_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/inbox"
	"github.com/roost-social/roost/federation/social/quote"
	"github.com/roost-social/roost/tenant"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

// quoteWorld is world with quotes handled and a public post of alice's.
func quoteWorld(t *testing.T) (*world, *federation.Status) {
	t.Helper()
	w := newWorld(t)
	w.proc.Quotes = inbox.QuotePorts{Store: w.store,
		Rules: &quote.Service{Views: w.store, Quotes: w.store, Locals: w.proc.Locals}}
	st, _, err := w.store.Publish(context.Background(), &federation.Status{AccountID: w.alice.ID, TenantID: w.tenantID,
		Content: "<p>quote me</p>", Visibility: federation.Public, Published: time.Now()},
		func(int64) string { return aliceURI + "/statuses/1" },
		func(*federation.Status) (string, []byte, error) { return "x", []byte("{}"), nil })
	if err != nil {
		t.Fatal(err)
	}
	return w, st
}

func quoteRequest(n, object string) map[string]any {
	return map[string]any{"type": "QuoteRequest", "id": "https://remote.test/users/eve#quote_requests/" + n,
		"object": object, "instrument": map[string]any{"id": "https://remote.test/users/eve/statuses/" + n, "type": "Note"}}
}

// TestIssue17InboxQuoteRequest: a QuoteRequest for alice's post is
// answered by its policy: Accept with a stamp (recorded, once) while it is
// open to quotes, Reject once closed or to someone alice blocks; a request naming another host's
// post as the quote, or reaching another tenant's inbox, changes nothing.
func TestIssue17InboxQuoteRequest(t *testing.T) {
	t.Parallel()
	w, st := quoteWorld(t)
	answers := func() string {
		return w.one(t, `select count(*) || ' ' || coalesce(string_agg(convert_from(body, 'utf8')::json->>'type', ',' order by id), '')
			from deliveries where activity_id like $1`, aliceURI+"#quote_answers/%")
	}
	if r := w.deliver(t, w.eve, quoteRequest("1", st.URI)); r != "" {
		t.Fatal(r)
	}
	if got := answers(); got != "1 Accept" {
		t.Fatalf("answers: %s", got)
	}
	body := w.one(t, `select convert_from(body, 'utf8') from deliveries where activity_id like $1`, aliceURI+"#quote_answers/%")
	if !strings.Contains(body, `"result":"`+aliceURI+`/quote_authorizations/`) ||
		!strings.Contains(body, `"instrument":"https://remote.test/users/eve/statuses/1"`) {
		t.Fatalf("Accept: %s", body)
	}
	if got := w.one(t, `select count(*) from quote_authorizations where quoting_uri = 'https://remote.test/users/eve/statuses/1'`); got != "1" {
		t.Fatalf("stamps: %s", got)
	}

	// The quoting post must be the requester's own.
	bad := quoteRequest("2", st.URI)
	bad["instrument"] = "https://elsewhere.test/statuses/2"
	if r := w.deliver(t, w.eve, bad); r == "" {
		t.Fatal("a request for another host's post was applied")
	}
	// Another tenant's inbox does not answer for alice's post.
	tb, err := tenantpg.New(w.db).CreateTenant(context.Background(), "B", tenant.NewDomain{Domain: "b.example", Verified: true})
	if err != nil {
		t.Fatal(err)
	}
	saved := w.tenantID
	w.tenantID = tb.ID
	if r := w.deliver(t, w.eve, quoteRequest("3", st.URI)); r == "" {
		t.Fatal("tenant B's inbox answered for tenant A's post")
	}
	w.tenantID = saved
	if got := answers(); got != "1 Accept" {
		t.Fatalf("answers after refused requests: %s", got)
	}

	// Someone alice blocks is refused, whatever the policy.
	if err := w.store.Block(context.Background(), w.alice.ID, w.mal.ID, "https://a.example/blocks/1"); err != nil {
		t.Fatal(err)
	}
	if r := w.deliver(t, w.mal, quoteRequest("5", st.URI)); r != "" {
		t.Fatal(r)
	}
	if got := answers(); got != "2 Accept,Reject" {
		t.Fatalf("answers to a blocked account: %s", got)
	}

	if err := w.store.SetQuotePolicy(context.Background(), st.ID, federation.QuoteNobody); err != nil {
		t.Fatal(err)
	}
	if r := w.deliver(t, w.eve, quoteRequest("4", st.URI)); r != "" {
		t.Fatal(r)
	}
	if got := answers(); got != "3 Accept,Reject,Reject" {
		t.Fatalf("answers once closed to quotes: %s", got)
	}
	if got := w.one(t, `select count(*) from quote_authorizations`); got != "1" {
		t.Fatalf("a refused quote got a stamp: %s", got)
	}
}

// TestIssue17InboxQuotePostStates: a post from a Mastodon 4.5 server that
// quotes alice's post (quote, with quoteAuthorization, as Mastodon sends
// it) is accepted only with the stamp alice issued for exactly that post
// (alice is notified); a stamp issued for another post is unauthorized, no
// stamp pending; a Delete of the stamp by anyone but its issuer revokes
// nothing; the remote post's own policy is kept.
func TestIssue17InboxQuotePostStates(t *testing.T) {
	t.Parallel()
	w, st := quoteWorld(t)
	if r := w.deliver(t, w.eve, quoteRequest("1", st.URI)); r != "" {
		t.Fatal(r)
	}
	stamp := w.one(t, `select $1 || '/quote_authorizations/' || id from quote_authorizations`, aliceURI)
	note := func(n, stampURI string) map[string]any {
		obj := map[string]any{"id": "https://remote.test/users/eve/statuses/" + n, "type": "Note",
			"attributedTo": w.eve.Remote.URI, "content": "<p>so true</p><p class=\"quote-inline\">RE: ...</p>",
			"to": []any{federation.PublicCollection}, "cc": []any{w.eve.Remote.Followers},
			"published": "2025-10-01T10:00:00Z", "quote": st.URI, "_misskey_quote": st.URI, "quoteUri": st.URI,
			"interactionPolicy": map[string]any{"canQuote": map[string]any{
				"automaticApproval": []any{w.eve.Remote.Followers}, "manualApproval": []any{}}}}
		if stampURI != "" {
			obj["quoteAuthorization"] = stampURI
		}
		return map[string]any{"type": "Create", "id": obj["id"].(string) + "/activity", "object": obj}
	}
	state := func(n string) string {
		return w.one(t, `select q.state || ' ' || coalesce(s.quote_policy, '') from quotes q join statuses s on s.id = q.status_id
			where s.uri = $1`, "https://remote.test/users/eve/statuses/"+n)
	}
	for _, c := range []struct{ n, stamp, want string }{
		{"1", stamp, "accepted followers"},
		{"2", stamp, "unauthorized followers"}, // alice's stamp is for post 1
		{"3", "", "pending followers"},
	} {
		if r := w.deliver(t, w.eve, note(c.n, c.stamp)); r != "" {
			t.Fatal(r)
		}
		if got := state(c.n); got != c.want {
			t.Fatalf("post %s: %s, want %s", c.n, got, c.want)
		}
	}
	if got := w.one(t, `select count(*) from notifications where account_id = $1 and type = 'quote'`, w.alice.ID); got != "1" {
		t.Fatalf("quote notifications: %s", got)
	}
	// mallory cannot revoke alice's stamp.
	w.deliver(t, w.mal, map[string]any{"type": "Delete", "object": stamp})
	if got := state("1"); got != "accepted followers" {
		t.Fatalf("after a stranger's Delete of the stamp: %s", got)
	}
}
