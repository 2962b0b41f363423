package certs_test

import (
	"context"
	"testing"
	"time"

	"github.com/roost-social/roost/tenant/certs"
)

// Two nodes sharing one database share one budget of new ACME orders per
// 3 hours (the CA counts per account, and the account is shared): the
// limit holds across both, over a sliding window driven by an injected
// clock, and frees up exactly when the oldest order leaves the window.
func TestIssue20OrderBudgetIsInstanceWide(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	t0 := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	clock := t0
	now := func() time.Time { return clock }
	node1 := certs.NewOrderBudget(certs.NewStorage(w.kv), 3)
	node2 := certs.NewOrderBudget(certs.NewStorage(w.kv), 3)
	node1.Now, node2.Now = now, now
	take := func(b *certs.OrderBudget) bool {
		t.Helper()
		ok, err := b.Take(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !take(node1) || !take(node2) {
		t.Fatal("first orders refused")
	}
	clock = t0.Add(time.Hour)
	if !take(node1) {
		t.Fatal("third order refused")
	}
	if take(node2) || take(node1) {
		t.Fatal("a fourth order in 3 hours was admitted")
	}
	if used, err := node2.Used(ctx); err != nil || used != 3 {
		t.Fatalf("used = %d, %v; want 3", used, err)
	}
	// One second before the first two leave the window: still full.
	clock = t0.Add(certs.OrderWindow - time.Second)
	if take(node2) {
		t.Fatal("admitted before the oldest order left the window")
	}
	// They leave: two more fit, the third order (at t0+1h) still counts.
	clock = t0.Add(certs.OrderWindow)
	if !take(node2) || !take(node1) || take(node1) {
		t.Fatal("the window did not free exactly the two oldest orders")
	}
	// Defaults: LE's 300 per 3 hours with 3x headroom.
	if b := certs.NewOrderBudget(certs.NewStorage(w.kv), 0); b.Limit != certs.DefaultOrderLimit || b.Limit*3 > 300 || b.Window != 3*time.Hour {
		t.Fatalf("default budget %d per %v", b.Limit, b.Window)
	}
}
