package fetch

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/roost-social/roost/internal/errs"
)

// Only ActivityStreams media types pass for fetched documents: a JSON file
// served as application/json (an upload) or a page must never become an
// actor (SECURITY 8).
func TestGetActivityContentType(t *testing.T) {
	var mu sync.Mutex
	var contentType string
	p := newPeer(t, "127.0.0.1", false, func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		w.Header()["Content-Type"] = []string{contentType}
		mu.Unlock()
		_, _ = w.Write([]byte(note("http://a.test/x")))
	})
	c := newClient(t, Config{}, map[string]*peer{"a.test": p})
	fetch := func(ct string) error {
		mu.Lock()
		contentType = ct
		mu.Unlock()
		_, _, err := c.GetActivity(context.Background(), "http://a.test/x", nil)
		return err
	}
	for _, ct := range []string{
		"application/activity+json",
		"application/activity+json; charset=utf-8",
		"Application/Activity+JSON",
		`application/ld+json; profile="https://www.w3.org/ns/activitystreams"`,
		`application/ld+json; profile="https://www.w3.org/ns/activitystreams"; charset=utf-8`,
		"application/ld+json; profile=https://www.w3.org/ns/activitystreams", // unquoted
		"application/ld+json",
	} {
		if err := fetch(ct); err != nil {
			t.Errorf("%q refused: %v", ct, err)
		}
	}
	for _, ct := range []string{
		"application/json",
		"application/json; charset=utf-8",
		"text/html; charset=utf-8",
		"text/plain",
		"image/png",
		"image/svg+xml",
		"application/jrd+json",
		"application/octet-stream",
		"application/activity+json-evil",
		"",
		"garbage/",
	} {
		if err := fetch(ct); errs.CodeOf(err) != errs.Invalid {
			t.Errorf("%q: got %v, want invalid", ct, err)
		}
	}
}

// A document may only claim an id on the origin that served it.
func TestGetActivityID(t *testing.T) {
	var mu sync.Mutex
	var body string
	p := newPeer(t, "127.0.0.1", false, func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		serveJSON(asType, body)(w, nil)
	})
	c := newClient(t, Config{}, map[string]*peer{"a.test": p, "b.test": p})
	fetch := func(doc string) error {
		mu.Lock()
		body = doc
		mu.Unlock()
		_, _, err := c.GetActivity(context.Background(), "http://a.test/users/alice", nil)
		return err
	}
	for _, doc := range []string{
		note("http://a.test/users/alice"),
		note("http://A.TEST/users/alice"),
		note("http://a.test:80/users/alice"),
		note("http://a.test/other/path"), // the origin speaks for its whole origin
		`{"id":"http://a.test/users/alice","type":"Person"}`,
		` {"id":"http://a.test/users/alice"} ` + "\n",
	} {
		if err := fetch(doc); err != nil {
			t.Errorf("%s refused: %v", doc, err)
		}
	}
	for _, doc := range []string{
		note("http://b.test/users/alice"),      // another host
		note("https://a.test/users/alice"),     // another scheme
		note("http://a.test:8080/users/alice"), // another port
		note("http://a.test.evil/users/alice"),
		note("http://evil@a.test/users/alice"),
		note("/users/alice"), // relative
		note(""),
		`{"type":"Note"}`,                                 // no id
		`{"id":42}`,                                       // not a string
		`{"id":null}`,                                     // not a string
		`{"id":["http://a.test/x"]}`,                      // not a string
		`[{"id":"http://a.test/users/alice"}]`,            // not an object
		`"http://a.test/users/alice"`,                     // not an object
		`null`,                                            // not an object
		``,                                                // empty
		`{"id":"http://a.test/users/alice"`,               // truncated
		`{"id":"http://a.test/users/alice"} {}`,           // trailing data
		`{"id":"http://a.test/users/alice",}`,             // invalid JSON
		`{"id":"http://a.test/x","ID":"http://b.test/x"}`, // encoding/json would take the last
		`{"Id":"http://a.test/users/alice"}`,              // only a case variant
		`{"id":"http://a.test/x","id":"http://a.test/y"}`,
	} {
		if err := fetch(doc); errs.CodeOf(err) != errs.Invalid {
			t.Errorf("%s: got %v, want invalid", doc, err)
		}
	}
}

