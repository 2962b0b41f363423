package certs_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/miekg/dns"
	"github.com/roost-social/roost/internal/rfc2136"
	"github.com/roost-social/roost/internal/rfc2136/zonetest"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/certs"
)

// Issue 20: the base domain's wildcard (and the base itself) is renewed
// as every on-demand certificate is, in the CA's ARI window, by the
// renewal sweep on the injected clock — not at two-thirds of its life by
// certmagic's ratio. Pebble issues both by DNS-01 against an in-test
// authoritative server; the CA then puts the wildcard's window late in
// its life for both: at 70 % the sweep fetches and stores that window and
// orders nothing, past the window it renews both, and the node serves the
// new wildcard from memory.
func TestIssue20WildcardRenewsInTheCAsWindow(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	zone := zonetest.Start(t, "test", "k", "c2VjcmV0", dns.HmacSHA256, "127.0.0.1")
	httpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpPort := httpLn.Addr().(*net.TCPAddr).Port
	ca := testenv.StartPebble(t, httpPort, 1, zone.Addr)

	var clock time.Time // zero: the wall clock (the first orders)
	now := func() time.Time {
		if clock.IsZero() {
			return time.Now()
		}
		return clock
	}
	dnsp := &rfc2136.Provider{Server: zone.Addr, KeyName: "k", Secret: "c2VjcmV0", Algorithm: "hmac-sha256"}
	m, err := certs.New(certs.Options{Mode: certs.ACME, CA: ca.Dir, CARoots: ca.Trust, HTTP01: true,
		ListenHost: "127.0.0.1", HTTPPort: httpPort, Storage: certs.NewStorage(w.kv),
		Decider: certs.NewDecider(tenant.NewHostCache(w.store, time.Minute, 100)), Log: quiet(),
		OrderLimit: 50, Now: now,
		Wildcard: &certs.Wildcard{Base: "roost.test", DNS: dnsp, Resolvers: []string{zone.Addr}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	httpSrv := &http.Server{Handler: m.HTTPHandler()}
	go httpSrv.Serve(httpLn)
	t.Cleanup(func() { httpSrv.Close() })

	m.StartWildcard(ctx)
	var first *x509.Certificate
	for deadline := time.Now().Add(2 * time.Minute); first == nil; time.Sleep(100 * time.Millisecond) {
		if first = m.WildcardLeaf(); first == nil && time.Now().After(deadline) {
			t.Fatal("no wildcard certificate after two minutes")
		}
	}
	for ca.Orders() < 2 {
		time.Sleep(100 * time.Millisecond) // the base's own order, started beside the wildcard's
	}
	waitStored(t, w, "roost.test")
	lifetime := first.NotAfter.Sub(first.NotBefore)
	at := func(pct int64) time.Time { return first.NotBefore.Add(time.Duration(int64(lifetime) / 100 * pct)) }
	key := issuerKeyOf(t, w, "wildcard_.roost.test")
	ca.SetRenewalInfo(t, first, at(85), at(86))
	ca.SetRenewalInfo(t, storedLeaf(t, w, key, "roost.test"), at(85), at(86))

	// 70 %: past two-thirds, where the old ratio renewed; the CA says 85 %.
	clock = at(70)
	n, err := m.RenewDue(ctx)
	if err != nil || n != 0 || ca.Orders() != 2 {
		t.Fatalf("RenewDue at 70%% = %d, %v, %d orders; want nothing renewed, 2 orders", n, err, ca.Orders())
	}
	start, end, selected := storedRenewalInfo(t, w, key, "*.roost.test")
	if !start.Equal(at(85)) || !end.Equal(at(86)) || selected.Before(start) || selected.After(end) {
		t.Fatalf("stored wildcard window %v..%v (selected %v), want the CA's %v..%v", start, end, selected, at(85), at(86))
	}

	// Past the window: the wildcard is renewed, and served from memory.
	clock = at(87)
	n, err = m.RenewDue(ctx)
	if err != nil || n != 2 || ca.Orders() != 4 {
		t.Fatalf("RenewDue at 87%% = %d, %v, %d orders; want the wildcard and the base renewed, 4 orders", n, err, ca.Orders())
	}
	if leaf := m.WildcardLeaf(); leaf == nil || leaf.SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Fatal("the node still serves the old wildcard")
	}
}

// waitStored waits until name's certificate is in storage (an order
// finishes after the certificate is cached).
func waitStored(t *testing.T, w *world, name string) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		st, err := certs.NewStorage(w.kv).Statuses(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range st {
			if s.Name == name && !s.NotAfter.IsZero() {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no stored certificate for %s", name)
		}
	}
}

// storedLeaf reads name's stored certificate.
func storedLeaf(t *testing.T, w *world, issuerKey, name string) *x509.Certificate {
	t.Helper()
	b, err := w.kv.Get(context.Background(), certmagic.StorageKeys.SiteCert(issuerKey, name))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}
