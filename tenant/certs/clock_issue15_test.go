package certs_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/certs"
)

// The lookup limits refill by the Decider's clock, not the wall clock: a
// test (or a loaded machine) sees exactly the burst, then exactly the
// rate times the time the clock moved.
func TestIssue15Finding10LookupLimitsFollowTheClock(t *testing.T) {
	w := newWorld(t)
	d := certs.NewDecider(tenant.NewHostCache(w.store, time.Minute, 100000))
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	d.Now = func() time.Time { return now }
	ctx := context.Background()
	flood := func(prefix string) uint64 {
		before := d.Stats().Lookups
		for i := range 50 {
			d.DecideFor(ctx, fmt.Sprintf("%s%d.random.test", prefix, i), client)
		}
		return d.Stats().Lookups - before
	}
	if got := flood("a"); got != certs.DefaultClientLookupBurst {
		t.Fatalf("first flood: %d lookups, want the burst %d", got, certs.DefaultClientLookupBurst)
	}
	if got := flood("b"); got != 0 {
		t.Fatalf("with the clock standing still: %d lookups, want 0", got)
	}
	now = now.Add(time.Second)
	if got := flood("c"); got != certs.DefaultClientLookupRate {
		t.Fatalf("a second later: %d lookups, want the rate %d", got, certs.DefaultClientLookupRate)
	}
}
