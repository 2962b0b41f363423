package certs_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/miekg/dns"
	"github.com/roost-social/roost/internal/rfc2136/zonetest"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/certs"
)

// storedRenewalInfo reads the ARI window kept in a certificate's metadata.
func storedRenewalInfo(t *testing.T, w *world, issuerKey, name string) (start, end, selected time.Time) {
	t.Helper()
	b, err := w.kv.Get(context.Background(), certmagic.StorageKeys.SiteMeta(issuerKey, name))
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		IssuerData struct {
			RenewalInfo *struct {
				SuggestedWindow struct{ Start, End time.Time } `json:"suggestedWindow"`
				SelectedTime    time.Time                      `json:"_selectedTime"`
			} `json:"renewal_info"`
		} `json:"issuer_data"`
	}
	if err := json.Unmarshal(b, &meta); err != nil || meta.IssuerData.RenewalInfo == nil {
		t.Fatalf("no renewal_info in %s's metadata (%v): %s", name, err, b)
	}
	ri := meta.IssuerData.RenewalInfo
	return ri.SuggestedWindow.Start, ri.SuggestedWindow.End, ri.SelectedTime
}

// An own-domain certificate from a real ACME CA with ARI (Pebble): the
// renewal sweep fetches the CA's suggested window, stores it where
// certmagic reads it, and renews by it — not before the window although
// the ratio fallback alone would already renew, and at once when the CA
// moves the window into the past (as after a mass revocation). Each
// renewal is an order inside the instance's order budget, which pauses
// the sweep until the clock moves 3 hours on.
func TestIssue20RenewalFollowsTheCAsRenewalWindow(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	zone := zonetest.Start(t, "test", "k", "c2VjcmV0", dns.HmacSHA256, "127.0.0.1")
	httpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpPort := httpLn.Addr().(*net.TCPAddr).Port
	ca := testenv.StartPebble(t, httpPort, 1, zone.Addr)

	var clock time.Time // zero: the wall clock (the first order)
	now := func() time.Time {
		if clock.IsZero() {
			return time.Now()
		}
		return clock
	}
	m, err := certs.New(certs.Options{Mode: certs.ACME, CA: ca.Dir, CARoots: ca.Trust, HTTP01: true,
		ListenHost: "127.0.0.1", HTTPPort: httpPort, Storage: certs.NewStorage(w.kv),
		Decider: certs.NewDecider(tenant.NewHostCache(w.store, time.Minute, 100)), Log: quiet(),
		RenewalWindowRatio: 0.5, OrderLimit: 1, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	httpSrv := &http.Server{Handler: m.HTTPHandler()}
	go httpSrv.Serve(httpLn)
	t.Cleanup(func() { httpSrv.Close() })
	addr := serveTLS(t, m.TLSConfig())

	first, err := handshake(addr, "a.test", nil)
	if err != nil {
		t.Fatalf("a.test: %v", err)
	}
	if ca.Orders() != 1 {
		t.Fatalf("%d orders, want 1", ca.Orders())
	}
	key := issuerKeyOf(t, w, "a.test")

	// 55% into the lifetime: the fallback (the last half, spread over a
	// sixth more) says renew; the CA's window (Pebble: a third before
	// expiry, give or take a day) says not yet, and wins.
	lifetime := first.NotAfter.Sub(first.NotBefore)
	clock = first.NotBefore.Add(lifetime * 55 / 100)
	n, err := m.RenewDue(ctx)
	if err != nil || n != 0 {
		t.Fatalf("RenewDue before the CA's window = %d, %v; want 0", n, err)
	}
	if s := m.Stats(); s.ARIFetched != 1 || s.ARIFailed != 0 {
		t.Fatalf("ARI fetches: %+v", s)
	}
	start, end, selected := storedRenewalInfo(t, w, key, "a.test")
	ideal := first.NotAfter.Add(-lifetime / 3)
	if start.After(ideal) || end.Before(ideal) || end.Sub(start) > 49*time.Hour || selected.Before(start) || selected.After(end) {
		t.Fatalf("stored window %v..%v (selected %v), want Pebble's around %v", start, end, selected, ideal)
	}
	if ca.Orders() != 1 {
		t.Fatal("the sweep ordered before the CA's window")
	}

	// The CA moves the window into the past: the next sweep (after the
	// CA's Retry-After) fetches it and renews at once.
	ca.SetRenewalInfo(t, first, clock.Add(-2*time.Hour), clock.Add(-time.Hour))
	clock = clock.Add(7 * time.Hour)
	n, err = m.RenewDue(ctx)
	if err != nil || n != 1 {
		t.Fatalf("RenewDue after the CA moved the window = %d, %v; want 1", n, err)
	}
	if ca.Orders() != 2 {
		t.Fatalf("%d orders, want 2", ca.Orders())
	}
	crt, err := w.kv.Get(ctx, certmagic.StorageKeys.SiteCert(key, "a.test"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(crt)
	renewed, _ := x509.ParseCertificate(block.Bytes)
	if renewed.SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Fatal("the stored certificate was not replaced")
	}

	// The CA asks for the new certificate's renewal at once too, but the
	// order budget (1 per 3 hours here) is spent: the sweep pauses
	// without an order, and renews once the clock has moved 3 hours on.
	// (Checked through the sweep, not a handshake: a refused on-demand
	// order is retried by certmagic in the background.)
	ca.SetRenewalInfo(t, renewed, clock.Add(-2*time.Hour), clock.Add(-time.Hour))
	n, err = m.RenewDue(ctx)
	if err != nil || n != 0 {
		t.Fatalf("RenewDue over the order budget = %d, %v; want 0", n, err)
	}
	if s := m.Stats(); s.BudgetLimited != 1 || ca.Orders() != 2 {
		t.Fatalf("over budget: %+v, %d orders", s, ca.Orders())
	}
	clock = clock.Add(certs.OrderWindow)
	if n, err = m.RenewDue(ctx); err != nil || n != 1 || ca.Orders() != 3 {
		t.Fatalf("RenewDue 3 hours later = %d, %v, %d orders; want 1 renewal, 3 orders", n, err, ca.Orders())
	}
}

// issuerKeyOf finds the storage issuer key a name's certificate is under.
func issuerKeyOf(t *testing.T, w *world, name string) string {
	t.Helper()
	entries, err := w.kv.List(context.Background(), "certificates")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		parts := strings.Split(e.Key, "/")
		if len(parts) == 4 && parts[2] == name && strings.HasSuffix(e.Key, ".crt") {
			return parts[1]
		}
	}
	t.Fatalf("no stored certificate for %s", name)
	return ""
}
