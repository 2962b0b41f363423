package admin

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/pquerna/otp/totp"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

// fakeStore keeps logins, roles, sessions and second factors in memory
// and records what the handlers asked for.
type fakeStore struct {
	mu       sync.Mutex
	users    map[string]*tenant.DashboardUser
	hashes   map[string]string
	roles    map[int64]map[int64]Role // user id → tenant → role
	sessions map[string]*fakeSession
	totp     map[int64][3]string // secret, pending, last step
	calls    []string
	audit    []string
}

type fakeSession struct {
	user    *tenant.DashboardUser
	tenant  int64
	pending bool
}

const (
	tenant1 = 10
	tenant2 = 20
)

func newFake(t *testing.T) *fakeStore {
	hash, err := tenant.HashPassword("operator password")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeStore{
		users: map[string]*tenant.DashboardUser{
			"op@mail.test":     {ID: 1, Email: "op@mail.test", IsOperator: true},
			"user@mail.test":   {ID: 2, Email: "user@mail.test"},
			"mod1@mail.test":   {ID: 3, Email: "mod1@mail.test"},
			"admin1@mail.test": {ID: 4, Email: "admin1@mail.test"},
			"admin2@mail.test": {ID: 5, Email: "admin2@mail.test"},
		},
		hashes:   map[string]string{},
		roles:    map[int64]map[int64]Role{3: {tenant1: Moderator}, 4: {tenant1: TenantAdmin}, 5: {tenant2: TenantAdmin}},
		sessions: map[string]*fakeSession{},
		totp:     map[int64][3]string{},
	}
	for e := range f.users {
		f.hashes[e] = hash
	}
	return f
}

func (f *fakeStore) call(s string) { f.mu.Lock(); f.calls = append(f.calls, s); f.mu.Unlock() }

// withRole is a copy of u with its role on tenantID, as the store reads it.
func (f *fakeStore) withRole(u *tenant.DashboardUser, tenantID int64) *tenant.DashboardUser {
	c := *u
	c.Role, c.Perms = "", 0
	if r, ok := f.roles[u.ID][tenantID]; ok {
		c.Role, c.Perms = r.Name, uint32(r.Perms)
	}
	c.TOTPEnabled = f.totp[u.ID][0] != ""
	return &c
}

