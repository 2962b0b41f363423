package postgres

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// newStore returns a Store on a fresh database, and the pool under it for
// checks and set-up done in SQL.
func newStore(t *testing.T) (*Store, *pgxpool.Pool) {
	t.Helper()
	db := testenv.DB(t)
	return New(db), db
}

func create(t *testing.T, s *Store, name, domain, service string) *tenant.Tenant {
	t.Helper()
	tn, err := s.CreateTenant(context.Background(), name, tenant.NewDomain{Domain: domain, ServiceDomain: service, Verified: true})
	if err != nil {
		t.Fatalf("CreateTenant(%q, %q, %q): %v", name, domain, service, err)
	}
	return tn
}

func count(t *testing.T, db *pgxpool.Pool, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), "select count(*) from "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func exec(t *testing.T, db *pgxpool.Pool, sql string, args ...any) {
	t.Helper()
	if _, err := db.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func wantSite(t *testing.T, s *Store, host string, want tenant.Site) {
	t.Helper()
	got, err := s.SiteByHost(context.Background(), host)
	if err != nil {
		t.Fatalf("SiteByHost(%q): %v", host, err)
	}
	if *got != want {
		t.Fatalf("SiteByHost(%q) = %+v, want %+v", host, *got, want)
	}
}

func wantNotFound(t *testing.T, s *Store, host string) {
	t.Helper()
	got, err := s.SiteByHost(context.Background(), host)
	if !errs.Is(err, errs.NotFound) {
		t.Fatalf("SiteByHost(%q) = %+v, %v; want %s", host, got, err, errs.NotFound)
	}
}

func TestCreateTenantAndSiteByHost(t *testing.T) {
	t.Parallel()
	s, db := newStore(t)
	before := time.Now().Add(-time.Minute)

	alice := create(t, s, "Alice", "alice.example", "social.alice.example")
	if alice.ID == 0 || alice.Name != "Alice" || alice.Status != tenant.Active || alice.CreatedAt.Before(before) {
		t.Fatalf("CreateTenant returned %+v", alice)
	}
	if len(alice.Domains) != 1 {
		t.Fatalf("CreateTenant returned %d domains, want 1", len(alice.Domains))
	}
	d := alice.Domains[0]
	if d.Domain != "alice.example" || d.ServiceDomain != "social.alice.example" || d.TenantID != alice.ID ||
		d.VerifiedAt == nil || d.CreatedAt.IsZero() || !strings.HasPrefix(d.VerificationToken, "roost-") {
		t.Fatalf("CreateTenant returned domain %+v", d)
	}

	bob := create(t, s, "Bob", "bob.example", "")
	if bob.ID == alice.ID || bob.Domains[0].VerificationToken == d.VerificationToken {
		t.Fatalf("tenants share an ID or a token: %+v, %+v", alice, bob)
	}

	aliceSite := tenant.Site{TenantID: alice.ID, TenantName: "Alice", Status: tenant.Active, Domain: "alice.example", ServiceDomain: "social.alice.example"}
	wantSite(t, s, "alice.example", aliceSite)
	wantSite(t, s, "social.alice.example", aliceSite)
	wantSite(t, s, "bob.example", tenant.Site{TenantID: bob.ID, TenantName: "Bob", Status: tenant.Active, Domain: "bob.example"})
	for _, h := range []string{"nobody.example", "", "example", "social.bob.example"} {
		wantNotFound(t, s, h)
	}

	// A service domain is stored as NULL when absent, not as ''.
	var nulls int
	if err := db.QueryRow(context.Background(), "select count(*) from domains where service_domain is null").Scan(&nulls); err != nil {
		t.Fatal(err)
	}
	if nulls != 1 {
		t.Fatalf("%d domains with a NULL service domain, want 1", nulls)
	}
}

// TestCreateTenantConflicts: a host already answered by one tenant — as a
// handle or a service domain — cannot be claimed by another, and the
// refused tenant is rolled back with its domain.
func TestCreateTenantConflicts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name            string
		domain, service string
	}{
		{"same handle domain", "alice.example", ""},
		{"same handle domain, new service domain", "alice.example", "fresh.example"},
		{"service domain is another's handle domain", "bob.example", "alice.example"},
		{"handle domain is another's service domain", "social.alice.example", ""},
		{"same service domain", "bob.example", "social.alice.example"},
		{"handle and service domains swapped", "social.alice.example", "alice.example"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, db := newStore(t)
			alice := create(t, s, "Alice", "alice.example", "social.alice.example")

			got, err := s.CreateTenant(context.Background(), "Bob", tenant.NewDomain{Domain: tc.domain, ServiceDomain: tc.service, Verified: true})
			if !errs.Is(err, errs.Conflict) {
				t.Fatalf("CreateTenant(%q, %q) = %+v, %v; want %s", tc.domain, tc.service, got, err, errs.Conflict)
			}
			if got != nil {
				t.Fatalf("CreateTenant returned %+v alongside an error", got)
			}
			if n := count(t, db, "tenants"); n != 1 {
				t.Fatalf("%d tenants after a refused create, want 1 (the transaction must roll back)", n)
			}
			if n := count(t, db, "domains"); n != 1 {
				t.Fatalf("%d domains after a refused create, want 1", n)
			}
			for _, h := range []string{"alice.example", "social.alice.example"} {
				if site, err := s.SiteByHost(context.Background(), h); err != nil || site.TenantID != alice.ID {
					t.Fatalf("SiteByHost(%q) = %+v, %v; want Alice's site", h, site, err)
				}
			}
			// The refused names stay free when they were not Alice's.
			for _, h := range []string{tc.domain, tc.service} {
				if h != "" && h != "alice.example" && h != "social.alice.example" {
					wantNotFound(t, s, h)
				}
			}
		})
	}
}

