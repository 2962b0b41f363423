package postgres

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/billing"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func newTenant(t *testing.T, db *pgxpool.Pool, domain string) int64 {
	t.Helper()
	tn, err := tenantpg.New(db).CreateTenant(context.Background(), domain, tenant.NewDomain{Domain: domain, Verified: true})
	if err != nil {
		t.Fatal(err)
	}
	return tn.ID
}

func scalar[T any](t *testing.T, db *pgxpool.Pool, sql string, args ...any) T {
	t.Helper()
	var v T
	if err := db.QueryRow(context.Background(), sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

// suspender is cmd/roost's wiring: the operator dashboard's status change
// with its audit entry.
type suspender struct{ admin *tenantpg.AdminStore }

func (s suspender) Suspend(ctx context.Context, id int64, _ string) error {
	_, err := s.admin.SetTenantStatus(ctx, tenant.BillingActor, id, "active", "suspended", "billing.suspend")
	return err
}

func (s suspender) Unsuspend(ctx context.Context, id int64, _ string) error {
	_, err := s.admin.SetTenantStatus(ctx, tenant.BillingActor, id, "suspended", "active", "billing.unsuspend")
	return err
}

// fetcher is a fake Stripe API returning the subscription's current state.
type fetcher struct {
	mu  sync.Mutex
	sub billing.Subscription
}

func (f *fetcher) Subscription(context.Context, string) (*billing.Subscription, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sub
	return &s, nil
}

func (f *fetcher) status(s string) {
	f.mu.Lock()
	f.sub.Status = s
	f.mu.Unlock()
}

func TestBillingSameEventConcurrentlyAppliedOnce(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	s := NewStore(db)
	id := newTenant(t, db, "dup.test")
	var applied atomic.Int32
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			ok, err := s.ApplyEvent(context.Background(), "stripe", "evt_same", "invoice.paid",
				&billing.Change{TenantID: id, Provider: "stripe", SubscriptionID: "sub_1", State: billing.Active, Now: time.Now()})
			if err != nil {
				t.Error(err)
			}
			if ok {
				applied.Add(1)
			}
		})
	}
	wg.Wait()
	if applied.Load() != 1 {
		t.Fatalf("applied %d times", applied.Load())
	}
	if n := scalar[int](t, db, `select count(*) from billing_events`); n != 1 {
		t.Fatalf("%d events stored", n)
	}
	// A later replay is recorded once and changes nothing.
	exec := func(ev string, st billing.State) bool {
		ok, err := s.ApplyEvent(context.Background(), "stripe", ev, "x", &billing.Change{SubscriptionID: "sub_1", Provider: "stripe", State: st, Now: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if exec("evt_same", billing.Canceled) {
		t.Fatal("replay applied")
	}
	if a, _ := s.Account(context.Background(), id); a.State != billing.Active {
		t.Fatalf("replay changed state to %s", a.State)
	}
	// Found by subscription id when the event names no tenant.
	if !exec("evt_other", billing.PastDue) {
		t.Fatal("new event not applied")
	}
	if a, _ := s.Account(context.Background(), id); a.State != billing.PastDue || a.PastDueSince == nil {
		t.Fatalf("%+v", a)
	}
	// An event for a subscription not ours is recorded, nothing else.
	ok, err := s.ApplyEvent(context.Background(), "stripe", "evt_foreign", "x", &billing.Change{SubscriptionID: "sub_zzz", State: billing.Active, Provider: "stripe"})
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if n := scalar[int](t, db, `select count(*) from tenant_billing`); n != 1 {
		t.Fatalf("%d billing rows", n)
	}
}

// Payment fails, the grace period passes, the tenant is suspended with
// its data kept, it pays and is reactivated: with an injected clock.
func TestBillingGraceSuspensionAndReactivation(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	store := NewStore(db)
	id := newTenant(t, db, "late.test")
	other := newTenant(t, db, "fine.test")
	if _, err := db.Exec(ctx, `insert into accounts (tenant_id, domain, username, private_key_pem) values ($1, 'late.test', 'alice', 'k')`, id); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `insert into statuses (account_id, tenant_id, uri, content, visibility, published_at)
		select a.id, $1, 'https://late.test/s/' || g, 'post ' || g, 'public', now() from accounts a, generate_series(1, 3) g
		where a.tenant_id = $1`, id); err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	f := &fetcher{sub: billing.Subscription{ID: "sub_late", CustomerID: "cus_late", TenantID: id, Status: "active"}}
	svc := &billing.Service{Store: store, Stripe: f, Now: now}
	enf := &billing.Enforcer{Store: store, Tenants: suspender{tenantpg.NewAdminStore(db)}, Grace: 30 * 24 * time.Hour, Now: now}
	n := 0
	event := func(typ string) {
		t.Helper()
		n++
		if _, err := svc.HandleStripe(ctx, billing.Event{ID: "evt_" + string(rune('a'+n)), Type: typ, SubscriptionID: "sub_late"}); err != nil {
			t.Fatal(err)
		}
	}
	pass := func(wantSusp, wantReact int) {
		t.Helper()
		r, err := enf.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if r.Suspended != wantSusp || r.Reactivated != wantReact {
			t.Fatalf("pass at %s: %+v, want %d suspended %d reactivated", clock.Format(time.DateOnly), r, wantSusp, wantReact)
		}
	}
	status := func(tid int64) string { return scalar[string](t, db, `select status from tenants where id = $1`, tid) }
	event("checkout.session.completed")
	pass(0, 0)

	f.status("past_due")
	event("invoice.payment_failed")
	a, _ := store.Account(ctx, id)
	if a.State != billing.PastDue || !a.PastDueSince.Equal(clock) {
		t.Fatalf("%+v", a)
	}
	clock = clock.Add(10 * 24 * time.Hour)
	event("invoice.payment_failed") // Stripe retries the charge: the grace period still counts from the first failure
	clock = clock.Add(19 * 24 * time.Hour)
	pass(0, 0)
	if status(id) != "active" {
		t.Fatal("suspended within the grace period")
	}
	clock = clock.Add(2 * 24 * time.Hour) // day 31
	pass(1, 0)
	if status(id) != "suspended" || status(other) != "active" {
		t.Fatalf("statuses %s / %s", status(id), status(other))
	}
	pass(0, 0) // idempotent
	if n := scalar[int](t, db, `select count(*) from audit_log where action = 'billing.suspend' and tenant_id = $1`, id); n != 1 {
		t.Fatalf("%d suspension audit entries", n)
	}

	f.status("active")
	event("invoice.paid")
	pass(0, 1)
	if status(id) != "active" {
		t.Fatalf("status %s after payment", status(id))
	}
	if n := scalar[int](t, db, `select count(*) from audit_log where action = 'billing.unsuspend' and tenant_id = $1`, id); n != 1 {
		t.Fatalf("%d reactivation audit entries", n)
	}
	if n := scalar[int](t, db, `select count(*) from statuses where tenant_id = $1`, id); n != 3 {
		t.Fatalf("%d posts after suspension and reactivation, want 3", n)
	}
	if n := scalar[int](t, db, `select count(*) from accounts where tenant_id = $1`, id); n != 1 {
		t.Fatalf("%d accounts", n)
	}
	if a, _ := store.Account(ctx, id); a.BillingSuspended || a.PastDueSince != nil {
		t.Fatalf("%+v", a)
	}
}

// An operator's suspension is not billing's to lift, and billing does not
// suspend a tenant an operator already suspended.
func TestBillingLeavesOperatorSuspensionAlone(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	store := NewStore(db)
	id := newTenant(t, db, "mod.test")
	admin := tenantpg.NewAdminStore(db)
	if _, err := admin.SetTenantStatus(ctx, tenant.Actor{Email: "op"}, id, "active", "suspended", "tenant.suspend"); err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := store.ApplyEvent(ctx, "stripe", "e1", "x", &billing.Change{TenantID: id, Provider: "stripe", State: billing.PastDue, Now: clock}); err != nil {
		t.Fatal(err)
	}
	enf := &billing.Enforcer{Store: store, Tenants: suspender{admin}, Grace: time.Hour, Now: func() time.Time { return clock.Add(2 * time.Hour) }}
	if r, err := enf.RunOnce(ctx); err != nil || r.Suspended != 0 {
		t.Fatal(r, err)
	}
	if _, err := store.ApplyEvent(ctx, "stripe", "e2", "x", &billing.Change{TenantID: id, Provider: "stripe", State: billing.Active, Now: clock}); err != nil {
		t.Fatal(err)
	}
	if r, err := enf.RunOnce(ctx); err != nil || r.Reactivated != 0 {
		t.Fatal(r, err)
	}
	if s := scalar[string](t, db, `select status from tenants where id = $1`, id); s != "suspended" {
		t.Fatalf("status %s", s)
	}
	if err := (suspender{admin}).Suspend(ctx, id, ""); !errs.Is(err, errs.Invalid) {
		t.Fatalf("suspending a suspended tenant: %v", err)
	}
}

// A manual payment (roost billing mark-paid) runs out into past due, and
// the grace period counts from the end of the paid time.
func TestBillingManualPaymentExpires(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	store := NewStore(db)
	id := newTenant(t, db, "friend.test")
	until := time.Date(2027, 3, 31, 23, 59, 59, 0, time.UTC)
	if _, err := store.ApplyEvent(ctx, "manual", "m1", "billing.mark-paid", &billing.Change{TenantID: id, Provider: "manual", State: billing.Active, PaidUntil: &until, Now: until.Add(-90 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	clock := until.Add(-time.Hour)
	enf := &billing.Enforcer{Store: store, Tenants: suspender{tenantpg.NewAdminStore(db)}, Grace: 30 * 24 * time.Hour, Now: func() time.Time { return clock }}
	enf.RunOnce(ctx)
	if a, _ := store.Account(ctx, id); a.State != billing.Active {
		t.Fatalf("%+v", a)
	}
	clock = until.Add(time.Hour)
	enf.RunOnce(ctx)
	a, _ := store.Account(ctx, id)
	if a.State != billing.PastDue || !a.PastDueSince.Equal(until) {
		t.Fatalf("%+v", a)
	}
	clock = until.Add(31 * 24 * time.Hour)
	if r, _ := enf.RunOnce(ctx); r.Suspended != 1 {
		t.Fatalf("%+v", r)
	}
	// Comped: free hosting lifts the suspension.
	if _, err := store.ApplyEvent(ctx, "manual", "m2", "billing.comp", &billing.Change{TenantID: id, Provider: "manual", State: billing.Comped, Now: clock}); err != nil {
		t.Fatal(err)
	}
	if r, _ := enf.RunOnce(ctx); r.Reactivated != 1 {
		t.Fatalf("%+v", r)
	}
}
