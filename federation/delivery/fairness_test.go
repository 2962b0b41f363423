package delivery_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/delivery"
	"github.com/roost-social/roost/federation/fetch"
	ratelimitredis "github.com/roost-social/roost/internal/ratelimit/redis"
	"github.com/roost-social/roost/tenant"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
	"github.com/roost-social/roost/tenant/quota"
)

// arrivals records the order in which inboxes were posted to.
type arrivals struct {
	mu    sync.Mutex
	paths []string
}

func (a *arrivals) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.paths = append(a.paths, r.URL.Path)
	a.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

func (a *arrivals) position(path string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, p := range a.paths {
		if p == path {
			return i
		}
	}
	return -1
}

// Tenant A's reply fans out (express) to 2,000 inboxes before tenant B
// posts to one follower (bulk). The worker used to read the delivery
// streams in arrival order, express first, so B's post waited for all of
// A's 2,000; claimed fairly across tenants, it is among the first
// attempts. Order is checked, not time.
func TestIssue20FairnessQuietTenantNotBehindBusyOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newIdleRig(t, http.StatusAccepted)
	tn, err := tenantpg.New(r.db).CreateTenant(ctx, "B", tenant.NewDomain{Domain: "b.example", Verified: true})
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := federation.GenerateKeyPair()
	bob, err := r.store.CreateAccount(ctx, federation.NewAccount{TenantID: tn.ID, Domain: "b.example", Username: "bob",
		Email: "bob@b.example", Password: "x", PasswordHash: "x", Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	got := &arrivals{}
	srv := httptest.NewServer(got)
	t.Cleanup(srv.Close)
	if err := r.queue.Send(ctx, r.sender.ID, "http://a.example/reply/1", []byte(`{}`), inboxes(2000), true); err != nil {
		t.Fatal(err)
	}
	if err := r.queue.Send(ctx, bob.ID, "http://b.example/post/1", []byte(`{}`), []string{"http://recv.test/users/bobs-follower/inbox"}, false); err != nil {
		t.Fatal(err)
	}
	const concurrency = 8
	w := &delivery.Worker{
		Queue: r.queue, Consumer: "fair", SweepEvery: time.Minute, Log: r.queue.Log, Concurrency: concurrency, PerHost: 10000,
		Fetch: fetch.New(fetch.Config{Resolve: map[string]string{"recv.test": srv.Listener.Addr().String()}}),
		KeyID: func(_ context.Context, a *federation.Account) (string, error) {
			return "http://" + a.Domain + "/users/" + a.Username + "#main-key", nil
		},
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = w.Run(wctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	eventually(t, "B's post delivered", func() bool { return got.position("/users/bobs-follower/inbox") >= 0 })
	// Within the first two claims of the pool's size.
	if pos := got.position("/users/bobs-follower/inbox"); pos >= 2*concurrency {
		t.Fatalf("B's post was attempt %d, behind A's fan-out; want within the first %d", pos, 2*concurrency)
	}
}

// Issue 20: deliveries over their tenant's hourly quota are delayed to
// the next hour — pending, unattempted — never dropped. The quota's
// clock is injected (an hour in 2030): the delayed rows are due exactly
// when that hour ends.
func TestIssue20DeliveriesOverQuotaWaitForNextHour(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newIdleRig(t, http.StatusAccepted)
	now := time.Date(2030, 1, 1, 10, 20, 0, 0, time.UTC)
	q := &quota.Service{Store: tenantpg.New(r.db), Counter: ratelimitredis.NewWindows(r.queue.Redis), Prefix: r.queue.Prefix,
		Now: func() time.Time { return now }}
	if err := q.Set(ctx, tenant.CommandLine, r.sender.TenantID, tenant.Quotas{DeliveriesPerHour: 3}); err != nil {
		t.Fatal(err)
	}
	w := &delivery.Worker{
		Queue: r.queue, Consumer: "quota", SweepEvery: 100 * time.Millisecond, Log: r.queue.Log, Quota: q,
		Fetch: fetch.New(fetch.Config{Resolve: map[string]string{"recv.test": r.recvAddr}}),
		KeyID: func(context.Context, *federation.Account) (string, error) { return keyID, nil },
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = w.Run(wctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	if err := r.queue.Send(ctx, r.sender.ID, "http://a.example/p/1", []byte(`{"n":1}`), inboxes(5), false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "3 delivered, 2 waiting for 11:00", func() bool {
		return r.state(t, `select count(*) filter (where state = 'delivered')::text || ' ' ||
			count(*) filter (where state = 'pending' and attempts = 0 and next_attempt_at = '2030-01-01 11:00:00+00')::text
			from deliveries`) == "3 2"
	})
	if n := r.recv.count(); n != 3 {
		t.Fatalf("receiver got %d, want the 3 the quota admits", n)
	}
}