// TestCreateTenantOtherErrors: a failure other than a taken domain is not
// reported as a conflict, and still rolls back.
func TestCreateTenantOtherErrors(t *testing.T) {
	t.Parallel()
	s, db := newStore(t)
	for _, tc := range []struct {
		name, tenantName, domain string
	}{
		{"name too long for the table", strings.Repeat("x", 201), "a.example"},
		{"domain not normalised", "Alice", "Alice.Example"},
	} {
		_, err := s.CreateTenant(context.Background(), tc.tenantName, tenant.NewDomain{Domain: tc.domain, Verified: true})
		if err == nil || errs.Is(err, errs.Conflict) {
			t.Fatalf("%s: CreateTenant error = %v, want a non-conflict failure", tc.name, err)
		}
	}
	if n := count(t, db, "tenants"); n != 0 {
		t.Fatalf("%d tenants after failed creates, want 0", n)
	}
}

// TestSiteByHostHidesUnservedDomains: only verified domains of tenants
// that are not deleted are resolved; suspended tenants resolve, marked so.
func TestSiteByHostHidesUnservedDomains(t *testing.T) {
	t.Parallel()
	s, db := newStore(t)
	ctx := context.Background()

	// Unverified, through the store.
	pending, err := s.CreateTenant(ctx, "Pending", tenant.NewDomain{Domain: "pending.example", ServiceDomain: "social.pending.example"})
	if err != nil {
		t.Fatal(err)
	}
	if pending.Domains[0].VerifiedAt != nil {
		t.Fatalf("unverified domain returned with VerifiedAt %v", pending.Domains[0].VerifiedAt)
	}
	wantNotFound(t, s, "pending.example")
	wantNotFound(t, s, "social.pending.example")

	// Unverified, inserted directly, next to a verified domain of the same tenant.
	carol := create(t, s, "Carol", "carol.example", "")
	exec(t, db, `insert into domains (domain, tenant_id, service_domain, verification_token, verified_at)
		values ('new.carol.example', $1, 'social.new.carol.example', 'roost-test', null)`, carol.ID)
	wantNotFound(t, s, "new.carol.example")
	wantNotFound(t, s, "social.new.carol.example")
	wantSite(t, s, "carol.example", tenant.Site{TenantID: carol.ID, TenantName: "Carol", Status: tenant.Active, Domain: "carol.example"})

	// Verifying makes it resolve.
	exec(t, db, `update domains set verified_at = now() where domain = 'new.carol.example'`)
	wantSite(t, s, "social.new.carol.example", tenant.Site{TenantID: carol.ID, TenantName: "Carol", Status: tenant.Active,
		Domain: "new.carol.example", ServiceDomain: "social.new.carol.example"})

	// Deleted.
	gone := create(t, s, "Gone", "gone.example", "social.gone.example")
	exec(t, db, `update tenants set status = 'deleted' where id = $1`, gone.ID)
	wantNotFound(t, s, "gone.example")
	wantNotFound(t, s, "social.gone.example")

	// Suspended.
	sus := create(t, s, "Sus", "sus.example", "social.sus.example")
	exec(t, db, `update tenants set status = 'suspended' where id = $1`, sus.ID)
	want := tenant.Site{TenantID: sus.ID, TenantName: "Sus", Status: tenant.Suspended, Domain: "sus.example", ServiceDomain: "social.sus.example"}
	wantSite(t, s, "sus.example", want)
	wantSite(t, s, "social.sus.example", want)
}

