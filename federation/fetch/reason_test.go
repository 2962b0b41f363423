package fetch

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/roost-social/roost/internal/errs"
)

// leaked matches what Reason must never return: an address, a port, or
// the dialer's and resolver's own words.
var leaked = regexp.MustCompile(`\d+\.\d+\.\d+\.\d+|\[[0-9a-fA-F:]+\]|:\d+|dial|lookup|tcp|udp|Get "|Post "`)

// Issue 14, finding 6 (the class): every kind of outbound failure gives a
// Reason that names only the host asked for, and Permanent tells the
// failures no retry can fix from the ones worth retrying.
func TestIssue14Finding6ReasonNamesNoAddress(t *testing.T) {
	inside := newPeer(t, "127.0.0.1", true, serveJSON(asType, note("https://localhost/n")))
	slow := newPeer(t, "127.0.0.2", true, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	broken := newPeer(t, "127.0.0.2", true, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, "https://localhost:"+inside.port()+"/n", http.StatusFound)
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	c := newClient(t, Config{Timeout: 300 * time.Millisecond, RootCAs: broken.roots()}, map[string]*peer{"slow.example.com": slow, "broken.example.com": broken})
	ctx := context.Background()
	get := func(u string) error { _, _, err := c.GetActivity(ctx, u, nil); return err }
	post := func(u string) error { _, err := c.Post(ctx, u, []byte(`{}`), nil); return err }
	cases := []struct {
		name      string
		err       error
		reason    string
		permanent bool
	}{
		{"loopback name, GET", get("https://localhost:" + inside.port() + "/n"), "the address of localhost is not allowed", true},
		{"loopback name, POST", post("https://localhost:" + inside.port() + "/inbox"), "the address of localhost is not allowed", true},
		{"redirect inside", get("https://broken.example.com/redirect"), "the address of localhost is not allowed", true},
		{"plain http", post("http://example.com/inbox"), "plain http is refused for example.com; use https", true},
		{"credentials", post("https://user:pw@example.com/inbox"), "URLs with credentials are refused", true},
		{"no such host", post("https://nonexistent.invalid/inbox"), "could not reach nonexistent.invalid", false},
		{"timeout", post("https://slow.example.com/inbox"), "slow.example.com timed out", false},
		{"server error", get("https://broken.example.com/n"), "broken.example.com answered status 500", false},
		{"signer failed", func() error {
			_, err := c.Post(ctx, "https://broken.example.com/inbox", nil, func(*http.Request, []byte) error { return errors.New("key 10.0.0.9 gone") })
			return err
		}(), "the request to broken.example.com could not be signed", false},
	}
	for _, tc := range cases {
		got := Reason(tc.err)
		if got != tc.reason || Permanent(tc.err) != tc.permanent {
			t.Errorf("%s: Reason %q permanent %v; want %q, %v (err %v)", tc.name, got, Permanent(tc.err), tc.reason, tc.permanent, tc.err)
		}
		if leaked.MatchString(got) {
			t.Errorf("%s: Reason %q shows an address", tc.name, got)
		}
	}
	if Reason(nil) != "" || Permanent(nil) {
		t.Error("no error has no reason")
	}
}

// Issue 15 (stored reasons): a long reason is cut on a rune boundary, so
// the row recording a failure (delivery, host, NodeInfo, block list) is
// valid UTF-8 and PostgreSQL accepts it.
func TestIssue15ReasonCutOnARuneBoundary(t *testing.T) {
	msg := strings.Repeat("a", 299) + "é and more"
	got := Reason(errs.E(errs.Invalid, "%s", msg))
	if !utf8.ValidString(got) || !strings.HasSuffix(got, "…") || len(got) > 300+len("…") {
		t.Fatalf("Reason = %q (valid UTF-8 %v)", got, utf8.ValidString(got))
	}
}
