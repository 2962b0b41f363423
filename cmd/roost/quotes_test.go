package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mattn/go-mastodon"
)

// quoteCall calls the client API with a form body and decodes the JSON
// answer (nil when it is not JSON).
func quoteCall(t *testing.T, c *mastodon.Client, method, path string, form url.Values) (int, map[string]any, []any) {
	t.Helper()
	req, err := http.NewRequest(method, c.Config.Server+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+c.Config.AccessToken)
	resp, err := c.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	var l []any
	if json.Unmarshal(b, &m) != nil {
		_ = json.Unmarshal(b, &l)
	}
	return resp.StatusCode, m, l
}

// postQuote posts a status and wants 200.
func postStatus(t *testing.T, c *mastodon.Client, form url.Values) map[string]any {
	t.Helper()
	code, m, _ := quoteCall(t, c, "POST", "/api/v1/statuses", form)
	if code != 200 {
		t.Fatalf("post %v: %d %v", form, code, m)
	}
	return m
}

// field walks a decoded JSON object by keys.
func field(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestIssue17QuotePostsClientAPI: quoting a local post is accepted at
// once, with quote, quote_approval and quotes_count on the statuses, a
// stamp served at its id and quote on the Note; only the quoted post's
// author lists and revokes its quotes (another account or tenant: 404);
// followers-only and direct posts cannot be quoted by others (422), and
// a post's author may close it to quotes.
func TestIssue17QuotePostsClientAPI(t *testing.T) {
	t.Parallel()
	n, addr := apiNode(t)
	alice := signIn(t, addr, "http://a.test", "alice@a.test", "read write follow")
	bob := signIn(t, addr, "http://a.test", "bob@a.test", "read write follow")
	carol := signIn(t, addr, "http://b.test", "carol@b.test", "read write follow")

	p := postStatus(t, alice, url.Values{"status": {"quote me"}})
	pid := p["id"].(string)
	if jsonText(p["quote_approval"]) != `{"automatic":["public"],"current_user":"automatic","manual":[]}` || p["quote"] != nil {
		t.Fatalf("a new post's quote fields: %v %v", p["quote_approval"], p["quote"])
	}
	q := postStatus(t, bob, url.Values{"status": {"so true"}, "quoted_status_id": {pid}})
	qid := q["id"].(string)
	if field(q, "quote", "state") != "accepted" || field(q, "quote", "quoted_status", "id") != pid {
		t.Fatalf("quote: %s", jsonText(q["quote"]))
	}
	if code, m, _ := quoteCall(t, alice, "GET", "/api/v1/statuses/"+pid, nil); code != 200 || m["quotes_count"] != 1.0 {
		t.Fatalf("quotes_count: %d %v", code, m["quotes_count"])
	}
	if code, _, l := quoteCall(t, alice, "GET", "/api/v1/statuses/"+pid+"/quotes", nil); code != 200 || len(l) != 1 ||
		l[0].(map[string]any)["id"] != qid {
		t.Fatalf("alice's quotes list: %d %v", code, l)
	}
	// Only the quoted post's author lists or revokes; another tenant's
	// account is not told the post exists.
	for _, c := range []*mastodon.Client{bob, carol} {
		if code, _, _ := quoteCall(t, c, "GET", "/api/v1/statuses/"+pid+"/quotes", nil); code != 404 {
			t.Fatalf("someone else listed alice's quotes: %d", code)
		}
		if code, _, _ := quoteCall(t, c, "POST", "/api/v1/statuses/"+pid+"/quotes/"+qid+"/revoke", nil); code != 404 {
			t.Fatalf("someone else revoked: %d", code)
		}
		if code, _, _ := quoteCall(t, c, "PUT", "/api/v1/statuses/"+pid+"/interaction_policy",
			url.Values{"quote_approval_policy": {"nobody"}}); code != 404 {
			t.Fatalf("someone else set the policy: %d", code)
		}
	}
	if got := n.query(t, `select count(*) from notifications n join accounts a on a.id = n.account_id
		where a.username = 'alice' and n.type = 'quote'`); got != "1" {
		t.Fatalf("quote notifications: %s", got)
	}

	// ActivityPub: the quoting Note names the post and its stamp; the
	// quoted one says anyone may quote it; the stamp is served.
	pURI, qURI := p["uri"].(string), q["uri"].(string)
	qNote := string(waitHTTP(t, "http://"+addr+strings.TrimPrefix(qURI, "http://a.test"), "a.test", 200))
	for _, want := range []string{`"quote":"` + pURI + `"`, `"_misskey_quote":"` + pURI + `"`, `"quoteUri":"` + pURI + `"`,
		`"quoteAuthorization":"http://a.test/users/alice/quote_authorizations/`} {
		if !strings.Contains(qNote, want) {
			t.Fatalf("quoting Note lacks %s: %s", want, qNote)
		}
	}
	pNote := string(waitHTTP(t, "http://"+addr+strings.TrimPrefix(pURI, "http://a.test"), "a.test", 200))
	if !strings.Contains(pNote, `"interactionPolicy":{"canQuote":{"automaticApproval":["https://www.w3.org/ns/activitystreams#Public"]}}`) {
		t.Fatalf("quoted Note's policy: %s", pNote)
	}
	stamp := qNote[strings.Index(qNote, `"quoteAuthorization":"`)+len(`"quoteAuthorization":"`):]
	stamp = stamp[:strings.IndexByte(stamp, '"')]
	stampDoc := string(waitHTTP(t, "http://"+addr+strings.TrimPrefix(stamp, "http://a.test"), "a.test", 200))
	if !strings.Contains(stampDoc, `"type":"QuoteAuthorization"`) || !strings.Contains(stampDoc, `"interactingObject":"`+qURI+`"`) ||
		!strings.Contains(stampDoc, `"interactionTarget":"`+pURI+`"`) {
		t.Fatalf("stamp: %s", stampDoc)
	}
	// Another tenant's host does not serve alice's stamp.
	waitHTTP(t, "http://"+addr+strings.TrimPrefix(stamp, "http://a.test"), "b.test", 404)

	// Followers-only: nobody else may quote it, seen or not; its author
	// may, in a followers-only quote.
	pp := postStatus(t, alice, url.Values{"status": {"for followers"}, "visibility": {"private"}})
	if code, _, _ := quoteCall(t, bob, "POST", "/api/v1/statuses", url.Values{"status": {"x"}, "quoted_status_id": {pp["id"].(string)}}); code != 404 {
		t.Fatalf("quoting an unseen followers-only post: %d", code)
	}
	if code, _, _ := quoteCall(t, bob, "POST", "/api/v1/accounts/"+field(p, "account", "id").(string)+"/follow", nil); code != 200 {
		t.Fatalf("follow: %d", code)
	}
	if code, m, _ := quoteCall(t, bob, "POST", "/api/v1/statuses", url.Values{"status": {"x"}, "quoted_status_id": {pp["id"].(string)}}); code != 422 {
		t.Fatalf("a follower quoted a followers-only post: %d %v", code, m)
	}
	own := postStatus(t, alice, url.Values{"status": {"me again"}, "quoted_status_id": {pp["id"].(string)}, "visibility": {"public"}})
	if own["visibility"] != "private" || field(own, "quote", "state") != "accepted" {
		t.Fatalf("quoting one's own followers-only post: %v %s", own["visibility"], jsonText(own["quote"]))
	}
	dm := postStatus(t, alice, url.Values{"status": {"@bob psst"}, "visibility": {"direct"}})
	if code, _, _ := quoteCall(t, bob, "POST", "/api/v1/statuses", url.Values{"status": {"x"}, "quoted_status_id": {dm["id"].(string)}}); code != 422 {
		t.Fatalf("quoting a direct post: %d", code)
	}

	// Without quote_approval_policy, a post takes its author's default.
	if code, m, _ := quoteCall(t, bob, "PATCH", "/api/v1/accounts/update_credentials",
		url.Values{"source[quote_policy]": {"followers"}}); code != 200 {
		t.Fatalf("default policy: %d %v", code, m)
	}
	if d := postStatus(t, bob, url.Values{"status": {"followers may quote"}}); jsonText(field(d, "quote_approval", "automatic")) != `["followers"]` {
		t.Fatalf("a post after a default of followers: %s", jsonText(d["quote_approval"]))
	}

	// alice closes her post to quotes; carol may not quote it any more.
	code, m, _ := quoteCall(t, alice, "PUT", "/api/v1/statuses/"+pid+"/interaction_policy", url.Values{"quote_approval_policy": {"nobody"}})
	if code != 200 || jsonText(m["quote_approval"]) != `{"automatic":[],"current_user":"automatic","manual":[]}` {
		t.Fatalf("policy: %d %v", code, m["quote_approval"])
	}
	if code, _, _ := quoteCall(t, alice, "PUT", "/api/v1/statuses/"+pid+"/interaction_policy", url.Values{"quote_approval_policy": {"friends"}}); code != 422 {
		t.Fatalf("a bad policy: %d", code)
	}
	if code, _, _ := quoteCall(t, carol, "POST", "/api/v1/statuses", url.Values{"status": {"x"}, "quoted_status_id": {pid}}); code != 422 {
		t.Fatalf("quoting a post closed to quotes: %d", code)
	}

	// alice revokes bob's quote: revoked for everyone, the stamp is gone.
	if code, _, _ := quoteCall(t, alice, "POST", "/api/v1/statuses/"+pid+"/quotes/"+qid+"/revoke", nil); code != 200 {
		t.Fatalf("revoke: %d", code)
	}
	if _, m, _ := quoteCall(t, bob, "GET", "/api/v1/statuses/"+qid, nil); field(m, "quote", "state") != "revoked" || field(m, "quote", "quoted_status") != nil {
		t.Fatalf("revoked quote: %s", jsonText(m["quote"]))
	}
	waitHTTP(t, "http://"+addr+strings.TrimPrefix(stamp, "http://a.test"), "a.test", 404)
	if _, m, _ := quoteCall(t, alice, "GET", "/api/v1/statuses/"+pid, nil); m["quotes_count"] != 0.0 {
		t.Fatalf("quotes_count after revoking: %v", m["quotes_count"])
	}
}

// TestIssue17QuotePostsFederate: bob on B quotes alice's post on A over
// real signed HTTP. B sends a QuoteRequest and keeps the quote pending;
// A answers Accept with a stamp it serves; B fetches and checks the stamp
// (signed), accepts the quote and sends an Update whose stamp A checks
// against its own records (alice, a follower of bob, sees the quote
// accepted and is notified). alice revokes on A: the stamp is gone and
// B, told by a Delete of the stamp, shows the quote revoked.
func TestIssue17QuotePostsFederate(t *testing.T) {
	t.Parallel()
	addrA, addrB := freeAddr(t), freeAddr(t)
	resolve := "a.test=" + addrA + ",b.test=" + addrB
	a := startNode(t, "qa", addrA, resolve)
	b := startNode(t, "qb", addrB, resolve)
	a.run(t, "tenant", "create", "--name", "A", "--domain", "a.test")
	a.run(t, "account", "create", "--domain", "a.test", "--username", "alice", "--email", "alice@a.test", "--password", testPassword)
	b.run(t, "tenant", "create", "--name", "B", "--domain", "b.test")
	b.run(t, "account", "create", "--domain", "b.test", "--username", "bob", "--email", "bob@b.test", "--password", testPassword)
	for _, n := range []*node{a, b} {
		n.start(t, "serve")
		n.start(t, "work")
	}
	waitHTTP(t, "http://"+addrA+"/users/alice", "a.test", 200)
	waitHTTP(t, "http://"+addrB+"/users/bob", "b.test", 200)
	a.run(t, "follow", "--account", "alice@a.test", "--target", "bob@b.test")
	b.run(t, "follow", "--account", "bob@b.test", "--target", "alice@a.test")
	a.eventually(t, "accepted", `select f.state from follows f join accounts r on r.id = f.followee_id where r.uri = 'http://b.test/users/bob'`)
	b.eventually(t, "accepted", `select f.state from follows f join accounts r on r.id = f.followee_id where r.uri = 'http://a.test/users/alice'`)

	// alice's post (from the command line: public, so anyone may quote it)
	// reaches B with its policy.
	uri := strings.TrimSpace(a.run(t, "post", "--account", "alice@a.test", "--text", "quote me across servers"))
	b.eventually(t, "public", `select quote_policy from statuses where uri = $1`, uri)
	onB := b.query(t, `select id from statuses where uri = $1`, uri)

	bob := signIn(t, addrB, "http://b.test", "bob@b.test", "read write")
	q := postStatus(t, bob, url.Values{"status": {"well said"}, "quoted_status_id": {onB}})
	if field(q, "quote", "state") != "pending" || field(q, "quote", "quoted_status") != nil {
		t.Fatalf("a quote of a remote post before its answer: %s", jsonText(q["quote"]))
	}
	qURI := q["uri"].(string)
	b.eventually(t, "accepted", `select state from quotes where status_id = $1`, q["id"])
	stamp := b.query(t, `select stamp_uri from quotes where status_id = $1`, q["id"])
	if !strings.HasPrefix(stamp, "http://a.test/users/alice/quote_authorizations/") {
		t.Fatalf("stamp on B: %s", stamp)
	}
	if _, m, _ := quoteCall(t, bob, "GET", "/api/v1/statuses/"+q["id"].(string), nil); field(m, "quote", "quoted_status", "uri") != uri {
		t.Fatalf("accepted quote on B: %s", jsonText(m["quote"]))
	}
	// A has bob's post with its quote accepted (the Update carried the
	// stamp A issued), and alice heard of it.
	a.eventually(t, "accepted", `select q.state from quotes q join statuses s on s.id = q.status_id where s.uri = $1`, qURI)
	a.eventually(t, "1", `select count(*) from notifications where type = 'quote'`)

	alice := signIn(t, addrA, "http://a.test", "alice@a.test", "read write")
	pid := a.query(t, `select id from statuses where uri = $1`, uri)
	qid := a.query(t, `select id from statuses where uri = $1`, qURI)
	if code, _, _ := quoteCall(t, alice, "POST", "/api/v1/statuses/"+pid+"/quotes/"+qid+"/revoke", nil); code != 200 {
		t.Fatalf("revoke: %d", code)
	}
	waitHTTP(t, "http://"+addrA+strings.TrimPrefix(stamp, "http://a.test"), "a.test", 404)
	b.eventually(t, "revoked", `select state from quotes where status_id = $1`, q["id"])
}