func TestTenants(t *testing.T) {
	t.Parallel()
	s, db := newStore(t)
	ctx := context.Background()

	if ts, err := s.Tenants(ctx); err != nil || len(ts) != 0 {
		t.Fatalf("Tenants() on an empty database = %+v, %v", ts, err)
	}

	a := create(t, s, "A", "a.example", "social.a.example")
	b := create(t, s, "B", "b.example", "")
	c := create(t, s, "C", "c.example", "")
	// More domains for B, all created in one statement so created_at ties
	// and the domain name decides the order.
	exec(t, db, `insert into domains (domain, tenant_id, verification_token, verified_at) values
		('z.b.example', $1, 'roost-z', now()), ('m.b.example', $1, 'roost-m', null)`, b.ID)
	exec(t, db, `update tenants set status = 'suspended' where id = $1`, c.ID)

	ts, err := s.Tenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		id      int64
		name    string
		status  tenant.Status
		domains string
	}
	var got []row
	for _, tn := range ts {
		var ds []string
		for _, d := range tn.Domains {
			if d.TenantID != tn.ID || d.VerificationToken == "" || d.CreatedAt.IsZero() {
				t.Errorf("tenant %d: domain %+v is incomplete", tn.ID, d)
			}
			verified := "verified"
			if d.VerifiedAt == nil {
				verified = "unverified"
			}
			ds = append(ds, fmt.Sprintf("%s/%s/%s", d.Domain, d.ServiceDomain, verified))
		}
		if tn.CreatedAt.IsZero() {
			t.Errorf("tenant %d has no creation time", tn.ID)
		}
		got = append(got, row{tn.ID, tn.Name, tn.Status, strings.Join(ds, " ")})
	}
	want := []row{
		{a.ID, "A", tenant.Active, "a.example/social.a.example/verified"},
		{b.ID, "B", tenant.Active, "b.example//verified m.b.example//unverified z.b.example//verified"},
		{c.ID, "C", tenant.Suspended, "c.example//verified"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Tenants() =\n%v\nwant\n%v", got, want)
	}
}

