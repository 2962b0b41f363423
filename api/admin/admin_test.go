package admin

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/admin/model"
	"github.com/roost-social/roost/api/web"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

// fakeStore keeps logins and sessions in memory and records what the
// handlers asked for.
type fakeStore struct {
	mu       sync.Mutex
	users    map[string]*model.User
	hashes   map[string]string
	sessions map[string]*model.User
	calls    []string
	audit    []string
}

func newFake(t *testing.T) *fakeStore {
	hash, err := tenant.HashPassword("operator password")
	if err != nil {
		t.Fatal(err)
	}
	return &fakeStore{
		users: map[string]*model.User{
			"op@mail.test":   {ID: 1, Email: "op@mail.test", IsOperator: true},
			"user@mail.test": {ID: 2, Email: "user@mail.test"},
		},
		hashes:   map[string]string{"op@mail.test": hash, "user@mail.test": hash},
		sessions: map[string]*model.User{},
	}
}

func (f *fakeStore) call(s string) { f.mu.Lock(); f.calls = append(f.calls, s); f.mu.Unlock() }

func (f *fakeStore) UserByEmail(_ context.Context, email string) (*model.User, string, error) {
	u, ok := f.users[strings.ToLower(email)]
	if !ok {
		return nil, "", errs.E(errs.NotFound, "no such login")
	}
	return u, f.hashes[u.Email], nil
}
func (f *fakeStore) CreateSession(_ context.Context, id int64, h []byte, _ time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, u := range f.users {
		if u.ID == id {
			f.sessions[string(h)] = u
		}
	}
	return nil
}
func (f *fakeStore) SessionUser(_ context.Context, h []byte, _ time.Time) (*model.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u, ok := f.sessions[string(h)]; ok {
		return u, nil
	}
	return nil, errs.E(errs.NotFound, "no such session")
}
func (f *fakeStore) DeleteSession(_ context.Context, h []byte) error {
	f.mu.Lock()
	delete(f.sessions, string(h))
	f.mu.Unlock()
	return nil
}
func (f *fakeStore) Record(_ context.Context, a model.Actor, action, target string, _ *int64, _ string) error {
	f.mu.Lock()
	f.audit = append(f.audit, action+" "+a.Email)
	f.mu.Unlock()
	return nil
}
func (f *fakeStore) Stats(context.Context, time.Time) (*model.Stats, error) {
	f.call("Stats")
	days := make([]model.DayCount, 30)
	for i := range days {
		days[i] = model.DayCount{Day: time.Date(2026, 1, 1+i, 0, 0, 0, 0, time.UTC), N: int64(i % 5)}
	}
	return &model.Stats{TenantsByStatus: map[string]int64{"active": 3}, PostsPerDay: days}, nil
}
func (f *fakeStore) Tenants(context.Context, model.TenantFilter) ([]model.TenantRow, error) {
	f.call("Tenants")
	return nil, nil
}
func (f *fakeStore) Tenant(_ context.Context, id int64) (*model.TenantDetail, error) {
	f.call("Tenant")
	return &model.TenantDetail{TenantRow: model.TenantRow{ID: id, Name: "T", Status: "active"}}, nil
}
func (f *fakeStore) SetTenantStatus(_ context.Context, a model.Actor, id int64, from, to, action string) ([]string, error) {
	f.call("SetTenantStatus " + action)
	return []string{"t.test"}, nil
}
func (f *fakeStore) OpenReports(context.Context, int) ([]model.Report, error) {
	f.call("OpenReports")
	return nil, nil
}
func (f *fakeStore) ResolveReports(_ context.Context, _ model.Actor, ids []int64) (int, error) {
	f.call("ResolveReports")
	return len(ids), nil
}
func (f *fakeStore) Audit(context.Context, string, int) ([]model.AuditEntry, error) {
	f.call("Audit")
	return nil, nil
}

type fakeNotify struct{ hosts []string }

func (n *fakeNotify) HostsChanged(_ context.Context, hosts ...string) error {
	n.hosts = append(n.hosts, hosts...)
	return nil
}

const testHost = "admin.roost.test"

func testApp(f *fakeStore, n tenant.Notifier) *fiber.App {
	h := &Handler{Store: f, Notify: n, Host: testHost, URL: web.URLConfig{Scheme: "https"}}
	app := fiber.New()
	h.Register(app)
	app.Use(func(c *fiber.Ctx) error { return c.SendString("tenant routes") })
	return app
}

const csrf = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" // 32 zero bytes, base64url

// do sends a request to the dashboard with a valid CSRF pair and, when
// token is set, a session cookie.
func do(t *testing.T, app *fiber.App, method, path, token string, form url.Values) (*http.Response, string) {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", csrf)
	var body io.Reader
	if method == "POST" {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	req.Host = testHost
	if method == "POST" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	cookie := "__Host-roost_admin_csrf=" + csrf
	if token != "" {
		cookie += "; __Host-roost_admin_session=" + token
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

func newSession(f *fakeStore, email string) string {
	tok := newToken()
	f.CreateSession(context.Background(), f.users[email].ID, hashToken(tok), time.Now())
	return tok
}

// Every route that needs a permission, generated from the route table:
// signed out, a GET goes to the sign-in and a POST is refused with 401;
// a login without the permission gets 403; neither reaches the store.
// An operator reaches every page.
func TestAdminRoutesRequireSessionAndPermission(t *testing.T) {
	f := newFake(t)
	app := testApp(f, &fakeNotify{})
	user, op := newSession(f, "user@mail.test"), newSession(f, "op@mail.test")
	guarded := 0
	for _, rt := range routes {
		if rt.Perm == 0 {
			continue
		}
		guarded++
		form := url.Values{"id": {"7"}}
		path := rt.Path
		if rt.Method == "GET" {
			path += "?id=7"
		}
		resp, _ := do(t, app, rt.Method, path, "", form)
		switch rt.Method {
		case "GET":
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
				t.Errorf("%s %s signed out: %d %s", rt.Method, rt.Path, resp.StatusCode, resp.Header.Get("Location"))
			}
		default:
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s %s signed out: %d", rt.Method, rt.Path, resp.StatusCode)
			}
		}
		// A made-up session is no session.
		if resp, _ := do(t, app, rt.Method, path, newToken(), form); resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s unknown session: %d", rt.Method, rt.Path, resp.StatusCode)
		}
		if resp, _ := do(t, app, rt.Method, path, user, form); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s %s as a non-operator: %d", rt.Method, rt.Path, resp.StatusCode)
		}
		if len(f.calls) != 0 {
			t.Fatalf("%s %s reached the store unauthorised: %v", rt.Method, rt.Path, f.calls)
		}
		resp, _ = do(t, app, rt.Method, path, op, form)
		if want := map[string]int{"GET": 200, "POST": http.StatusSeeOther}[rt.Method]; resp.StatusCode != want {
			t.Errorf("%s %s as operator: %d, want %d", rt.Method, rt.Path, resp.StatusCode, want)
		}
		f.calls = nil
	}
	if guarded < 9 {
		t.Fatalf("only %d guarded routes", guarded)
	}
}

// Roles are permission sets; the operator has each route's permission.
func TestAdminOperatorRoleCoversEveryRoute(t *testing.T) {
	for _, rt := range routes {
		if rt.Perm != 0 && !Operator.Has(rt.Perm) {
			t.Errorf("operator lacks the permission of %s %s", rt.Method, rt.Path)
		}
		if rt.Perm != 0 && RoleOf(&model.User{}).Has(rt.Perm) {
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