func (f *fakeStore) UserByEmail(_ context.Context, email string, tenantID int64) (*tenant.DashboardUser, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[strings.ToLower(email)]
	if !ok {
		return nil, "", errs.E(errs.NotFound, "no such login")
	}
	return f.withRole(u, tenantID), f.hashes[u.Email], nil
}
func (f *fakeStore) CreateSession(_ context.Context, id, tenantID int64, h []byte, _ time.Time, pending bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, u := range f.users {
		if u.ID == id {
			f.sessions[string(h)] = &fakeSession{user: u, tenant: tenantID, pending: pending}
		}
	}
	return nil
}
func (f *fakeStore) SessionUser(_ context.Context, h []byte, tenantID int64, _ time.Time) (*tenant.DashboardSession, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.sessions[string(h)]; ok && s.tenant == tenantID {
		return &tenant.DashboardSession{User: *f.withRole(s.user, tenantID), Pending: s.pending}, nil
	}
	return nil, errs.E(errs.NotFound, "no such session")
}
func (f *fakeStore) CompleteSession(_ context.Context, h []byte, _ time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sessions[string(h)].pending = false
	return nil
}
func (f *fakeStore) DeleteSession(_ context.Context, h []byte) error {
	f.mu.Lock()
	delete(f.sessions, string(h))
	f.mu.Unlock()
	return nil
}
func (f *fakeStore) Record(_ context.Context, a tenant.Actor, action, target string, _ *int64, _ string) error {
	f.mu.Lock()
	f.audit = append(f.audit, action+" "+a.Email)
	f.mu.Unlock()
	return nil
}
func (f *fakeStore) Stats(_ context.Context, tenantID int64, _ time.Time) (*tenant.Stats, error) {
	f.call(fmt.Sprintf("Stats %d", tenantID))
	days := make([]tenant.DayCount, 30)
	for i := range days {
		days[i] = tenant.DayCount{Day: time.Date(2026, 1, 1+i, 0, 0, 0, 0, time.UTC), N: int64(i % 5)}
	}
	return &tenant.Stats{TenantsByStatus: map[string]int64{"active": 3}, PostsPerDay: days}, nil
}
func (f *fakeStore) Tenants(context.Context, tenant.TenantFilter) ([]tenant.TenantRow, error) {
	f.call("Tenants")
	return nil, nil
}
func (f *fakeStore) Tenant(_ context.Context, id int64) (*tenant.TenantDetail, error) {
	f.call("Tenant")
	return &tenant.TenantDetail{TenantRow: tenant.TenantRow{ID: id, Name: "T", Status: "active"}}, nil
}
func (f *fakeStore) SetTenantStatus(_ context.Context, a tenant.Actor, id int64, from, to, action string) ([]string, error) {
	f.call("SetTenantStatus " + action)
	return []string{"t.test"}, nil
}
func (f *fakeStore) OpenReports(_ context.Context, tenantID int64, _ int) ([]tenant.Report, error) {
	f.call(fmt.Sprintf("OpenReports %d", tenantID))
	return nil, nil
}
func (f *fakeStore) ResolveReports(_ context.Context, _ tenant.Actor, tenantID int64, ids []int64, action string) (*tenant.Resolution, error) {
	f.call(fmt.Sprintf("ResolveReports %d %s", tenantID, action))
	return &tenant.Resolution{Resolved: len(ids)}, nil
}
func (f *fakeStore) AssignReport(_ context.Context, _ tenant.Actor, tenantID, id int64, email string) error {
	f.call(fmt.Sprintf("AssignReport %d", tenantID))
	return nil
}
func (f *fakeStore) ReportForForward(_ context.Context, tenantID, id int64) (*tenant.ForwardTarget, error) {
	f.call(fmt.Sprintf("ReportForForward %d", tenantID))
	return &tenant.ForwardTarget{TenantID: tenantID, Host: "t1.test", AccountURI: "https://remote.test/u/x", Inbox: "https://remote.test/inbox"}, nil
}
func (f *fakeStore) MarkForwarded(context.Context, tenant.Actor, *tenant.ForwardTarget, int64) error {
	f.call("MarkForwarded")
	return nil
}
func (f *fakeStore) Audit(_ context.Context, af tenant.AuditFilter) ([]tenant.AuditEntry, error) {
	f.call(fmt.Sprintf("Audit %d", af.TenantID))
	return nil, nil
}
func (f *fakeStore) Accounts(_ context.Context, af tenant.AccountFilter) ([]tenant.AccountRow, error) {
	f.call(fmt.Sprintf("Accounts %d", af.TenantID))
	return nil, nil
}
func (f *fakeStore) Account(_ context.Context, tenantID, id int64) (*tenant.AccountDetail, error) {
	f.call(fmt.Sprintf("Account %d", tenantID))
	return &tenant.AccountDetail{AccountRow: tenant.AccountRow{Account: tenant.Account{ID: id, Username: "u", Domain: "t1.test", Local: true}}}, nil
}
func (f *fakeStore) ModerateAccount(_ context.Context, _ tenant.Actor, tenantID, id int64, action, _ string) error {
	f.call(fmt.Sprintf("ModerateAccount %d %s", tenantID, action))
	return nil
}
func (f *fakeStore) Roles(_ context.Context, tenantID int64) ([]tenant.RoleGrant, error) {
	f.call(fmt.Sprintf("Roles %d", tenantID))
	return nil, nil
}
func (f *fakeStore) RoleOn(_ context.Context, userID, tenantID int64) (*tenant.RoleGrant, error) {
	f.call("RoleOn")
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.roles[userID][tenantID]; ok {
		return &tenant.RoleGrant{UserID: userID, TenantID: tenantID, Role: r.Name, Perms: uint32(r.Perms)}, nil
	}
	return nil, errs.E(errs.NotFound, "no such role")
}
func (f *fakeStore) GrantRole(_ context.Context, _ tenant.Actor, email string, tenantID int64, role string, perms uint32) (*tenant.RoleGrant, error) {
	f.call(fmt.Sprintf("GrantRole %s %d %s", email, tenantID, role))
	return &tenant.RoleGrant{}, nil
}
func (f *fakeStore) RevokeRole(_ context.Context, _ tenant.Actor, userID, tenantID int64) error {
	f.call(fmt.Sprintf("RevokeRole %d %d", userID, tenantID))
	return nil
}
func (f *fakeStore) Login(_ context.Context, tenantID, id, _ int64) (*tenant.Login, error) {
	f.call(fmt.Sprintf("Login %d", tenantID))
	return &tenant.Login{ID: id, Email: "x@mail.test"}, nil
}
func (f *fakeStore) ResetPassword(_ context.Context, _ tenant.Actor, tenantID, _ int64, _ string) error {
	f.call(fmt.Sprintf("ResetPassword %d", tenantID))
	return nil
}
func (f *fakeStore) DisableTOTP(_ context.Context, _ tenant.Actor, tenantID, id int64) error {
	f.call(fmt.Sprintf("DisableTOTP %d", tenantID))
	f.mu.Lock()
	delete(f.totp, id)
	f.mu.Unlock()
	return nil
}
func (f *fakeStore) TOTP(_ context.Context, id int64) (string, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.totp[id][0], f.totp[id][1], nil
}
func (f *fakeStore) SetPendingTOTP(_ context.Context, id int64, secret string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := f.totp[id]
	t[1] = secret
	f.totp[id] = t
	return nil
}
func (f *fakeStore) UseTOTPStep(_ context.Context, _ tenant.Actor, id, step int64, confirm bool) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := f.totp[id]
	last, _ := strconv.ParseInt(t[2], 10, 64)
	if step <= last || (confirm && t[1] == "") {
		return false, nil
	}
	t[2] = strconv.FormatInt(step, 10)
	if confirm {
		t[0], t[1] = t[1], ""
	}
	f.totp[id] = t
	return true, nil
}

