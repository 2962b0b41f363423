package api_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/roost-social/roost/federation/fetch"
)

// Issue 18, remote interaction: a visitor from another server follows or
// replies from their own account. Both directions run against Roost
// itself, served over loopback HTTP: tenant B (b.example) is the
// visitor's server, tenant A's pages the ones visited.
func TestIssue18RemoteInteractionBothWays(t *testing.T) {
	t.Parallel()
	w := newWebWorld(t)
	st := w.post(t, w.aliceA, map[string]any{"status": "reply to me from anywhere"})
	base := w.listen(t)
	addr := strings.TrimPrefix(base, "http://")
	// A server without the subscribe link (an old or minimal one).
	bare := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "application/jrd+json")
		rw.Write([]byte(`{"subject":"acct:x@bare.example","links":[{"rel":"self","type":"application/activity+json","href":"http://bare.example/x"}]}`))
	}))
	t.Cleanup(bare.Close)
	w.pages.Finger = fetch.New(fetch.Config{Resolve: map[string]string{"b.example": "http://" + addr,
		"bare.example": "http://" + strings.TrimPrefix(bare.URL, "http://")}})

	// The pages carry the form, and their policy lets it lead elsewhere.
	for _, p := range []string{"/@alice/" + st.ID, "/@alice"} {
		code, body, h := w.page(t, "https://a.example"+p)
		wantPage(t, p, code, body, h, `<form class="interact" action="/interact" method="get">`, `name="acct"`)
		if !strings.Contains(h.Get("Content-Security-Policy"), "form-action 'self' https:") {
			t.Errorf("%s policy: %s", p, h.Get("Content-Security-Policy"))
		}
	}
	code, body, _ := w.page(t, "https://a.example/@alice/"+st.ID)
	if code != 200 || !strings.Contains(body, `name="uri" value="`+st.URI+`"`) {
		t.Fatalf("post page form lacks the post's id")
	}

	// Visitor -> their server: b.example's WebFinger names its
	// template; the visitor is sent there with the post's id.
	r := w.get(t, "a.example", "/interact?uri="+url.QueryEscape(st.URI)+"&acct=%40alice%40b.example&intent=reply")
	want := "https://b.example/authorize_interaction?uri=" + url.QueryEscape(st.URI)
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != want {
		t.Fatalf("interact: %d %q, want %q", r.StatusCode, r.Header.Get("Location"), want)
	}

	// Their server (Roost) -> its web app: signed out, sign in first;
	// signed in, the search that resolves the post.
	loc, _ := url.Parse(r.Header.Get("Location"))
	search := "/search?q=" + url.QueryEscape(st.URI) + "&resolve=true"
	r = w.get(t, "b.example", loc.RequestURI())
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/auth/sign_in?return="+url.QueryEscape(search) {
		t.Errorf("authorize_interaction signed out: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	r = w.get(t, "b.example", loc.RequestURI(), "Cookie", "roost_web_session=someone")
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != search {
		t.Errorf("authorize_interaction signed in: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	// A follow: the account's id the same way.
	actor := "https://a.example/users/alice"
	r = w.get(t, "a.example", "/interact?uri="+url.QueryEscape(actor)+"&acct=alice@b.example")
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "https://b.example/authorize_interaction?uri="+url.QueryEscape(actor) {
		t.Errorf("follow: %d %q", r.StatusCode, r.Header.Get("Location"))
	}

	// Refusals: a clear page, no redirect, nothing fetched for bad input.
	for _, c := range []struct {
		query, says string
		status      int
	}{
		{"uri=" + url.QueryEscape(st.URI) + "&acct=x@bare.example", "did not say where", http.StatusBadGateway},
		{"uri=" + url.QueryEscape(st.URI) + "&acct=not-a-handle", "you@your.server", http.StatusBadRequest},
		{"uri=" + url.QueryEscape(st.URI) + "&acct=x@127.0.0.1", "you@your.server", http.StatusBadRequest}, // no address literals
		{"uri=" + url.QueryEscape("https://evil.example/x") + "&acct=alice@b.example", "not a post or an account of this site", http.StatusBadRequest},
	} {
		r := w.get(t, "a.example", "/interact?"+c.query)
		b := readAll(t, r.Body)
		if r.StatusCode != c.status || r.Header.Get("Location") != "" || !strings.Contains(b, c.says) {
			t.Errorf("%s: %d %q, says %q", c.query, r.StatusCode, r.Header.Get("Location"), b)
		}
	}
	for _, bad := range []string{"", "javascript:alert(1)", "not a uri", strings.Repeat("a", 3000)} {
		r := w.get(t, "a.example", "/authorize_interaction?uri="+url.QueryEscape(bad))
		if r.StatusCode != http.StatusBadRequest || r.Header.Get("Location") != "" {
			t.Errorf("authorize_interaction %.20q: %d %q", bad, r.StatusCode, r.Header.Get("Location"))
		}
	}

	// Roost's WebFinger advertises the template, on the handle domain.
	jrd := decode(t, w.get(t, "a.example", "/.well-known/webfinger?resource=acct:alice@a.example"), 200)
	found := false
	for _, l := range jrd["links"].([]any) {
		lm := l.(map[string]any)
		if lm["rel"] == "http://ostatus.org/schema/1.0/subscribe" && lm["template"] == "https://a.example/authorize_interaction?uri={uri}" {
			found = true
		}
	}
	if !found {
		t.Errorf("no subscribe template in %v", jrd)
	}
}