// Redirects are followed to hosts that pass the same rules, at most
// MaxRedirects times, and the id is checked against where they end.
func TestGetActivityRedirects(t *testing.T) {
	internal := newPeer(t, "127.0.0.1", true, serveJSON(asType, note("https://example.com/x")))
	b := newPeer(t, "127.0.0.3", false, func(w http.ResponseWriter, r *http.Request) {
		claim := r.URL.Query().Get("claim")
		serveJSON(asType, note(claim))(w, r)
	})
	a := newPeer(t, "127.0.0.2", false, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/to-b":
			http.Redirect(w, r, "http://b.test/doc?claim="+r.URL.Query().Get("claim"), http.StatusFound)
		case r.URL.Path == "/to-internal-https":
			http.Redirect(w, r, "https://127.0.0.1:"+internal.port()+"/x", http.StatusMovedPermanently)
		case r.URL.Path == "/to-internal-http":
			http.Redirect(w, r, "http://127.0.0.1:"+internal.port()+"/x", http.StatusTemporaryRedirect)
		case r.URL.Path == "/to-localhost":
			http.Redirect(w, r, "https://localhost:"+internal.port()+"/x", http.StatusPermanentRedirect)
		case r.URL.Path == "/to-file":
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		case r.URL.Path == "/no-location":
			w.WriteHeader(http.StatusFound)
		case strings.HasPrefix(r.URL.Path, "/chain/"):
			var n int
			fmt.Sscanf(r.URL.Path, "/chain/%d", &n)
			if n == 0 {
				serveJSON(asType, note("http://a.test/chain/0"))(w, r)
				return
			}
			http.Redirect(w, r, fmt.Sprintf("/chain/%d", n-1), http.StatusSeeOther)
		}
	})
	c := newClient(t, Config{RootCAs: internal.roots()}, map[string]*peer{"a.test": a, "b.test": b})
	ctx := context.Background()

	// b's document claiming a's id is refused (SECURITY 9); claiming its own
	// id it is accepted, and the final URL is b's.
	_, _, err := c.GetActivity(ctx, "http://a.test/to-b?claim=http://a.test/to-b", nil)
	assertCode(t, err, errs.Invalid)
	_, final, err := c.GetActivity(ctx, "http://a.test/to-b?claim=http://b.test/doc", nil)
	if err != nil || final != "http://b.test/doc?claim=http://b.test/doc" {
		t.Fatalf("redirect to b: %q, %v", final, err)
	}

	// Redirects to internal addresses are refused: in the dialer, or by the
	// plain-http rule, or the scheme rule.
	_, _, err = c.GetActivity(ctx, "http://a.test/to-internal-https", nil)
	assertRefusedInDialer(t, err)
	_, _, err = c.GetActivity(ctx, "http://a.test/to-localhost", nil)
	assertRefusedInDialer(t, err)
	_, _, err = c.GetActivity(ctx, "http://a.test/to-internal-http", nil)
	assertCode(t, err, errs.Forbidden)
	_, _, err = c.GetActivity(ctx, "http://a.test/to-file", nil)
	assertCode(t, err, errs.Invalid)
	assertUntouched(t, internal)
	_, _, err = c.GetActivity(ctx, "http://a.test/no-location", nil)
	assertCode(t, err, errs.Invalid)

	// Three redirects are fine, a fourth is refused without being followed.
	if _, final, err := c.GetActivity(ctx, "http://a.test/chain/3", nil); err != nil || final != "http://a.test/chain/0" {
		t.Fatalf("chain of 3: %q, %v", final, err)
	}
	before := a.requests.Load()
	_, _, err = c.GetActivity(ctx, "http://a.test/chain/4", nil)
	assertCode(t, err, errs.Invalid)
	if n := a.requests.Load() - before; n != 4 {
		t.Fatalf("a chain of 4 made %d requests, want 4 (the fourth redirect not followed)", n)
	}
	one := newClient(t, Config{MaxRedirects: -1}, map[string]*peer{"a.test": a})
	_, _, err = one.GetActivity(ctx, "http://a.test/chain/1", nil)
	assertCode(t, err, errs.Invalid)
}