type fakeNotify struct{ hosts []string }

func (n *fakeNotify) HostsChanged(_ context.Context, hosts ...string) error {
	n.hosts = append(n.hosts, hosts...)
	return nil
}

const (
	testHost   = "admin.roost.test"
	tenantHost = "t1.test"
)

// testApp is the dashboard on the operator host and, behind a stand-in
// for host routing (t1.test is tenant 1, t2.test tenant 2), under /admin
// on the tenant hosts.
func testApp(f *fakeStore, n tenant.Notifier) *fiber.App {
	h := &Handler{Store: f, Tenants: &tenant.Service{Statuses: f, Notify: n}, Host: testHost, URL: httpx.URLConfig{Scheme: "https"}, Forward: fakeForward{}}
	app := fiber.New()
	app.Use(recover.New()) // other areas' handlers may lack their stores here
	h.Register(app)
	app.Use(func(c *fiber.Ctx) error {
		switch c.Hostname() {
		case tenantHost:
			httpx.SetSite(c, &tenant.Site{TenantID: tenant1, Domain: tenantHost, Status: tenant.Active})
		case "t2.test":
			httpx.SetSite(c, &tenant.Site{TenantID: tenant2, Domain: "t2.test", Status: tenant.Active})
		}
		return c.Next()
	})
	TenantRoutes{h}.Register(app)
	app.Use(func(c *fiber.Ctx) error { return c.SendString("tenant routes") })
	return app
}

// fakeForward records the Flags it was asked to send.
type fakeForward struct{ sent *[]string }

func (f fakeForward) ForwardReport(_ context.Context, host string, target *federation.Account, _ []string, _ string) error {
	if f.sent != nil {
		*f.sent = append(*f.sent, host+" "+target.Remote.Inbox)
	}
	return nil
}

const csrf = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" // 32 zero bytes, base64url

// do sends a request to the operator dashboard with a valid CSRF pair
// and, when token is set, a session cookie.
func do(t *testing.T, app *fiber.App, method, path, token string, form url.Values) (*http.Response, string) {
	t.Helper()
	return doOn(t, app, testHost, method, path, token, form)
}

