package certs_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/certs"
)

// seedVerified creates n verified domains of active tenants (no
// certificates), set-based, and returns them.
func seedVerified(t testing.TB, w *world, n int, suffix string) []string {
	t.Helper()
	w.exec(t, `insert into tenants (name) select 'cold ' || $2 || i from generate_series(1, $1) i`, n, suffix)
	w.exec(t, `insert into domains (domain, tenant_id, verification_token, verified_at)
		select 'c' || t.id || '.' || $1, t.id, 'tok', now() from tenants t where t.name like 'cold ' || $1 || '%'`, suffix)
	names := make([]string, 0, n)
	rows, err := w.db.Query(context.Background(), `select domain from domains where domain like '%.' || $1`, suffix)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			t.Fatal(err)
		}
		names = append(names, d)
	}
	if len(names) != n {
		t.Fatalf("seeded %d names, want %d", len(names), n)
	}
	return names
}

// Issue 20, 100,000 domains: a node restarted in front of every tenant
// domain is asked for thousands of names it has not cached, from one
// remote server or from many, all in the same instant. With the clock
// standing still, every verified name is allowed (the old per-node rate
// of 100/s, burst 200, refused all but 200; the per-client burst of 30
// refused a remote server delivering to many tenants), while random names
// from one address still cost at most the client's burst of lookups.
func TestIssue20ColdStartAllowsEveryVerifiedName(t *testing.T) {
	w := newWorld(t)
	names := seedVerified(t, w, 3000, "coldstart.test")
	d := certs.NewDecider(tenant.NewHostCache(w.store, time.Hour, 100000))
	frozen := time.Date(2026, 12, 7, 5, 0, 0, 0, time.UTC)
	d.Now = func() time.Time { return frozen }
	ctx := context.Background()
	oneServer := netip.MustParseAddr("203.0.113.7")
	for i, name := range names {
		from := oneServer
		if i%2 == 1 {
			from = netip.AddrFrom4([4]byte{198, 51, byte(i >> 8), byte(i)})
		}
		if err := d.DecideFor(ctx, name, from); err != nil {
			t.Fatalf("name %d (%s) refused: %v", i, name, err)
		}
	}
	if st := d.Stats(); st.Lookups != 3000 || st.RateLimited != 0 {
		t.Fatalf("cold start: %+v", st)
	}
	// The same server then asks random names: it is charged for those.
	for i := range 200 {
		d.DecideFor(ctx, fmt.Sprintf("r%d.scan.test", i), oneServer)
	}
	if st := d.Stats(); st.Lookups != 3000+certs.DefaultClientLookupBurst {
		t.Fatalf("scanner after the cold start: %d lookups, want %d", st.Lookups, 3000+certs.DefaultClientLookupBurst)
	}
	// The scan spent only that address's allowance: the node still looks
	// up every verified name for anyone else.
	more := seedVerified(t, w, 500, "later.test")
	for i, name := range more {
		if err := d.DecideFor(ctx, name, netip.AddrFrom4([4]byte{192, 0, 2, byte(i % 4)})); err != nil {
			t.Fatalf("%s refused after a scan from another address: %v", name, err)
		}
	}
}

// blockingSites holds every Resolve until release is closed.
type blockingSites struct {
	certs.SiteCache
	entered chan struct{}
	release chan struct{}
}

func (b *blockingSites) Resolve(ctx context.Context, host string) (*tenant.Site, error) {
	b.entered <- struct{}{}
	<-b.release
	return b.SiteCache.Resolve(ctx, host)
}