// TestTenantsWithoutDomains: a tenant whose domains were all removed is
// still listed, with none.
func TestTenantsWithoutDomains(t *testing.T) {
	t.Parallel()
	s, db := newStore(t)
	a := create(t, s, "A", "a.example", "")
	exec(t, db, `delete from domains where tenant_id = $1`, a.ID)

	ts, err := s.Tenants(context.Background())
	if err != nil && strings.Contains(err.Error(), "NULL") {
		t.Fatalf("regression: Tenants() fails on a tenant without domains (left join's NULL created_at scanned into time.Time): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 || ts[0].ID != a.ID || len(ts[0].Domains) != 0 {
		t.Fatalf("Tenants() = %+v, want tenant %d with no domains", ts, a.ID)
	}
}

// TestStoreSingleConnection: with every query funnelled through one
// connection, interleaved requests for two tenants each see only their own
// rows, and a rolled-back create leaves the connection usable.
func TestStoreSingleConnection(t *testing.T) {
	t.Parallel()
	cfg, err := pgxpool.ParseConfig(testenv.DatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 1
	db, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	s := New(db)
	// Bounds a hang (a leaked connection would block forever) without
	// asserting anything about time.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	a := create(t, s, "A", "a.example", "social.a.example")
	b := create(t, s, "B", "b.example", "social.b.example")
	if _, err := s.CreateTenant(ctx, "C", tenant.NewDomain{Domain: "a.example", Verified: true}); !errs.Is(err, errs.Conflict) {
		t.Fatalf("conflicting create: %v, want %s", err, errs.Conflict)
	}

	hosts := map[string]int64{"a.example": a.ID, "social.a.example": a.ID, "b.example": b.ID, "social.b.example": b.ID}
	var wg sync.WaitGroup
	errc := make(chan error, 100)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				for h, id := range hosts {
					site, err := s.SiteByHost(ctx, h)
					if err != nil {
						errc <- fmt.Errorf("goroutine %d, round %d: SiteByHost(%q): %w", g, i, h, err)
						return
					}
					if site.TenantID != id || (site.Domain != h && site.ServiceDomain != h) {
						errc <- fmt.Errorf("SiteByHost(%q) = %+v, want tenant %d's row", h, site, id)
						return
					}
				}
				if _, err := s.CreateTenant(ctx, "dup", tenant.NewDomain{Domain: "b.example"}); !errs.Is(err, errs.Conflict) {
					errc <- fmt.Errorf("conflicting create: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if n := count(t, db, "tenants"); n != 2 {
		t.Fatalf("%d tenants, want 2", n)
	}
	if st := db.Stat(); st.TotalConns() > 1 {
		t.Fatalf("pool has %d connections, want at most 1", st.TotalConns())
	}
}

// TestCrossCollisionRace: a handle domain and another tenant's service
// domain with the same name, created by concurrent transactions, must not
// both commit.
func TestCrossCollisionRace(t *testing.T) {
	t.Parallel()
	s, db := newStore(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// Transaction 1 claims x.example as a service domain and stays open.
	tx, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var aID int64
	if err := tx.QueryRow(ctx, `insert into tenants (name) values ('A') returning id`).Scan(&aID); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `insert into domains (domain, tenant_id, service_domain, verification_token, verified_at)
		values ('a.example', $1, 'x.example', 'roost-a', now())`, aID); err != nil {
		t.Fatal(err)
	}

	// Transaction 2, through the store, claims x.example as a handle domain.
	done := make(chan error, 1)
	go func() {
		_, err := s.CreateTenant(ctx, "B", tenant.NewDomain{Domain: "x.example", Verified: true})
		done <- err
	}()
	// Let it either finish or block on transaction 1 (as a fix that
	// serialises claims would make it) before committing transaction 1.
	var bErr error
	gotB := false
wait:
	for {
		select {
		case bErr = <-done:
			gotB = true
			break wait
		default:
		}
		var waiting int
		if err := db.QueryRow(ctx, `select count(*) from pg_stat_activity
			where datname = current_database() and wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break wait
		}
		time.Sleep(time.Millisecond)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if !gotB {
		bErr = <-done
	}

	var claims int
	if err := db.QueryRow(ctx, `select count(*) from domains where domain = 'x.example' or service_domain = 'x.example'`).Scan(&claims); err != nil {
		t.Fatal(err)
	}
	if bErr == nil && claims == 2 {
		t.Fatal("regression: concurrent transactions both claimed x.example")
	}
	if !errs.Is(bErr, errs.Conflict) || claims != 1 {
		t.Fatalf("second claim: %v with %d rows claiming x.example; want %s and 1", bErr, claims, errs.Conflict)
	}
}
