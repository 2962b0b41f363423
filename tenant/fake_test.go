package tenant

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roost-social/roost/internal/errs"
)

// fakeStore is an in-memory Store that counts its calls. Its answers can
// be changed while a test runs, to tell a cached answer from a fresh one.
type fakeStore struct {
	mu      sync.Mutex
	sites   map[string]*Site // host → answer; absent: errs.NotFound
	err     error            // when set, SiteByHost fails with it
	lookups map[string]int   // SiteByHost calls per host
	created []createCall     // CreateTenant calls, in order
	nextID  int64
}

type createCall struct {
	Name   string
	Domain NewDomain
}

var _ Store = (*fakeStore)(nil)

func newFakeStore() *fakeStore {
	return &fakeStore{sites: map[string]*Site{}, lookups: map[string]int{}}
}

// set makes host resolve to site (nil: unknown host).
func (s *fakeStore) set(host string, site *Site) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if site == nil {
		delete(s.sites, host)
		return
	}
	s.sites[host] = site
}

func (s *fakeStore) setErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

// calls reports how often SiteByHost was asked about host.
func (s *fakeStore) calls(host string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lookups[host]
}

// totalCalls reports how often SiteByHost was called for any host.
func (s *fakeStore) totalCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.lookups {
		n += c
	}
	return n
}

func (s *fakeStore) creates() []createCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]createCall(nil), s.created...)
}

func (s *fakeStore) SiteByHost(_ context.Context, host string) (*Site, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lookups[host]++
	if s.err != nil {
		return nil, s.err
	}
	if site, ok := s.sites[host]; ok {
		return site, nil
	}
	return nil, errs.E(errs.NotFound, "unknown host")
}

func (s *fakeStore) CreateTenant(_ context.Context, name string, d NewDomain) (*Tenant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.created = append(s.created, createCall{Name: name, Domain: d})
	if s.err != nil {
		return nil, s.err
	}
	s.nextID++
	return &Tenant{ID: s.nextID, Name: name, Status: Active, Domains: []Domain{{
		Domain: d.Domain, ServiceDomain: d.ServiceDomain, TenantID: s.nextID,
	}}}, nil
}

func (s *fakeStore) Tenants(context.Context) ([]Tenant, error) { return nil, nil }

// fakeClock is a settable clock for HostCache.now.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// fakeNotifier records HostsChanged calls.
type fakeNotifier struct {
	mu    sync.Mutex
	calls [][]string
	err   error
}

func (n *fakeNotifier) HostsChanged(_ context.Context, hosts ...string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls = append(n.calls, append([]string(nil), hosts...))
	return n.err
}

// waitFor polls cond until it holds, failing the test if it does not
// within a generous deadline. It asserts nothing about time: the deadline
// only turns a hang into a failure.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// goroutinesIn counts the goroutines with fn on their stack; tests use it
// to know that callers are parked inside singleflight.
func goroutinesIn(fn string) int {
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	return strings.Count(string(buf[:n]), fn+"(")
}

// waitForStacks waits until at least n goroutines have fn on their stack.
func waitForStacks(t *testing.T, fn string, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d goroutines in %s", n, fn), func() bool { return goroutinesIn(fn) >= n })
}
