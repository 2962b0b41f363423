package fetch

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/roost-social/roost/internal/errs"
)

// A name or literal that reaches loopback without being in Resolve is
// refused in the dialer: the peer sees no connection at all.
func TestLoopbackRefusedInDialer(t *testing.T) {
	p := newPeer(t, "127.0.0.1", true, serveJSON(asType, note("https://example.com/x")))
	c := newClient(t, Config{RootCAs: p.roots()}, nil)
	ctx := context.Background()
	for _, u := range []string{
		"https://localhost:" + p.port() + "/x", // a name resolving to loopback
		"https://127.0.0.1:" + p.port() + "/x",
		"https://[::ffff:127.0.0.1]:" + p.port() + "/x",
	} {
		_, _, err := c.GetActivity(ctx, u, nil)
		assertRefusedInDialer(t, err)
		if strings.Contains(u, "localhost") && strings.Contains(errs.MessageOf(err), "127.0.0.1") {
			t.Errorf("client message %q reveals the resolved address", errs.MessageOf(err))
		}
		_, err = c.GetJSON(ctx, u, "application/jrd+json", []string{"application/jrd+json"})
		assertRefusedInDialer(t, err)
		_, err = c.Post(ctx, u, []byte(`{}`), nil)
		assertRefusedInDialer(t, err)
	}
	assertUntouched(t, p)

	// The same peer through Resolve is reached: the refusals above were
	// the address rule, not an unreachable server.
	c = newClient(t, Config{RootCAs: p.roots()}, map[string]*peer{"example.com": p})
	if _, _, err := c.GetActivity(ctx, "https://example.com/x", nil); err != nil {
		t.Fatal(err)
	}
	if p.requests.Load() != 1 {
		t.Fatalf("peer saw %d requests, want 1", p.requests.Load())
	}
}

// Plain http is refused before dialling unless the host is in Resolve.
func TestURLRules(t *testing.T) {
	p := newPeer(t, "127.0.0.1", false, serveJSON(asType, note("http://a.test/x")))
	c := newClient(t, Config{}, map[string]*peer{"a.test": p})
	ctx := context.Background()
	cases := map[string]errs.Code{
		"http://localhost:" + p.port() + "/x": errs.Forbidden,
		"http://127.0.0.1:" + p.port() + "/x": errs.Forbidden,
		"http://b.test/x":                     errs.Forbidden,
		"ftp://a.test/x":                      errs.Invalid,
		"file:///etc/passwd":                  errs.Invalid,
		"gopher://a.test/x":                   errs.Invalid,
		"http://user:pass@a.test/x":           errs.Invalid,
		"https://a.test@127.0.0.1/x":          errs.Invalid,
		"https:///x":                          errs.Invalid,
		"https:a.test":                        errs.Invalid,
		"/relative":                           errs.Invalid,
		"https://a.test/%zz":                  errs.Invalid,
		"http://a.test/" + strings.Repeat("a", maxURLLength): errs.Invalid,
	}
	for u, code := range cases {
		_, _, err := c.GetActivity(ctx, u, nil)
		if errs.CodeOf(err) != code {
			t.Errorf("GetActivity(%q) = %v, want %s", u, err, code)
		}
		if _, err := c.Post(ctx, u, []byte(`{}`), nil); errs.CodeOf(err) != code {
			t.Errorf("Post(%q) = %v, want %s", u, err, code)
		}
	}
	assertUntouched(t, p)

	body, final, err := c.GetActivity(ctx, "http://A.test/x#frag", nil)
	if err != nil {
		t.Fatal(err)
	}
	if final != "http://a.test/x" || !strings.Contains(string(body), `"Note"`) {
		t.Fatalf("got %q from %s", body, final)
	}
}

// Resolve sends a host to its mapped address, over plain http or over TLS
// (where the certificate is checked against the host name, and HTTP/2 is
// negotiated).
func TestResolveOverride(t *testing.T) {
	plain := newPeer(t, "127.0.0.2", false, serveJSON(asType, note("http://a.test/users/alice")))
	var proto atomic.Int64
	secure := newPeer(t, "127.0.0.3", true, func(w http.ResponseWriter, r *http.Request) {
		proto.Store(int64(r.ProtoMajor))
		serveJSON(asType, note("https://example.com/users/bob"))(w, r)
	})
	c := newClient(t, Config{RootCAs: secure.roots()}, map[string]*peer{"a.test": plain, "example.com": secure})
	ctx := context.Background()
	if _, final, err := c.GetActivity(ctx, "http://a.test/users/alice", nil); err != nil || final != "http://a.test/users/alice" {
		t.Fatalf("plain: %q, %v", final, err)
	}
	if _, final, err := c.GetActivity(ctx, "https://example.com/users/bob", nil); err != nil || final != "https://example.com/users/bob" {
		t.Fatalf("tls: %q, %v", final, err)
	}
	if proto.Load() != 2 {
		t.Errorf("TLS request used HTTP/%d, want HTTP/2", proto.Load())
	}
	// A name the certificate does not cover fails verification.
	c = newClient(t, Config{RootCAs: secure.roots()}, map[string]*peer{"b.test": secure})
	_, _, err := c.GetActivity(ctx, "https://b.test/users/bob", nil)
	assertCode(t, err, errs.Unavailable)
}
