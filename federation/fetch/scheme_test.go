package fetch

import (
	"context"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/roost-social/roost/internal/errs"
)

// Issue 16, bug 3: WebFinger and NodeInfo went out with the instance's own
// URL scheme to every host, so a ROOST_FEDERATION_RESOLVE host documented
// as plain HTTP was dialled with TLS. The override now names its scheme
// per host, discovery URLs take it, and a URL of the other scheme is
// refused with a message naming the override before anything is dialled.
func TestIssue16Bug3ResolveSchemePerHost(t *testing.T) {
	got, err := ParseResolve("plain.test=http://127.0.0.2:8080, sam.example.com=HTTPS://127.0.0.3:443,old.test=127.0.0.4:80")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"plain.test": "http://127.0.0.2:8080", "sam.example.com": "https://127.0.0.3:443", "old.test": "127.0.0.4:80"}
	if !maps.Equal(got, want) {
		t.Fatalf("ParseResolve = %v, want %v", got, want)
	}
	for _, bad := range []string{"a.test=ftp://127.0.0.1:21", "a.test=https://", "a.test=https://localhost:443",
		"a.test=https://127.0.0.1", "a.test=://127.0.0.1:80"} {
		if _, err := ParseResolve(bad); errs.CodeOf(err) != errs.Invalid {
			t.Errorf("ParseResolve(%q) = %v, want an invalid error", bad, err)
		}
	}

	var webfingerPath string
	plain := newPeer(t, "127.0.0.2", false, func(w http.ResponseWriter, r *http.Request) {
		webfingerPath = r.URL.Path
		w.Header().Set("Content-Type", "application/jrd+json")
		w.Write([]byte(`{"subject":"acct:pat@plain.test","links":[]}`))
	})
	secure := newPeer(t, "127.0.0.3", true, serveJSON("application/jrd+json", `{"subject":"acct:sam@sam.example.com","links":[]}`))
	c := New(Config{RootCAs: secure.roots(), Resolve: map[string]string{
		"plain.test": "http://" + plain.addr(), "sam.example.com": "https://" + secure.addr(), "old.test": plain.addr()}})
	t.Cleanup(c.CloseIdleConnections)
	for host, want := range map[string]string{
		"plain.test":      "http://plain.test/.well-known/nodeinfo",
		"PLAIN.test":      "http://PLAIN.test/.well-known/nodeinfo",
		"sam.example.com": "https://sam.example.com/.well-known/nodeinfo",
		"old.test":        "http://old.test/.well-known/nodeinfo", // bare ip:port: plain HTTP, as documented
		"other.test":      "https://other.test/.well-known/nodeinfo",
	} {
		if got := c.DiscoveryURL(host, "/.well-known/nodeinfo"); got != want {
			t.Errorf("DiscoveryURL(%s) = %q, want %q", host, got, want)
		}
	}
	ctx := context.Background()
	accept := []string{"application/jrd+json"}
	for _, host := range []string{"plain.test", "sam.example.com", "old.test"} {
		if _, err := c.GetJSON(ctx, c.DiscoveryURL(host, "/.well-known/webfinger?resource=acct:x@"+host), "application/jrd+json", accept); err != nil {
			t.Errorf("WebFinger on %s: %v", host, err)
		}
	}
	if webfingerPath != "/.well-known/webfinger" {
		t.Errorf("the plain-HTTP peer got no WebFinger request (%q)", webfingerPath)
	}
	// The other scheme for a host whose override names one: refused before
	// dialling, with a message that says why.
	before := plain.conns.Load() + secure.conns.Load()
	for _, raw := range []string{"https://plain.test/users/pat", "http://sam.example.com/users/sam"} {
		_, _, err := c.GetActivity(ctx, raw, nil)
		assertCode(t, err, errs.Invalid)
		if !strings.Contains(err.Error(), "ROOST_FEDERATION_RESOLVE") {
			t.Errorf("%s: error %q does not name the override", raw, err)
		}
	}
	if after := plain.conns.Load() + secure.conns.Load(); after != before {
		t.Errorf("%d connections for refused URLs", after-before)
	}
}
