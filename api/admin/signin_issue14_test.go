package admin

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/pquerna/otp/totp"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/internal/ratelimit"
	ratelimitredis "github.com/roost-social/roost/internal/ratelimit/redis"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

const signInTenantHost = "a.signin.test"

// signInNode is one web node's dashboard, on the operator host and under
// /admin of a.signin.test, with its own guard on the shared Redis.
func signInNode(t *testing.T, store Store, tenantID int64, prefix string, pw, codes ratelimit.Policy, now time.Time) *fiber.App {
	t.Helper()
	rdb, _ := testenv.Redis(t)
	h := &Handler{Store: store, Host: testHost, URL: httpx.URLConfig{Scheme: "https"}, Now: func() time.Time { return now },
		SignIn: ratelimit.NewGuard(ratelimitredis.New(rdb), prefix, pw, codes, 2)}
	app := fiber.New()
	app.Use(func(c *fiber.Ctx) error {
		if ip, err := netip.ParseAddr(c.Get("X-Test-Client")); err == nil {
			httpx.SetClientIP(c, ip) // as api's observe computes it
		}
		return c.Next()
	})
	h.Register(app)
	app.Use(func(c *fiber.Ctx) error {
		httpx.SetSite(c, &tenant.Site{TenantID: tenantID, Domain: signInTenantHost, Status: tenant.Active})
		return c.Next()
	})
	TenantRoutes{h}.Register(app)
	return app
}

// signInClient is a browser on one host: a CSRF pair and the session
// cookie it is given.
type signInClient struct {
	host, ip, session string
}

func (b *signInClient) post(t *testing.T, app *fiber.App, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	form.Set("csrf", csrf)
	cookie := "Host-"
	if b.host != testHost {
		cookie, path = "Secure-", TenantPrefix+path
	}
	req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	req.Host = b.host
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Test-Client", b.ip)
	c := "__" + cookie + "roost_admin_csrf=" + csrf
	if b.session != "" {
		c += "; __" + cookie + "roost_admin_session=" + b.session
	}
	req.Header.Set("Cookie", c)
	resp, err := app.Test(req, 10000)
	if err != nil {
		t.Fatal(err)
	}
	for _, ck := range resp.Cookies() {
		if strings.HasSuffix(ck.Name, "roost_admin_session") {
			b.session = ck.Value
		}
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

func wantAdminThrottled(t *testing.T, name string, resp *http.Response, body string) {
	t.Helper()
	after, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if resp.StatusCode != http.StatusTooManyRequests || err != nil || after < 1 || !strings.Contains(body, "Too many attempts") ||
		resp.Header.Get("Location") != "" {
		t.Fatalf("%s: %d, Retry-After %q, want 429 with the form again", name, resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

// Issue 14 finding 7 on the dashboard: password attempts at /login, on
// the operator host and every tenant's /admin, and code attempts at
// /login/code, are throttled per login on every node; a code budget is
// not reset by signing in with the password again.
func TestIssue14Finding7AdminSignInThrottled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testenv.DB(t)
	store := tenantpg.NewAdminStore(db)
	tn, err := tenantpg.New(db).CreateTenant(ctx, "A", tenant.NewDomain{Domain: signInTenantHost, Verified: true})
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := tenant.HashPassword("the right password")
	var op, tfa int64
	for email, id := range map[string]*int64{"op@mail.test": &op, "tfa@mail.test": &tfa} {
		if err := db.QueryRow(ctx, `insert into users (email, password_hash, is_operator) values ($1, $2, true) returning id`,
			email, hash).Scan(id); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC) // the TOTP clock, injected
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "roost", AccountName: "tfa@mail.test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.SetPendingTOTP(ctx, tfa, key.Secret()); err != nil {
		t.Fatal(err)
	}
	if ok, err := store.UseTOTPStep(ctx, tenant.Actor{UserID: tfa}, tfa, now.Unix()/30-10, true); !ok || err != nil {
		t.Fatalf("enable TOTP: %v %v", ok, err)
	}
	_, prefix := testenv.Redis(t)
	pw := ratelimit.Policy{PerIP: ratelimit.Limit{Attempts: 100, Per: time.Hour}, PerLogin: ratelimit.Limit{Attempts: 3, Per: time.Hour}}
	codes := ratelimit.Policy{PerIP: ratelimit.Limit{Attempts: 100, Per: time.Hour}, PerLogin: ratelimit.Limit{Attempts: 2, Per: time.Hour}}
	nodes := []*fiber.App{signInNode(t, store, tn.ID, prefix, pw, codes, now), signInNode(t, store, tn.ID, prefix, pw, codes, now)}
	login := func(email, password string) url.Values { return url.Values{"email": {email}, "password": {password}} }

	// Wrong passwords on both hosts and both nodes, then the right one.
	for i, host := range []string{testHost, signInTenantHost, testHost} {
		b := &signInClient{host: host, ip: "198.51.100." + strconv.Itoa(i+1)}
		if resp, _ := b.post(t, nodes[i%2], "/login", login("op@mail.test", "wrong")); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong %d on %s: %d", i, host, resp.StatusCode)
		}
	}
	for _, host := range []string{testHost, signInTenantHost} {
		b := &signInClient{host: host, ip: "198.51.100.9"}
		resp, body := b.post(t, nodes[1], "/login", login("op@mail.test", "the right password"))
		wantAdminThrottled(t, "right password on "+host, resp, body)
		if b.session != "" {
			t.Fatal("a throttled sign-in got a session")
		}
	}

	// Codes: two wrong codes (each ends the pending sign-in; signing in
	// again forgives the password, not the codes), then the right code.
	code, err := totp.GenerateCodeCustom(key.Secret(), now, totpOpts)
	if err != nil {
		t.Fatal(err)
	}
	wrong := "000000"
	if wrong == code {
		wrong = "111111"
	}
	for i := range 3 {
		b := &signInClient{host: signInTenantHost, ip: "203.0.113." + strconv.Itoa(i+1)}
		resp, _ := b.post(t, nodes[i%2], "/login", login("tfa@mail.test", "the right password"))
		if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(resp.Header.Get("Location"), "/login/code") {
			t.Fatalf("sign-in %d: %d %s", i, resp.StatusCode, resp.Header.Get("Location"))
		}
		if i < 2 {
			if resp, _ := b.post(t, nodes[(i+1)%2], "/login/code", url.Values{"code": {wrong}}); resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("wrong code %d: %d", i, resp.StatusCode)
			}
			continue
		}
		resp, body := b.post(t, nodes[1], "/login/code", url.Values{"code": {code}})
		wantAdminThrottled(t, "right code after two wrong", resp, body)
		if !strings.Contains(body, `name="code"`) {
			t.Fatal("the code form is not shown again")
		}
	}
}