// Every request names Roost and asks for ActivityStreams; the signer is
// called for each hop with that hop's request, and what it sets arrives.
func TestGetActivityHeadersAndSigner(t *testing.T) {
	type seen struct{ host, ua, accept, sig string }
	var mu sync.Mutex
	var got []seen
	record := func(r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, seen{r.Host, r.UserAgent(), r.Header.Get("Accept"), r.Header.Get("Signature")})
	}
	b := newPeer(t, "127.0.0.3", false, func(w http.ResponseWriter, r *http.Request) {
		record(r)
		serveJSON(asType, note("http://b.test/x"))(w, r)
	})
	a := newPeer(t, "127.0.0.2", false, func(w http.ResponseWriter, r *http.Request) {
		record(r)
		http.Redirect(w, r, "http://b.test/x", http.StatusFound)
	})
	c := newClient(t, Config{}, map[string]*peer{"a.test": a, "b.test": b})
	var calls int
	sign := func(r *http.Request, body []byte) error {
		calls++
		if body != nil {
			t.Errorf("GET signer got a body")
		}
		r.Header.Set("Signature", `keyId="https://roost.test/users/me#main-key",host="`+r.URL.Host+`"`)
		return nil
	}
	if _, _, err := c.GetActivity(context.Background(), "http://a.test/x", sign); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	first := append([]seen(nil), got...)
	mu.Unlock()
	if calls != 2 || len(first) != 2 {
		t.Fatalf("signer called %d times for %d requests, want 2 and 2", calls, len(first))
	}
	for _, s := range first {
		if s.ua != DefaultUserAgent {
			t.Errorf("%s got User-Agent %q", s.host, s.ua)
		}
		if s.accept != ActivityAccept {
			t.Errorf("%s got Accept %q", s.host, s.accept)
		}
		if want := `host="` + s.host + `"`; !strings.Contains(s.sig, want) {
			t.Errorf("%s got Signature %q, want one signed for it", s.host, s.sig)
		}
	}

	// A custom User-Agent is sent instead; a failing signer stops the fetch.
	c = newClient(t, Config{UserAgent: "Roost/test"}, map[string]*peer{"a.test": a, "b.test": b})
	if _, _, err := c.GetActivity(context.Background(), "http://a.test/x", nil); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	last := got[len(got)-1]
	mu.Unlock()
	if ua := last.ua; ua != "Roost/test" {
		t.Errorf("got User-Agent %q, want Roost/test", ua)
	}
	before := a.requests.Load()
	_, _, err := c.GetActivity(context.Background(), "http://a.test/x", func(*http.Request, []byte) error {
		return errs.E(errs.Unauthorized, "no key")
	})
	assertCode(t, err, errs.Unauthorized)
	if a.requests.Load() != before {
		t.Error("an unsigned request was sent after the signer failed")
	}
}

// Upstream statuses map to codes; other failures are Unavailable with the
// status in the message.
func TestGetStatuses(t *testing.T) {
	p := newPeer(t, "127.0.0.1", false, func(w http.ResponseWriter, r *http.Request) {
		var status int
		fmt.Sscanf(r.URL.Path, "/%d", &status)
		w.Header().Set("Content-Type", asType)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(note("http://a.test/x")))
	})
	c := newClient(t, Config{}, map[string]*peer{"a.test": p})
	cases := map[int]errs.Code{
		404: errs.NotFound, 410: errs.Gone, 500: errs.Unavailable, 502: errs.Unavailable,
		401: errs.Unavailable, 403: errs.Unavailable, 418: errs.Unavailable, 429: errs.Unavailable,
		304: errs.Unavailable,
	}
	for status, code := range cases {
		u := fmt.Sprintf("http://a.test/%d", status)
		_, _, err := c.GetActivity(context.Background(), u, nil)
		assertCode(t, err, code)
		if code == errs.Unavailable && !strings.Contains(errs.MessageOf(err), fmt.Sprint(status)) {
			t.Errorf("%d: message %q lacks the status", status, errs.MessageOf(err))
		}
		_, err = c.GetJSON(context.Background(), u, "application/json", []string{"application/activity+json"})
		assertCode(t, err, code)
	}
	if _, _, err := c.GetActivity(context.Background(), "http://a.test/203", nil); err != nil {
		t.Errorf("203: %v", err)
	}
}

// GetJSON checks the types it is given, and no id.
func TestGetJSON(t *testing.T) {
	jrd := `{"subject":"acct:alice@a.test","links":[]}`
	p := newPeer(t, "127.0.0.1", false, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") != "application/jrd+json" || r.UserAgent() != DefaultUserAgent {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		serveJSON(r.URL.Query().Get("type"), jrd)(w, r)
	})
	c := newClient(t, Config{}, map[string]*peer{"a.test": p})
	get := func(typ string, allowed ...string) ([]byte, error) {
		return c.GetJSON(context.Background(), "http://a.test/.well-known/webfinger?type="+typ,
			"application/jrd+json", allowed)
	}
	body, err := get("application/jrd%2Bjson%3B%20charset=utf-8", "application/jrd+json", "application/json")
	if err != nil || string(body) != jrd {
		t.Fatalf("got %q, %v", body, err)
	}
	if _, err := get("application/json", "application/jrd+json", "application/json"); err != nil {
		t.Fatal(err)
	}
	_, err = get("text/html", "application/jrd+json", "application/json")
	assertCode(t, err, errs.Invalid)
	_, err = get("application/json", "application/jrd+json")
	assertCode(t, err, errs.Invalid)
	before := p.requests.Load()
	_, err = get("application/json")
	assertCode(t, err, errs.Internal)
	if p.requests.Load() != before {
		t.Error("GetJSON without allowed types made a request")
	}
}