// doOn is do on host: a tenant host's paths are under /admin and its
// cookies are __Secure- ones.
func doOn(t *testing.T, app *fiber.App, host, method, path, token string, form url.Values) (*http.Response, string) {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", csrf)
	var body io.Reader
	if method == "POST" {
		body = strings.NewReader(form.Encode())
	}
	prefix := "__Host-"
	if host != testHost {
		prefix = "__Secure-"
	}
	req := httptest.NewRequest(method, path, body)
	req.Host = host
	if method == "POST" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	cookie := prefix + "roost_admin_csrf=" + csrf
	if token != "" {
		cookie += "; " + prefix + "roost_admin_session=" + token
	}
	req.Header.Set("Cookie", cookie)
	resp, err := app.Test(req, 10000)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// newSessionOn is a signed-in session of email made for tenantID (0: the
// operator host).
func newSessionOn(f *fakeStore, email string, tenantID int64) string {
	tok := newToken()
	f.CreateSession(context.Background(), f.users[email].ID, tenantID, hashToken(tok), time.Now(), false)
	return tok
}

func newSession(f *fakeStore, email string) string { return newSessionOn(f, email, 0) }

// The route table tried with every role on both kinds of host, generated
// from the table itself (every area's routes, whatever they hold when it
// runs) and the permission table, not listed by hand: signed out, a GET
// goes to the sign-in and a POST is refused with 401; a login whose role
// there lacks the route's permission gets 403 and never reaches the store;
// one that has it gets past the gate. On a tenant's /admin the roles are
// that tenant's: T2's admin has nothing on T1's host, a session made on
// T2 is no session on T1, and nobody has the instance-wide permissions.
func TestAdminEveryRouteEveryRoleEveryHost(t *testing.T) {
	f := newFake(t)
	app := testApp(f, &fakeNotify{})
	logins := []string{"user@mail.test", "mod1@mail.test", "admin1@mail.test", "admin2@mail.test", "op@mail.test"}
	hosts := []struct {
		host, prefix string
		tenant       int64
	}{{testHost, "", 0}, {tenantHost, TenantPrefix, tenant1}}
	checked, allowed, denied := 0, 0, 0
	for _, hs := range hosts {
		for _, rt := range routes {
			if rt.Perm == 0 {
				continue
			}
			form := url.Values{"id": {"7"}, "user": {"3"}, "email": {"mod1@mail.test"}, "role": {"moderator"}, "action": {"silence"}}
			path := hs.prefix + rt.Path
			if rt.Method == "GET" {
				path += "?id=7"
			}
			where := fmt.Sprintf("%s %s on %s", rt.Method, rt.Path, hs.host)
			f.calls = nil
			resp, _ := doOn(t, app, hs.host, rt.Method, path, "", form)
			switch {
			case rt.Method == "GET" && (resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != hs.prefix+"/login"):
				t.Errorf("%s signed out: %d %s", where, resp.StatusCode, resp.Header.Get("Location"))
			case rt.Method != "GET" && resp.StatusCode != http.StatusUnauthorized:
				t.Errorf("%s signed out: %d", where, resp.StatusCode)
			}
			// A made-up session is no session; nor is T2's session on T1.
			other := newSessionOn(f, "admin2@mail.test", tenant2)
			for _, tok := range []string{newToken(), other} {
				if resp, _ := doOn(t, app, hs.host, rt.Method, path, tok, form); resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s with a session from elsewhere: %d", where, resp.StatusCode)
				}
			}
			if len(f.calls) != 0 {
				t.Fatalf("%s reached the store signed out: %v", where, f.calls)
			}
			for _, email := range logins {
				role := RoleOf(f.withRole(f.users[email], hs.tenant), hs.tenant)
				want := role.Has(rt.Perm) && !(hs.tenant != 0 && instanceOnly[rt.Method+" "+rt.Path])
				if hs.tenant != 0 && role.Perms&InstancePerms != 0 {
					t.Fatalf("%s has instance permissions on a tenant host", email)
				}
				f.calls = nil
				resp, body := doOn(t, app, hs.host, rt.Method, path, newSessionOn(f, email, hs.tenant), form)
				got := resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusUnauthorized &&
					!(resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") == hs.prefix+"/login")
				checked++
				if want {
					allowed++
				} else {
					denied++
				}
				if got != want {
					t.Errorf("%s as %s (%s): status %d, want allowed=%v\n%.300s", where, email, role.Name, resp.StatusCode, want, body)
				}
				if !want && len(f.calls) != 0 {
					t.Errorf("%s as %s reached the store: %v", where, email, f.calls)
				}
				// Every store call a tenant session makes names its tenant.
				for _, call := range f.calls {
					if hs.tenant != 0 && strings.HasSuffix(call, " 0") {
						t.Errorf("%s as %s: instance-wide store call %q", where, email, call)
					}
				}
			}
		}
	}
	if allowed == 0 || denied == 0 || checked < 2*5*20 {
		t.Fatalf("checked %d (allowed %d, denied %d)", checked, allowed, denied)
	}
}

// Nobody can grant more than they hold, nor on another tenant, and a
// moderator cannot change roles at all: CanGrant over every granter, role
// and target, then the same through the roles form.
func TestAdminNobodyGrantsMoreThanTheyHold(t *testing.T) {
	granters := []struct {
		role  Role
		scope int64
	}{
		{Operator, 0}, {RoleOf(&tenant.DashboardUser{IsOperator: true}, tenant1), tenant1}, {TenantAdmin, tenant1}, {Moderator, tenant1},
		{Role{Name: "none"}, tenant1}, {Role{Name: "roles-only", Perms: ViewDashboard | ManageRoles}, tenant1},
	}
	for _, g := range granters {
		for _, r := range TenantRoles {
			for _, target := range []int64{tenant1, tenant2} {
				err := CanGrant(g.role, g.scope, r, target)
				want := g.role.Has(ManageRoles) && r.Perms&^g.role.Perms == 0 && (g.scope == 0 || g.scope == target)
				if (err == nil) != want {
					t.Errorf("%s (scope %d) granting %s on %d: %v, want allowed=%v", g.role.Name, g.scope, r.Name, target, err, want)
				}
			}
		}
	}
	if TenantAdmin.Perms&InstancePerms != 0 || Moderator.Has(ManageRoles) || Moderator.Perms&^TenantAdmin.Perms != 0 {
		t.Fatal("role definitions")
	}

	f := newFake(t)
	app := testApp(f, &fakeNotify{})
	f.roles[2] = map[int64]Role{tenant1: {Name: "roles-only", Perms: ViewDashboard | ManageRoles}}
	cases := []struct {
		who  string
		form url.Values
		want int
	}{
		{"mod1@mail.test", url.Values{"email": {"user@mail.test"}, "role": {"moderator"}}, http.StatusForbidden},
		{"user@mail.test", url.Values{"email": {"user@mail.test"}, "role": {"moderator"}}, http.StatusForbidden}, // roles-only
		{"admin1@mail.test", url.Values{"email": {"user@mail.test"}, "role": {"moderator"}, "tenant": {"20"}}, http.StatusForbidden},
		{"admin1@mail.test", url.Values{"email": {"user@mail.test"}, "role": {"operator"}}, http.StatusBadRequest},
		{"admin1@mail.test", url.Values{"email": {"user@mail.test"}, "role": {"admin"}}, http.StatusSeeOther},
	}
	for _, c := range cases {
		f.calls = nil
		resp, body := doOn(t, app, tenantHost, "POST", "/admin/roles/grant", newSessionOn(f, c.who, tenant1), c.form)
		if resp.StatusCode != c.want {
			t.Errorf("%s grants %v: %d, want %d\n%.300s", c.who, c.form, resp.StatusCode, c.want, body)
		}
		granted := len(f.calls) > 0 && strings.HasPrefix(f.calls[len(f.calls)-1], "GrantRole")
		if granted != (c.want == http.StatusSeeOther) {
			t.Errorf("%s grants %v: calls %v", c.who, c.form, f.calls)
		}
		if granted && f.calls[len(f.calls)-1] != "GrantRole user@mail.test 10 admin" {
			t.Errorf("granted %v", f.calls)
		}
	}
	// Revoking follows the same rule: the roles-only login cannot revoke
	// the admin, the admin can revoke the moderator.
	if resp, _ := doOn(t, app, tenantHost, "POST", "/admin/roles/revoke", newSessionOn(f, "user@mail.test", tenant1), url.Values{"user": {"4"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("roles-only revokes an admin: %d", resp.StatusCode)
	}
	if resp, _ := doOn(t, app, tenantHost, "POST", "/admin/roles/revoke", newSessionOn(f, "admin1@mail.test", tenant1), url.Values{"user": {"3"}}); resp.StatusCode != http.StatusSeeOther || f.calls[len(f.calls)-1] != "RevokeRole 3 10" {
		t.Errorf("admin revokes a moderator: %d %v", resp.StatusCode, f.calls)
	}
}

// On a tenant's /admin: links and forms carry the prefix, cookies are
// __Secure-, Path=/admin, HttpOnly, SameSite=Strict; a login with a role
// only on T2 cannot sign in on T1; paths outside /admin pass through.
func TestAdminTenantHostSignInScopeAndCookies(t *testing.T) {
	f := newFake(t)
	app := testApp(f, &fakeNotify{})
	resp, body := doOn(t, app, tenantHost, "POST", "/admin/login", "", url.Values{"email": {"admin2@mail.test"}, "password": {"operator password"}})
	if resp.StatusCode != http.StatusForbidden || strings.Contains(resp.Header.Get("Set-Cookie"), "roost_admin_session=") {
		t.Fatalf("T2's admin on T1: %d %s", resp.StatusCode, body)
	}
	resp, _ = doOn(t, app, tenantHost, "POST", "/admin/login", "", url.Values{"email": {"admin1@mail.test"}, "password": {"operator password"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/" {
		t.Fatalf("T1's admin: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	var sess *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "__Secure-roost_admin_session" {
			sess = c
		}
	}
	if sess == nil || !sess.Secure || !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Path != "/admin" {
		t.Fatalf("session cookie %+v", sess)
	}
	f.calls = nil
	resp, body = doOn(t, app, tenantHost, "GET", "/admin/", sess.Value, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `href="/admin/reports"`) || !strings.Contains(body, `action="/admin/logout"`) ||
		strings.Contains(body, `href="/tenants"`) || strings.Contains(body, `href="/admin/tenants"`) || f.calls[0] != "Stats 10" {
		t.Fatalf("tenant dashboard %d %v\n%s", resp.StatusCode, f.calls, body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe") {
		t.Errorf("csp %q", csp)
	}
	// The same cookie on the operator host or T2's /admin is nothing.
	if resp, _ := doOn(t, app, "t2.test", "GET", "/admin/", sess.Value, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("T1 session on T2: %d", resp.StatusCode)
	}
	for _, p := range []string{"/", "/administrator", "/api/v1/admin/accounts", "/users/admin"} {
		req := httptest.NewRequest("GET", p, nil)
		req.Host = tenantHost
		r, _ := app.Test(req)
		if b, _ := io.ReadAll(r.Body); string(b) != "tenant routes" {
			t.Errorf("%s on a tenant host: %s", p, b)
		}
	}
}

// Two-factor sign-in: enrolment shows the key and an inline SVG QR code,
// a code turns it on, the next sign-in stops after the password until a
// code is given, a replayed code is refused, and a wrong one ends the
// pending sign-in.
func TestAdminTOTPEnrolAndSignIn(t *testing.T) {
	f := newFake(t)
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	h := &Handler{Store: f, Host: testHost, URL: httpx.URLConfig{Scheme: "https"}, Now: func() time.Time { return now }}
	app := fiber.New()
	h.Register(app)
	tok := newSession(f, "op@mail.test")
	if resp, _ := do(t, app, "POST", "/2fa/begin", tok, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("begin %d", resp.StatusCode)
	}
	resp, body := do(t, app, "GET", "/2fa", tok, nil)
	secret := f.totp[1][1]
	if resp.StatusCode != 200 || secret == "" || !strings.Contains(body, secret) || !strings.Contains(body, `<svg id="totp-qr"`) ||
		!strings.Contains(body, "otpauth://totp/") {
		t.Fatalf("enrol page %d\n%s", resp.StatusCode, body)
	}
	code := func(at time.Time) string {
		c, err := totp.GenerateCodeCustom(secret, at, totpOpts)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if resp, _ := do(t, app, "POST", "/2fa/confirm", tok, url.Values{"code": {"000000"}}); resp.StatusCode != http.StatusBadRequest || f.totp[1][0] != "" {
		t.Fatalf("wrong confirm code: %d", resp.StatusCode)
	}
	if resp, _ := do(t, app, "POST", "/2fa/confirm", tok, url.Values{"code": {code(now)}}); resp.StatusCode != http.StatusSeeOther || f.totp[1][0] != secret {
		t.Fatalf("confirm: %d %v", resp.StatusCode, f.totp[1])
	}
	signIn := func() string {
		resp, _ := do(t, app, "POST", "/login", "", url.Values{"email": {"op@mail.test"}, "password": {"operator password"}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login/code" {
			t.Fatalf("password step: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		for _, c := range resp.Cookies() {
			if c.Name == "__Host-roost_admin_session" {
				return c.Value
			}
		}
		t.Fatal("no pending session cookie")
		return ""
	}
	pending := signIn()
	if resp, _ := do(t, app, "GET", "/", pending, nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("pending session used the dashboard: %d", resp.StatusCode)
	}
	// The confirming code's step is spent: the same code fails (and ends
	// the pending sign-in).
	if resp, _ := do(t, app, "POST", "/login/code", pending, url.Values{"code": {code(now)}}); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("replayed code: %d", resp.StatusCode)
	}
	if resp, _ := do(t, app, "GET", "/login/code", pending, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("pending session survived a wrong code: %d", resp.StatusCode)
	}
	now = now.Add(30 * time.Second)
	pending = signIn()
	if resp, _ := do(t, app, "POST", "/login/code", pending, url.Values{"code": {code(now)}}); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("code step: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := do(t, app, "GET", "/", pending, nil); resp.StatusCode != 200 {
		t.Fatalf("after the code: %d", resp.StatusCode)
	}
}

// Roles are permission sets; the operator has each route's permission.
func TestAdminOperatorRoleCoversEveryRoute(t *testing.T) {
	for _, rt := range routes {
		if rt.Perm != 0 && !Operator.Has(rt.Perm) {
			t.Errorf("operator lacks the permission of %s %s", rt.Method, rt.Path)
		}
		if rt.Perm != 0 && RoleOf(&tenant.DashboardUser{}, 0).Has(rt.Perm) {
			t.Errorf("a plain login may use %s %s", rt.Method, rt.Path)
		}
	}
	if (Role{Perms: ManageReports}).Has(ManageTenants) {
		t.Error("a moderator-like role could manage tenants")
	}
}

// Sign-in: wrong passwords and non-operators get no session; an operator
// gets a Secure, HttpOnly, SameSite=Strict __Host- cookie, the sign-in is
// audited, and a form without the CSRF token is refused.
func TestAdminOperatorSignInCookiesAndCSRF(t *testing.T) {
	f := newFake(t)
	app := testApp(f, &fakeNotify{})
	for email, want := range map[string]int{"nobody@mail.test": 401, "user@mail.test": 403} {
		resp, body := do(t, app, "POST", "/login", "", url.Values{"email": {email}, "password": {"operator password"}})
		if resp.StatusCode != want || strings.Contains(resp.Header.Get("Set-Cookie"), "roost_admin_session=") {
			t.Errorf("%s: %d %s", email, resp.StatusCode, body)
		}
	}
	if resp, _ := do(t, app, "POST", "/login", "", url.Values{"email": {"op@mail.test"}, "password": {"wrong password"}}); resp.StatusCode != 401 {
		t.Errorf("wrong password: %d", resp.StatusCode)
	}
	resp, _ := do(t, app, "POST", "/login", "", url.Values{"email": {"op@mail.test"}, "password": {"operator password"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("operator sign-in: %d", resp.StatusCode)
	}
	var sess *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-roost_admin_session" {
			sess = c
		}
	}
	if sess == nil || !sess.Secure || !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || sess.Path != "/" {
		t.Fatalf("session cookie %+v", sess)
	}
	if len(f.audit) != 1 || f.audit[0] != "signin op@mail.test" {
		t.Errorf("audit %v", f.audit)
	}
	resp, body := do(t, app, "GET", "/", sess.Value, nil)
	csp := resp.Header.Get("Content-Security-Policy")
	if resp.StatusCode != 200 || !strings.Contains(body, `id="posts-chart"`) || !strings.Contains(csp, "default-src 'none'") ||
		strings.Contains(csp, "unsafe") || strings.Contains(body, "<script") {
		t.Fatalf("dashboard %d %q\n%s", resp.StatusCode, csp, body)
	}
	// No CSRF field: refused before anything happens.
	req := httptest.NewRequest("POST", "/tenant/suspend", strings.NewReader("id=1"))
	req.Host = testHost
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", "__Host-roost_admin_csrf="+csrf+"; __Host-roost_admin_session="+sess.Value)
	r2, _ := app.Test(req)
	if r2.StatusCode != http.StatusForbidden || len(f.calls) != 1 {
		t.Errorf("post without CSRF: %d, calls %v", r2.StatusCode, f.calls)
	}
	// Other hosts pass through.
	req = httptest.NewRequest("GET", "/", nil)
	req.Host = "alice.test"
	r3, _ := app.Test(req)
	if b, _ := io.ReadAll(r3.Body); string(b) != "tenant routes" {
		t.Errorf("other host: %s", b)
	}
	if resp, _ := do(t, app, "POST", "/logout", sess.Value, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("logout %d", resp.StatusCode)
	}
	if resp, _ := do(t, app, "GET", "/", sess.Value, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after logout: %d", resp.StatusCode)
	}
}

// Suspending tells every node's host cache.
func TestAdminSuspendNotifiesHosts(t *testing.T) {
	f := newFake(t)
	n := &fakeNotify{}
	app := testApp(f, n)
	resp, _ := do(t, app, "POST", "/tenant/suspend", newSession(f, "op@mail.test"), url.Values{"id": {"5"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/tenant?id=5&done=suspended" {
		t.Fatalf("suspend %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if len(n.hosts) != 1 || n.hosts[0] != "t.test" || f.calls[0] != "SetTenantStatus tenant.suspend" {
		t.Errorf("notified %v, calls %v", n.hosts, f.calls)
	}
}

// Resolving takes one of the listed actions and nothing else, scoped to
// the session's tenant; forwarding sends the Flag as the report's tenant
// and records it only after the remote server took it.
func TestAdminReportActionsAndForward(t *testing.T) {
	f := newFake(t)
	var sent []string
	h := &Handler{Store: f, Host: testHost, URL: httpx.URLConfig{Scheme: "https"}, Forward: fakeForward{&sent}}
	app := fiber.New()
	h.Register(app)
	op := newSession(f, "op@mail.test")
	if resp, _ := do(t, app, "POST", "/reports/resolve", op, url.Values{"id": {"1"}, "action": {"explode"}}); resp.StatusCode != http.StatusBadRequest || len(f.calls) != 0 {
		t.Fatalf("unknown action: %d %v", resp.StatusCode, f.calls)
	}
	if resp, _ := do(t, app, "POST", "/reports/resolve", op, url.Values{"id": {"1", "2"}, "action": {"suspend"}}); resp.StatusCode != http.StatusSeeOther ||
		f.calls[0] != "ResolveReports 0 suspend" {
		t.Fatalf("bulk suspend: %d %v", resp.StatusCode, f.calls)
	}
	f.calls = nil
	if resp, _ := do(t, app, "POST", "/reports/forward", op, url.Values{"id": {"3"}}); resp.StatusCode != http.StatusSeeOther ||
		len(sent) != 1 || sent[0] != "t1.test https://remote.test/inbox" || f.calls[len(f.calls)-1] != "MarkForwarded" {
		t.Fatalf("forward: %d %v %v", resp.StatusCode, sent, f.calls)
	}
}
