package admin

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	ratelimitredis "github.com/roost-social/roost/internal/ratelimit/redis"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
	"github.com/roost-social/roost/tenant/quota"
)

// Issue 20: the operator edits a tenant's quotas on the tenant page
// (CSRF-checked, audited, bad input refused whole); the tenant's own
// admin, on its /admin, cannot raise them; the page shows the quotas with
// their use and warns when the tenant stores more than its quota. The
// quotas are the real service on a private database and Redis.
func TestIssue20QuotasEditedByOperatorOnly(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	rdb, prefix := testenv.Redis(t)
	store := tenantpg.New(db)
	tn, err := store.CreateTenant(ctx, "Q", tenant.NewDomain{Domain: "q.test", Verified: true})
	if err != nil {
		t.Fatal(err)
	}
	q := &quota.Service{Store: store, Counter: ratelimitredis.NewWindows(rdb), Prefix: prefix}
	f := newFake(t)
	f.roles[4] = map[int64]Role{tn.ID: TenantAdmin} // admin1 runs tenant Q
	h := &Handler{Store: f, Host: testHost, URL: httpx.URLConfig{Scheme: "https"}, Quotas: q}
	app := fiber.New()
	h.Register(app)
	app.Use(func(c *fiber.Ctx) error {
		httpx.SetSite(c, &tenant.Site{TenantID: tn.ID, Domain: tenantHost, Status: tenant.Active})
		return c.Next()
	})
	TenantRoutes{h}.Register(app)
	id := strconv.FormatInt(tn.ID, 10)
	quotasNow := func() tenant.Quotas {
		got, err := store.Quotas(ctx, tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	// The operator's login is a real one: the audit entry names it.
	if err := db.QueryRow(ctx, `insert into users (email, password_hash, is_operator) values ('op@mail.test', 'x', true) returning id`).
		Scan(&f.users["op@mail.test"].ID); err != nil {
		t.Fatal(err)
	}
	op := newSession(f, "op@mail.test")
	form := url.Values{"id": {id}, "requests_per_second": {"5"}, "deliveries_per_hour": {"100"}, "storage_gb": {"1.5"}}

	// Without the CSRF pair: refused, nothing stored.
	req := httptest.NewRequest("POST", "/tenant/quotas", strings.NewReader(form.Encode()))
	req.Host = testHost
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", "__Host-roost_admin_session="+op)
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusForbidden || quotasNow() != (tenant.Quotas{}) {
		t.Fatalf("without CSRF: %d, quotas %+v", resp.StatusCode, quotasNow())
	}
	// The operator, with it: stored, audited, and shown.
	resp, _ = do(t, app, "POST", "/tenant/quotas", op, form)
	want := tenant.Quotas{RequestsPerSecond: 5, DeliveriesPerHour: 100, StorageBytes: 1_500_000_000}
	if resp.StatusCode != http.StatusSeeOther || quotasNow() != want {
		t.Fatalf("operator's edit: %d, quotas %+v, want %+v", resp.StatusCode, quotasNow(), want)
	}
	var audited int
	if err := db.QueryRow(ctx, `select count(*) from audit_log where action = 'tenant.quotas' and tenant_id = $1`, tn.ID).Scan(&audited); err != nil || audited != 1 {
		t.Fatalf("audit entries %d %v, want 1", audited, err)
	}
	_, page := do(t, app, "GET", "/tenant?id="+id, op, nil)
	for _, s := range []string{`id="quotas-form"`, `id="quota-rps-limit">5<`, `id="quota-dph-limit">100<`, `value="1.5"`} {
		if !strings.Contains(page, s) {
			t.Fatalf("tenant page lacks %s", s)
		}
	}
	// Bad input: 422, nothing changed.
	for _, bad := range []url.Values{{"requests_per_second": {"-1"}}, {"deliveries_per_hour": {"lots"}}, {"storage_gb": {"-2"}}} {
		bad.Set("id", id)
		if resp, _ := do(t, app, "POST", "/tenant/quotas", op, bad); resp.StatusCode != http.StatusUnprocessableEntity || quotasNow() != want {
			t.Fatalf("%v: %d, quotas %+v", bad, resp.StatusCode, quotasNow())
		}
	}
	// The tenant's own admin on its /admin: no such permission there.
	admin := newSessionOn(f, "admin1@mail.test", tn.ID)
	raise := url.Values{"id": {id}, "requests_per_second": {"0"}, "deliveries_per_hour": {"0"}, "storage_gb": {"0"}}
	if resp, _ := doOn(t, app, tenantHost, "POST", TenantPrefix+"/tenant/quotas", admin, raise); resp.StatusCode != http.StatusForbidden || quotasNow() != want {
		t.Fatalf("tenant admin raising its quotas: %d, quotas %+v", resp.StatusCode, quotasNow())
	}
	// Over its storage quota: the page warns.
	if err := q.Set(ctx, tenant.CommandLine, tn.ID, tenant.Quotas{StorageBytes: 1}); err != nil {
		t.Fatal(err)
	}
	var acct int64
	if err := db.QueryRow(ctx, `insert into accounts (tenant_id, domain, username, private_key_pem) values ($1, 'q.test', 'a', 'k') returning id`, tn.ID).Scan(&acct); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `insert into media_attachments (tenant_id, account_id, type, content_type, file_key, file_size, state)
		values ($1, $2, 'image', 'image/png', 'q/original.png', 10, 'ready')`, tn.ID, acct); err != nil {
		t.Fatal(err)
	}
	if _, page := do(t, app, "GET", "/tenant?id="+id, op, nil); !strings.Contains(page, `id="storage-over"`) {
		t.Fatal("no warning on the tenant page of a tenant over its storage quota")
	}
}
