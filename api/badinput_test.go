package api_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"testing"
)

// Unknown and IP-literal hosts get 404 with a JSON error, never a default
// tenant; malformed queries get 400; nothing is written.
func TestBadInput(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	before := w.rowCounts(t)

	for _, host := range []string{"unknown.example", "127.0.0.1", "127.0.0.1:8080", "[::1]", "[::1]:443", "a.example.evil", "xn--.example", "a_b.example"} {
		wantError(t, w.get(t, host, "/users/alice", "Accept", asAccept), 404)
		wantError(t, w.get(t, host, "/.well-known/webfinger?resource=acct:alice@a.example"), 404)
	}
	// Normalised forms of a tenant's host do route to it.
	for _, host := range []string{"A.EXAMPLE", "a.example.", "a.example:8443"} {
		decode(t, w.get(t, host, "/users/alice", "Accept", asAccept), 200)
	}

	for _, res := range []string{"", "acct:nope", "acct:@a.example", "acct:alice@", "acct:alice@a.example/evil", "alice@a.example@b.example", "https://a.example/users/alice?x=1"} {
		wantError(t, w.get(t, "a.example", "/.well-known/webfinger?resource="+url.QueryEscape(res)), 400)
	}
	for _, res := range []string{"acct:nobody@a.example", "acct:al%ice@a.example", "https://a.example/statuses/1", "acct:alice@unknown.example"} {
		wantError(t, w.get(t, "a.example", "/.well-known/webfinger?resource="+url.QueryEscape(res)), 404)
	}
	for _, path := range []string{"/users/nobody", "/users/al.ice", "/@nobody", "/users/" + string(bytes.Repeat([]byte("a"), 31))} {
		wantError(t, w.get(t, "a.example", path, "Accept", asAccept), 404)
	}
	wantError(t, w.get(t, "a.example", "/no/such/route"), 404)

	// Over real HTTP: fasthttp refuses a body past the limit with 413.
	base := w.listen(t)
	big := bytes.Repeat([]byte("x"), 1<<20+1)
	req, _ := http.NewRequest("POST", base+"/users/alice", bytes.NewReader(big))
	req.Host = "a.example"
	req.Header.Set("Content-Type", "application/activity+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Fatalf("oversized body: status %d, want 413", resp.StatusCode)
	}

	if after := w.rowCounts(t); after != before {
		t.Fatalf("bad requests changed the database: %v → %v", before, after)
	}
}

func (w *world) rowCounts(t *testing.T) [4]int64 {
	t.Helper()
	ctx := context.Background()
	var n [4]int64
	ts, err := w.tenants.Tenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n[0] = int64(len(ts))
	for _, tn := range ts {
		n[1] += int64(len(tn.Domains))
	}
	ua, _ := w.accounts.Usage(ctx, w.tenantA.ID)
	ub, _ := w.accounts.Usage(ctx, w.tenantB.ID)
	n[2], n[3] = ua.Users, ub.Users
	return n
}