// The node's bound on lookups is a gate, not a rate: Concurrent run,
// Queue more wait for them, and the next is refused at once without a
// query; when the lookups finish, every queued one runs.
func TestIssue20ColdLookupsQueueBehindAGate(t *testing.T) {
	w := newWorld(t)
	names := seedVerified(t, w, 6, "gate.test")
	sites := &blockingSites{SiteCache: tenant.NewHostCache(w.store, time.Hour, 1000), entered: make(chan struct{}, 10), release: make(chan struct{})}
	d := certs.NewDeciderWithLimits(sites, certs.Limits{Concurrent: 2, Queue: 3, Wait: time.Hour, ClientRate: 1, ClientBurst: 100})
	ctx := context.Background()
	results := make(chan error, 5)
	for _, name := range names[:5] {
		go func() { results <- d.DecideFor(ctx, name, netip.Addr{}) }()
	}
	<-sites.entered
	<-sites.entered
	for d.Stats().Waiting != 3 {
		time.Sleep(time.Millisecond) // until the other three queue; nothing is timed
	}
	err := d.DecideFor(ctx, names[5], netip.Addr{})
	if !errs.Is(err, errs.Unavailable) {
		t.Fatalf("with the gate and its queue full: %v, want Unavailable", err)
	}
	if st := d.Stats(); st.Lookups != 2 || st.RateLimited != 1 || st.Queued != 3 {
		t.Fatalf("while full: %+v", st)
	}
	close(sites.release)
	for range 5 {
		if err := <-results; err != nil {
			t.Fatalf("queued lookup: %v", err)
		}
	}
	if st := d.Stats(); st.Lookups != 5 || st.Allowed != 5 || st.Waiting != 0 {
		t.Fatalf("after: %+v", st)
	}
}

// countingKV counts reads of certificate files and how many run at once.
type countingKV struct {
	certs.KV
	gets, inFlight, maxInFlight atomic.Int64
}

func (c *countingKV) Get(ctx context.Context, key string) ([]byte, error) {
	if !strings.HasPrefix(key, "certificates/") {
		return c.KV.Get(ctx, key)
	}
	c.gets.Add(1)
	n := c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	for {
		m := c.maxInFlight.Load()
		if n <= m || c.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(2 * time.Millisecond) // long enough for loads to overlap when nothing gates them
	return c.KV.Get(ctx, key)
}

// A handshake for a stored certificate not in memory is a storage read,
// bounded per node by how many run at once (ColdConcurrent), never
// refused for arriving fast; a scanner's random names cost no storage
// read and no order at all, only their host lookup.
func TestIssue20ColdHandshakesLoadThroughTheGate(t *testing.T) {
	w := newWorld(t)
	names := seedDomains(t, w, 41)[1:] // certificates in storage, none in this node's memory
	kv := &countingKV{KV: w.kv}
	d := certs.NewDecider(tenant.NewHostCache(w.store, time.Hour, 100000))
	frozen := time.Now()
	d.Now = func() time.Time { return frozen }
	m, err := certs.New(certs.Options{Mode: certs.SelfSigned, Storage: certs.NewStorage(kv), Decider: d, Log: quiet(), ColdConcurrent: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	addr := serveTLS(t, m.TLSConfig())
	shake := func(name string) error {
		dl := &net.Dialer{Timeout: 30 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 9)}}
		c, err := tls.DialWithDialer(dl, "tcp", addr, &tls.Config{ServerName: name, InsecureSkipVerify: true})
		if err != nil {
			return err
		}
		return c.Close()
	}
	var wg sync.WaitGroup
	var failed atomic.Int64
	for _, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := shake(name); err != nil {
				t.Logf("%s: %v", name, err)
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	if failed.Load() != 0 || kv.maxInFlight.Load() > 2 {
		t.Fatalf("40 cold handshakes from one address: %d failed, %d certificate reads at once (gate 2)", failed.Load(), kv.maxInFlight.Load())
	}
	if s := m.Stats(); s.Obtaining != 0 || s.RateLimited != 0 {
		t.Fatalf("stored certificates caused orders or refusals: %+v", s)
	}
	reads := kv.gets.Load()
	for i := range 200 {
		if shake(fmt.Sprintf("r%d.scanner.test", i)) == nil {
			t.Fatal("a random name got a certificate")
		}
	}
	if s := m.Stats(); kv.gets.Load() != reads || s.Obtaining != 0 || s.Lookups-40 > certs.DefaultClientLookupBurst {
		t.Fatalf("200 random names: %d certificate reads, %d orders, %d host lookups (burst %d)", kv.gets.Load()-reads, s.Obtaining, s.Lookups-40, certs.DefaultClientLookupBurst)
	}
}
