package quota_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/internal/errs"
	ratelimitredis "github.com/roost-social/roost/internal/ratelimit/redis"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
	"github.com/roost-social/roost/tenant/quota"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// rig is a quota service on a private database and Redis, with its clock
// at *now.
func rig(t *testing.T, now *time.Time) (*quota.Service, *tenant.Tenant, *tenantpg.Store, *pgxpool.Pool) {
	t.Helper()
	db := testenv.DB(t)
	rdb, prefix := testenv.Redis(t)
	store := tenantpg.New(db)
	tn, err := store.CreateTenant(context.Background(), "A", tenant.NewDomain{Domain: "a.example", Verified: true})
	if err != nil {
		t.Fatal(err)
	}
	return &quota.Service{Store: store, Counter: ratelimitredis.NewWindows(rdb), Prefix: prefix,
		Now: func() time.Time { return *now }}, tn, store, db
}

// The limiter counts in fixed windows of the injected clock: the quota's
// requests pass, the next is refused until the window ends (Retry-After
// rounded up to a second), and the next second starts afresh. No wall
// clock is involved.
func TestIssue20QuotaLimiterWithInjectedClock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2030, 5, 6, 7, 8, 9, 250_000_000, time.UTC)
	s, tn, _, _ := rig(t, &now)
	// No quota: nothing is counted or refused.
	for range 10 {
		if err := s.Request(ctx, tn.ID); err != nil {
			t.Fatalf("no quota: %v", err)
		}
	}
	if err := s.Set(ctx, tenant.CommandLine, tn.ID, tenant.Quotas{RequestsPerSecond: 3}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := s.Request(ctx, tn.ID); err != nil {
			t.Fatalf("request %d within the quota: %v", i, err)
		}
	}
	err := s.Request(ctx, tn.ID)
	var ex *quota.Exceeded
	if !errors.As(err, &ex) || errs.CodeOf(err) != errs.TooMany {
		t.Fatalf("fourth request: %v, want a 429 refusal", err)
	}
	if ex.RetryAfter != 750*time.Millisecond || ex.RetryAfterSeconds() != "1" {
		t.Fatalf("retry after %v (%s), want the rest of the second, 1", ex.RetryAfter, ex.RetryAfterSeconds())
	}
	now = now.Add(750 * time.Millisecond) // the next second
	if err := s.Request(ctx, tn.ID); err != nil {
		t.Fatalf("next second: %v", err)
	}
	u, err := s.Usage(ctx, tn.ID)
	if err != nil || u.RequestsThisSecond != 1 || u.RequestsPerSecond != 3 {
		t.Fatalf("usage %+v, %v", u, err)
	}
}

// Deliveries over the hourly quota are admitted up to it; the rest are
// told to wait for the next hour, and are not counted, so the next hour
// admits them.
func TestIssue20QuotaDeliveriesPerHour(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2030, 5, 6, 7, 40, 0, 0, time.UTC)
	s, tn, _, _ := rig(t, &now)
	if err := s.Set(ctx, tenant.CommandLine, tn.ID, tenant.Quotas{DeliveriesPerHour: 5}); err != nil {
		t.Fatal(err)
	}
	if n, until := s.AdmitDeliveries(ctx, tn.ID, 3); n != 3 || !until.IsZero() {
		t.Fatalf("3 of 5: admitted %d until %v", n, until)
	}
	n, until := s.AdmitDeliveries(ctx, tn.ID, 4)
	if want := time.Date(2030, 5, 6, 8, 0, 0, 0, time.UTC); n != 2 || !until.Equal(want) {
		t.Fatalf("4 more: admitted %d until %v, want 2 until %v", n, until, want)
	}
	if u, err := s.Usage(ctx, tn.ID); err != nil || u.DeliveriesThisHour != 5 {
		t.Fatalf("this hour's count %+v %v, want 5 (what waits is not counted)", u, err)
	}
	now = now.Add(20 * time.Minute)
	if n, _ := s.AdmitDeliveries(ctx, tn.ID, 2); n != 2 {
		t.Fatalf("next hour: admitted %d, want 2", n)
	}
}

// An upload past the storage quota is refused with 413 and a message
// naming the quota; what is stored stays, and the dashboard's usage says
// the tenant is over.
func TestIssue20QuotaStorageRefusesUploadsKeepsMedia(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Now()
	s, tn, _, db := rig(t, &now)
	var account int64
	if err := db.QueryRow(ctx, `insert into accounts (tenant_id, domain, username, private_key_pem) values ($1, 'a.example', 'alice', 'k') returning id`,
		tn.ID).Scan(&account); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `insert into media_attachments (tenant_id, account_id, type, content_type, file_key, file_size, state)
		values ($1, $2, 'image', 'image/png', 'k/original.png', 600, 'ready')`, tn.ID, account); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckUpload(ctx, tn.ID, 1<<30); err != nil {
		t.Fatalf("no quota: %v", err)
	}
	if err := s.Set(ctx, tenant.CommandLine, tn.ID, tenant.Quotas{StorageBytes: 1000}); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckUpload(ctx, tn.ID, 400); err != nil {
		t.Fatalf("an upload filling the quota exactly: %v", err)
	}
	err := s.CheckUpload(ctx, tn.ID, 401)
	if errs.CodeOf(err) != errs.TooLarge || !strings.Contains(errs.MessageOf(err), "storage quota") {
		t.Fatalf("an upload past the quota: %v, want 413 naming the quota", err)
	}
	// Lowered below what is stored: warned, and nothing is removed.
	if err := s.Set(ctx, tenant.CommandLine, tn.ID, tenant.Quotas{StorageBytes: 500}); err != nil {
		t.Fatal(err)
	}
	u, err := s.Usage(ctx, tn.ID)
	if err != nil || !u.StorageOver || u.StorageUsed != 600 {
		t.Fatalf("usage %+v %v, want over with 600 bytes stored", u, err)
	}
	var n int
	if err := db.QueryRow(ctx, `select count(*) from media_attachments where tenant_id = $1`, tn.ID).Scan(&n); err != nil || n != 1 {
		t.Fatalf("stored media: %d %v, want it kept", n, err)
	}
}

// Bad quotas are refused whole: nothing is stored.
func TestIssue20QuotaBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Now()
	s, tn, store, _ := rig(t, &now)
	if err := s.Set(ctx, tenant.CommandLine, tn.ID, tenant.Quotas{RequestsPerSecond: 7}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []tenant.Quotas{{RequestsPerSecond: -1}, {DeliveriesPerHour: -5}, {StorageBytes: -1},
		{RequestsPerSecond: tenant.MaxRequestsPerSecond + 1}} {
		if err := s.Set(ctx, tenant.CommandLine, tn.ID, q); errs.CodeOf(err) != errs.Invalid {
			t.Fatalf("%+v: %v, want invalid", q, err)
		}
	}
	if err := s.Set(ctx, tenant.CommandLine, 999999, tenant.Quotas{RequestsPerSecond: 1}); errs.CodeOf(err) != errs.NotFound {
		t.Fatalf("no such tenant: %v", err)
	}
	if q, err := store.Quotas(ctx, tn.ID); err != nil || q != (tenant.Quotas{RequestsPerSecond: 7}) {
		t.Fatalf("after refused changes: %+v %v", q, err)
	}
}
