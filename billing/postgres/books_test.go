package postgres

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/billing"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/testenv"
)

func mustExec(t *testing.T, db *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := db.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// addAccount inserts a local account of tenant id on domain.
func addAccount(t *testing.T, db *pgxpool.Pool, id int64, domain, username string, created time.Time) int64 {
	t.Helper()
	var acct int64
	err := db.QueryRow(context.Background(), `insert into accounts (tenant_id, domain, username, private_key_pem, created_at)
		values ($1, $2, $3, 'key', $4) returning id`, id, domain, username, created).Scan(&acct)
	if err != nil {
		t.Fatal(err)
	}
	return acct
}

func TestBillingPlansAndTenantChoice(t *testing.T) {
	t.Parallel()
	db := testenvDB(t)
	s := NewStore(db)
	ctx := context.Background()
	id := newTenant(t, db, "plans.test")
	free, err := s.AddPlan(ctx, billing.Plan{Name: "Free", Kind: billing.Free, Currency: "usd", Domains: "subdomain", MaxAccounts: 1})
	if err != nil {
		t.Fatal(err)
	}
	family, err := s.AddPlan(ctx, billing.Plan{Name: "Family", Kind: billing.Paid, PriceMinor: 800, Currency: "USD",
		MaxAccounts: 5, StorageBytes: 2e9, StripePriceID: "price_fam"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddPlan(ctx, billing.Plan{Name: "Chip in", Kind: billing.Donation, PriceMinor: 500, Currency: "usd"}); err != nil {
		t.Fatal(err)
	}
	if family.Currency != "usd" || family.Price() != "8.00 USD / month" || family.Includes() != "a subdomain or your own domain, up to 5 accounts, 2.0 GB of media" {
		t.Fatalf("family %+v %q %q", family, family.Price(), family.Includes())
	}
	// Bad input: a clear error, nothing stored.
	for _, bad := range []billing.Plan{
		{Name: "", Kind: billing.Free, Currency: "usd"},
		{Name: "Paid for nothing", Kind: billing.Paid, Currency: "usd"},
		{Name: "Free with a price", Kind: billing.Free, PriceMinor: 100, Currency: "usd"},
		{Name: "Odd", Kind: "barter", Currency: "usd"},
		{Name: "Weekly", Kind: billing.Paid, PriceMinor: 100, Currency: "usd", Interval: "week"},
		{Name: "Euro?", Kind: billing.Paid, PriceMinor: 100, Currency: "euro"},
		{Name: "family", Kind: billing.Paid, PriceMinor: 100, Currency: "usd"}, // name taken (any case)
	} {
		if _, err := s.AddPlan(ctx, bad); !errs.Is(err, errs.Invalid) && !errs.Is(err, errs.Conflict) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	plans, err := s.Plans(ctx, false)
	if err != nil || len(plans) != 3 || plans[0].Name != "Free" || plans[1].Name != "Chip in" || plans[2].Name != "Family" {
		t.Fatalf("plans %+v %v", plans, err)
	}
	if p, err := s.TenantPlan(ctx, id); p != nil || err != nil {
		t.Fatalf("no choice yet: %+v %v", p, err)
	}
	if err := s.SetTenantPlan(ctx, id, family.ID); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.TenantPlan(ctx, id); p == nil || p.ID != family.ID {
		t.Fatalf("tenant plan %+v", p)
	}
	// Archived: off the offer, kept by the tenant on it.
	if err := s.ArchivePlan(ctx, family.ID); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.TenantPlan(ctx, id); p == nil || p.ID != family.ID || p.ArchivedAt == nil {
		t.Fatalf("tenant plan after archive %+v", p)
	}
	other := newTenant(t, db, "other.test")
	if err := s.SetTenantPlan(ctx, other, family.ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("archived plan chosen: %v", err)
	}
	if plans, _ := s.Plans(ctx, false); len(plans) != 2 {
		t.Fatalf("on offer after archive: %d", len(plans))
	}
	if err := s.SetTenantPlan(ctx, other, free.ID); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.TenantPlan(ctx, id); p.ID != family.ID {
		t.Fatal("one tenant's choice changed another's")
	}
}

func testenvDay() time.Time { return time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC) }

// Metering counts each tenant's own accounts, posts, media and
// deliveries only, as of the end of the day, and running it again changes
// nothing; going over the plan's limits warns.
func TestBillingUsageMeteringIsPerTenantAndIdempotent(t *testing.T) {
	t.Parallel()
	db := testenvDB(t)
	s := NewStore(db)
	ctx := context.Background()
	day := testenvDay()
	a := newTenant(t, db, "metered-a.test")
	b := newTenant(t, db, "metered-b.test")
	mustExec(t, db, `update tenants set created_at = '2026-01-01'`) // metered days are in the past
	before := day.Add(-48 * time.Hour)
	a1 := addAccount(t, db, a, "metered-a.test", "one", before)
	a2 := addAccount(t, db, a, "metered-a.test", "two", before)
	addAccount(t, db, a, "metered-a.test", "three", before)
	addAccount(t, db, a, "metered-a.test", "later", day.Add(36*time.Hour)) // created after the day
	b1 := addAccount(t, db, b, "metered-b.test", "bee", before)
	post := func(acct, tenant int64, n int, at time.Time) {
		for i := range n {
			mustExec(t, db, `insert into statuses (account_id, tenant_id, uri, visibility, published_at, created_at)
				values ($1, $2, $3, 'public', $4, $4)`, acct, tenant, fmt.Sprintf("https://x.test/%d/%d/%d", acct, i, at.Unix()), at)
		}
	}
	post(a1, a, 3, day.Add(10*time.Hour))
	post(a2, a, 2, day.Add(-60*24*time.Hour)) // long ago: counted as posts, not as activity
	post(b1, b, 7, day.Add(time.Hour))
	mustExec(t, db, `insert into media_attachments (tenant_id, account_id, type, content_type, file_key, file_size, created_at)
		values ($1, $2, 'image', 'image/png', 'k1', 1500000000, $3), ($1, $2, 'image', 'image/png', 'k2', 1000000000, $3)`, a, a1, before)
	mustExec(t, db, `insert into media_attachments (tenant_id, account_id, type, content_type, file_key, file_size, created_at)
		values ($1, $2, 'image', 'image/png', 'k3', 9000000000, $3)`, b, b1, before)
	for i, at := range []time.Time{day.Add(time.Hour), day.Add(20 * time.Hour), day.Add(-time.Hour)} {
		mustExec(t, db, `insert into deliveries (sender_id, activity_id, inbox_url, host, body, state, delivered_at)
			values ($1, $2, 'https://r.test/inbox', 'r.test', '{}', 'delivered', $3)`, a1, fmt.Sprintf("act-%d", i), at)
	}
	mustExec(t, db, `insert into deliveries (sender_id, activity_id, inbox_url, host, body) values ($1, 'pending', 'https://r.test/inbox', 'r.test', '{}')`, a1)

	for range 2 { // idempotent
		if n, err := s.Meter(ctx, day.Add(5*time.Hour)); err != nil || n != 2 {
			t.Fatalf("meter: %d %v", n, err)
		}
	}
	if n := scalar[int](t, db, `select count(*) from usage_daily`); n != 2 {
		t.Fatalf("%d usage rows", n)
	}
	us, err := s.Usage(ctx, a, day, 30)
	if err != nil || len(us) != 1 {
		t.Fatalf("usage %+v %v", us, err)
	}
	u := us[0]
	if u.Accounts != 3 || u.ActiveAccounts != 1 || u.Posts != 5 || u.StorageBytes != 2500000000 || u.Deliveries != 2 || !u.Day.Equal(day) {
		t.Fatalf("tenant a %+v", u)
	}
	ub, _ := s.Usage(ctx, b, day, 30)
	if len(ub) != 1 || ub[0].Accounts != 1 || ub[0].Posts != 7 || ub[0].StorageBytes != 9000000000 || ub[0].Deliveries != 0 {
		t.Fatalf("tenant b %+v", ub)
	}

	// Over the plan's soft limits: warnings, nothing else.
	plan := &billing.Plan{Name: "Solo", MaxAccounts: 2, StorageBytes: 2e9}
	w := billing.Warnings(plan, &u)
	if len(w) != 2 || !contains(w[0], "3 accounts") || !contains(w[1], "2.5 GB") {
		t.Fatalf("warnings %q", w)
	}
	if w := billing.Warnings(&billing.Plan{Name: "Big", MaxAccounts: 10}, &u); len(w) != 0 {
		t.Fatalf("within limits: %q", w)
	}

	latest, err := s.Latest(ctx)
	if err != nil || len(latest) != 2 || latest[0].TenantName == "" {
		t.Fatalf("latest %+v %v", latest, err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// The open books from real rows: costs by category, paid invoices (each
// counted once however often reported), members, cost per member,
// balance and runway.
func TestBillingOpenBooksFigures(t *testing.T) {
	t.Parallel()
	db := testenvDB(t)
	s := NewStore(db)
	ctx := context.Background()
	a := newTenant(t, db, "books-a.test")
	b := newTenant(t, db, "books-b.test")
	mustExec(t, db, `update tenants set created_at = '2026-01-01'`)
	oct := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	nov := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []billing.Cost{
		{Month: oct, Category: "hosting", AmountMinor: 4000, Currency: "usd"},
		{Month: oct, Category: "email", AmountMinor: 1000, Currency: "usd"},
		{Month: nov, Category: "hosting", AmountMinor: 4000, Currency: "usd"},
		{Month: nov, Category: "moderation", AmountMinor: 2000, Currency: "usd", Note: "stipend"},
		{Month: nov, Category: "domains", AmountMinor: 999, Currency: "eur"}, // not in the books' currency
	} {
		if _, err := s.AddCost(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []billing.Cost{
		{Month: nov, Category: "yachts", AmountMinor: 100, Currency: "usd"},
		{Month: nov, Category: "hosting", AmountMinor: 0, Currency: "usd"},
		{Category: "hosting", AmountMinor: 100, Currency: "usd"},
	} {
		if _, err := s.AddCost(ctx, bad); !errs.Is(err, errs.Invalid) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
	// Income: Stripe invoices through events (the same invoice twice,
	// concurrently and under another event id) and a manual payment.
	pay := func(ev, ref string, tenant, amount int64, at time.Time) {
		_, err := s.ApplyEvent(ctx, "stripe", ev, "invoice.paid", &billing.Change{TenantID: tenant, Provider: "stripe",
			State: billing.Active, Now: at, Payment: &billing.Payment{Provider: "stripe", Ref: ref, AmountMinor: amount, Currency: "usd", PaidAt: at}})
		if err != nil {
			t.Error(err)
		}
	}
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() { pay("evt_oct_a", "in_oct_a", a, 800, oct.Add(3*24*time.Hour)) })
	}
	wg.Wait()
	pay("evt_oct_a_again", "in_oct_a", a, 800, oct.Add(3*24*time.Hour))
	pay("evt_nov_a", "in_nov_a", a, 800, nov.Add(3*24*time.Hour))
	manual := &billing.Manual{Store: s, Now: func() time.Time { return nov.Add(5 * 24 * time.Hour) }}
	if _, err := manual.MarkPaid(ctx, b, nov.AddDate(1, 0, 0), &billing.Payment{AmountMinor: 1200, Currency: "usd"}); err != nil {
		t.Fatal(err)
	}
	if _, err := manual.MarkPaid(ctx, b, nov.AddDate(1, 0, 0), &billing.Payment{AmountMinor: -5, Currency: "usd"}); !errs.Is(err, errs.Invalid) {
		t.Fatalf("negative payment: %v", err)
	}
	if n := scalar[int](t, db, `select count(*) from billing_payments`); n != 3 {
		t.Fatalf("%d payments", n)
	}
	// Members: accounts metered at each month's end.
	for _, u := range []string{"x1", "x2", "x3"} {
		addAccount(t, db, a, "books-a.test", u, oct.Add(-time.Hour))
	}
	addAccount(t, db, b, "books-b.test", "y1", oct.Add(-time.Hour))
	if _, err := s.Meter(ctx, oct.AddDate(0, 1, -1)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Meter(ctx, nov.Add(10*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetReserve(ctx, 10000, "usd"); err != nil {
		t.Fatal(err)
	}

	books, err := billing.LoadBooks(ctx, s, "usd", nov.Add(20*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(books.Months) != 12 {
		t.Fatalf("%d months", len(books.Months))
	}
	n, o := books.Months[0], books.Months[1]
	if !n.Month.Equal(nov) || !o.Month.Equal(oct) {
		t.Fatalf("months %v %v", n.Month, o.Month)
	}
	// October: 50.00 costs, 8.00 income, 4 accounts → 12.50 per member.
	if o.TotalCosts != 5000 || o.Income != 800 || o.PayingTenants != 1 || o.Accounts != 4 || o.CostPerMember != 1250 || o.Net != -4200 {
		t.Fatalf("october %+v", o)
	}
	// November: 60.00 costs (EUR left out), 20.00 income from 2 sites.
	if n.TotalCosts != 6000 || n.Income != 2000 || n.PayingTenants != 2 || n.Accounts != 4 || n.CostPerMember != 1500 || n.Net != -4000 {
		t.Fatalf("november %+v", n)
	}
	if len(n.Costs) != 2 || n.Costs[0] != (billing.CategoryCost{Category: "hosting", AmountMinor: 4000}) || n.Costs[1].Category != "moderation" {
		t.Fatalf("november by category %+v", n.Costs)
	}
	// Balance: 100.00 + 28.00 - 110.00 = 18.00; burn (42 + 40) / 2 = 41.00.
	if books.Balance != 1800 || books.AverageBurn != 4100 || o.Balance != 5800 || n.Balance != 1800 {
		t.Fatalf("balance %d burn %d oct %d nov %d", books.Balance, books.AverageBurn, o.Balance, n.Balance)
	}
	if math.Abs(books.Runway-1800.0/4100.0) > 1e-9 || books.OtherCurrencies != 1 {
		t.Fatalf("runway %v other %d", books.Runway, books.OtherCurrencies)
	}
	v := books.View()
	if v.Balance != "18.00 USD" || v.Runway != "0.4 months" || v.Months[1].CostPerMember != "12.50 USD" || len(v.Chart.Bars) != 12 {
		t.Fatalf("view %+v", v)
	}
	// Income covering costs: no runway needed.
	if _, err := manual.MarkPaid(ctx, b, nov.AddDate(1, 0, 0), &billing.Payment{AmountMinor: 100000, Currency: "usd"}); err != nil {
		t.Fatal(err)
	}
	books, _ = billing.LoadBooks(ctx, s, "usd", nov.Add(20*24*time.Hour))
	if !books.Sustainable() || books.View().Runway != "income covers costs" {
		t.Fatalf("sustainable: burn %d runway %v", books.AverageBurn, books.Runway)
	}
	if err := s.DeleteCost(ctx, 999999); !errs.Is(err, errs.NotFound) {
		t.Fatalf("delete missing cost: %v", err)
	}
}

func testenvDB(t *testing.T) *pgxpool.Pool { return testenv.DB(t) }

// reporter is a fake Stripe Billing Meters endpoint (the request shape
// is checked against stripe-mock in billing/stripe).
type reporter struct {
	mu   sync.Mutex
	sent []billing.MeterReport
	fail bool
}

func (r *reporter) ReportUsage(_ context.Context, m billing.MeterReport) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errs.E(errs.Unavailable, "stripe down")
	}
	r.sent = append(r.sent, m)
	return nil
}

// Usage-priced plans: each completed day's figure goes to the meter once,
// only for tenants on such a plan who pay through Stripe; a failed report
// is retried at the next pass.
func TestBillingUsageReportedToMetersOnce(t *testing.T) {
	t.Parallel()
	db := testenvDB(t)
	s := NewStore(db)
	ctx := context.Background()
	metered := newTenant(t, db, "metered.test")
	flat := newTenant(t, db, "flat.test")
	mustExec(t, db, `update tenants set created_at = '2026-01-01'`)
	addAccount(t, db, metered, "metered.test", "m1", time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC))
	addAccount(t, db, metered, "metered.test", "m2", time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC))
	usagePlan, err := s.AddPlan(ctx, billing.Plan{Name: "Per account", Kind: billing.Paid, PriceMinor: 100, Currency: "usd",
		StripePriceID: "price_metered", StripeMeterEvent: "roost_accounts", MeterFigure: "accounts"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddPlan(ctx, billing.Plan{Name: "Bad meter", Kind: billing.Paid, PriceMinor: 100, Currency: "usd", MeterFigure: "vibes"}); !errs.Is(err, errs.Invalid) {
		t.Fatalf("bad figure: %v", err)
	}
	for _, id := range []int64{metered, flat} {
		if err := s.SetTenantPlan(ctx, id, usagePlan.ID); err != nil {
			t.Fatal(err)
		}
	}
	// Only the metered tenant pays through Stripe.
	if _, err := s.ApplyEvent(ctx, "stripe", "evt_m", "checkout.session.completed", &billing.Change{TenantID: metered, Provider: "stripe",
		CustomerID: "cus_m", SubscriptionID: "sub_m", State: billing.Active}); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	rep := &reporter{fail: true}
	m := &billing.Meter{Store: s, Reporter: rep, Now: func() time.Time { return now }}
	if err := m.RunOnce(ctx); err == nil {
		t.Fatal("a failed report went unnoticed")
	}
	rep.fail = false
	for range 2 {
		if err := m.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Yesterday is complete and reported once; today is not yet.
	if len(rep.sent) != 1 {
		t.Fatalf("sent %+v", rep.sent)
	}
	r := rep.sent[0]
	if r.TenantID != metered || r.CustomerID != "cus_m" || r.Event != "roost_accounts" || r.Value != 2 ||
		!r.Day.Equal(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)) || r.Identifier() != fmt.Sprintf("roost-%d-2026-11-26-roost_accounts", metered) {
		t.Fatalf("report %+v", r)
	}
	now = now.Add(24 * time.Hour)
	if err := m.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if len(rep.sent) != 2 || !rep.sent[1].Day.Equal(time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("next day %+v", rep.sent)
	}
}
