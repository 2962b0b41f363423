package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
)

// dashboard is a signed-in visitor of the dashboard at base (the
// operator host, or a tenant's /admin).
type dashboard struct {
	t    *testing.T
	hc   http.Client
	jar  *cookiejar.Jar
	base *url.URL
}

func signInDashboard(t *testing.T, addr, base, email, password string) *dashboard {
	t.Helper()
	d := &dashboard{t: t, hc: hostClient(addr)}
	d.jar, _ = cookiejar.New(nil)
	d.hc.Jar = d.jar
	d.base, _ = url.Parse(base)
	if code, _ := d.get("/login"); code != 200 {
		t.Fatalf("login page %s: %d", base, code)
	}
	if code, body := d.post("/login", url.Values{"email": {email}, "password": {password}}); code != http.StatusSeeOther {
		t.Fatalf("sign in at %s: %d %.500s", base, code, body)
	}
	return d
}

func (d *dashboard) get(path string) (int, string) {
	d.t.Helper()
	resp, err := d.hc.Get(d.base.String() + path)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (d *dashboard) post(path string, form url.Values) (int, string) {
	d.t.Helper()
	for _, c := range d.jar.Cookies(&url.URL{Scheme: "http", Host: d.base.Host, Path: d.base.Path + "/"}) {
		if strings.HasSuffix(c.Name, "roost_admin_csrf") {
			form.Set("csrf", c.Value)
		}
	}
	resp, err := d.hc.PostForm(d.base.String()+path, form)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The operator manages plans and the open books in the dashboard (bad
// input refused with nothing stored) and sees every tenant's usage; a
// tenant admin sees their own usage and over-quota warning on their
// domain's /admin, and neither plans, nor the books, nor another tenant.
func TestBillingDashboardPlansBooksAndTenantUsage(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	n := startNode(t, "billing-admin", addr, "")
	n.env = append(n.env, "ROOST_OPERATOR_HOST="+operatorHost)
	n.run(t, "tenant", "create", "--name", "Operators", "--domain", "ops.test")
	n.run(t, "account", "create", "--domain", "ops.test", "--username", "op", "--email", "op@mail.test", "--password", testPassword)
	n.run(t, "operator", "grant", "--email", "op@mail.test")
	one := strings.TrimSpace(n.run(t, "tenant", "create", "--name", "Tenant One", "--domain", "one.test"))
	n.run(t, "tenant", "create", "--name", "Tenant Two", "--domain", "two.test")
	n.run(t, "account", "create", "--domain", "one.test", "--username", "admin", "--email", "admin@one.test", "--password", testPassword)
	n.run(t, "account", "create", "--domain", "one.test", "--username", "friend", "--email", "friend@one.test", "--password", testPassword)
	n.run(t, "account", "create", "--domain", "two.test", "--username", "zed", "--email", "zed@two.test", "--password", testPassword)
	n.run(t, "tenant", "role", "grant", "--tenant", "one.test", "--email", "admin@one.test", "--role", "admin")
	n.start(t, "serve")
	waitHTTP(t, "http://"+addr+"/healthz", "any.test", 200)

	op := signInDashboard(t, addr, "http://"+operatorHost, "op@mail.test", testPassword)
	if code, body := op.post("/plans", url.Values{"name": {"Nothing"}, "kind": {"paid"}, "price": {""}, "currency": {"usd"}}); code != 422 || !strings.Contains(body, "a paid plan needs a price") {
		t.Fatalf("bad plan: %d", code)
	}
	if got := n.query(t, `select count(*) from plans`); got != "0" {
		t.Fatalf("bad plan stored: %s", got)
	}
	if code, body := op.post("/plans", url.Values{"name": {"Solo"}, "kind": {"paid"}, "price": {"4.50"}, "currency": {"usd"},
		"interval": {"month"}, "domains": {"any"}, "max_accounts": {"1"}, "storage_gb": {"1"}, "stripe_price": {"price_solo"}}); code != http.StatusSeeOther {
		t.Fatalf("add plan: %d %.500s", code, body)
	}
	code, body := op.get("/plans")
	if code != 200 || !strings.Contains(body, "Solo") || !strings.Contains(body, "4.50 USD / month") || !strings.Contains(body, "price_solo") {
		t.Fatalf("plans page: %d %.3000s", code, body)
	}
	planID := n.query(t, `select id from plans where name = 'Solo'`)
	n.query(t, `update tenants set plan_id = $1 where id = $2 returning id`, planID, one)

	month := n.query(t, `select to_char(now() at time zone 'UTC', 'YYYY-MM')`)
	if code, _ := op.post("/books/cost", url.Values{"month": {month}, "category": {"yachts"}, "amount": {"10"}}); code != 422 {
		t.Fatalf("bad cost: %d", code)
	}
	if code, _ := op.post("/books/cost", url.Values{"month": {month}, "category": {"hosting"}, "amount": {"30"}, "note": {"two VMs"}}); code != http.StatusSeeOther {
		t.Fatalf("add cost: %d", code)
	}
	if code, _ := op.post("/books/reserve", url.Values{"reserve": {"90"}}); code != http.StatusSeeOther {
		t.Fatalf("reserve: %d", code)
	}
	if got := n.query(t, `select count(*) || ' ' || sum(amount_minor) from book_costs`); got != "1 3000" {
		t.Fatalf("costs: %s", got)
	}
	code, body = op.get("/books")
	// 90 reserve - 30 costs; burn 30 a month: 2 months.
	if code != 200 || !strings.Contains(body, `id="balance">60.00 USD`) || !strings.Contains(body, `id="runway">2.0 months`) || !strings.Contains(body, "two VMs") {
		t.Fatalf("books page: %d %.4000s", code, body)
	}
	if got := n.query(t, `select count(*) from audit_log where action in ('billing.plan_add', 'books.cost_add', 'books.reserve')`); got != "3" {
		t.Fatalf("audit entries: %s", got)
	}

	n.run(t, "billing", "meter", "--day", n.query(t, `select to_char(now() at time zone 'UTC', 'YYYY-MM-DD')`))
	code, body = op.get("/billing")
	if code != 200 || !strings.Contains(body, "Tenant One") || !strings.Contains(body, "Tenant Two") || !strings.Contains(body, "Your site has 2 accounts; the Solo plan includes 1") {
		t.Fatalf("operator billing page: %d %.4000s", code, body)
	}

	adm := signInDashboard(t, addr, "http://one.test/admin", "admin@one.test", testPassword)
	code, body = adm.get("/billing")
	if code != 200 || !strings.Contains(body, `id="tenant-plan">Solo`) || !strings.Contains(body, "Your site has 2 accounts; the Solo plan includes 1") ||
		strings.Contains(body, "Tenant Two") || strings.Contains(body, "Operators") {
		t.Fatalf("tenant billing page: %d %.4000s", code, body)
	}
	for _, path := range []string{"/plans", "/books"} {
		if code, _ := adm.get(path); code != http.StatusForbidden {
			t.Errorf("tenant admin %s: %d", path, code)
		}
	}
	if code, _ := adm.post("/books/cost", url.Values{"month": {month}, "category": {"hosting"}, "amount": {"1"}}); code != http.StatusForbidden {
		t.Errorf("tenant admin adds a cost: %d", code)
	}
	if code, _ := adm.post("/plans/archive", url.Values{"id": {planID}}); code != http.StatusForbidden {
		t.Errorf("tenant admin archives a plan: %d", code)
	}
	if got := n.query(t, `select count(*) || ' ' || (select count(*) from plans where archived_at is null) from book_costs`); got != "1 1" {
		t.Fatalf("a tenant admin changed the books or plans: %s", got)
	}
	waitHTTP(t, "http://"+addr+"/users/friend", "one.test", 200) // over quota, still served
}
