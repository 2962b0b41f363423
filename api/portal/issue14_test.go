package portal

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/internal/ratelimit"
	ratelimitredis "github.com/roost-social/roost/internal/ratelimit/redis"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
	"github.com/roost-social/roost/tenant/verify"
)

const portalHost = "portal.roost.test"

// firstAccounts creates first accounts as cmd/roost's portalAccounts
// does, counting the calls (each one checks the password).
type firstAccounts struct {
	sites    *tenantpg.Store
	accounts *fedpg.Store
	n        atomic.Int64
}

func (a *firstAccounts) CreateAccount(ctx context.Context, domain, username, email, password string) (*federation.Account, error) {
	a.n.Add(1)
	site, err := a.sites.SiteByHost(ctx, domain)
	if err != nil {
		return nil, err
	}
	hash, err := tenant.HashPassword(password)
	if err != nil {
		return nil, err
	}
	keys, err := federation.GenerateKeyPair()
	if err != nil {
		return nil, err
	}
	return a.accounts.CreateAccount(ctx, federation.NewAccount{TenantID: site.TenantID, Domain: site.Domain,
		Username: username, Email: email, Password: password, PasswordHash: hash, Keys: keys})
}

type portalWorld struct {
	app      *fiber.App
	db       *pgxpool.Pool
	accounts *firstAccounts
}

// newPortalWorld is the portal on the real stores, throttled by pw in
// Redis; X-Test-Client stands for the client address api computes.
func newPortalWorld(t *testing.T, pw ratelimit.Policy) *portalWorld {
	t.Helper()
	db := testenv.DB(t)
	rdb, prefix := testenv.Redis(t)
	w := &portalWorld{db: db, accounts: &firstAccounts{sites: tenantpg.New(db), accounts: fedpg.New(db)}}
	store := tenantpg.NewSignupStore(db)
	h := &Handler{Host: portalHost, URL: httpx.URLConfig{Scheme: "http"}, Accounts: w.accounts,
		Signups: &verify.Signups{Store: store, Mode: verify.Open, BaseDomain: "roost.test", PortalHost: portalHost,
			Checker: &verify.Checker{Store: store, Target: verify.Target{Hostname: "roost.test", Scheme: "http"}}},
		SignIn: ratelimit.NewGuard(ratelimitredis.New(rdb), prefix, pw, ratelimit.DefaultCodes, 2)}
	w.app = fiber.New(fiber.Config{ErrorHandler: httpx.ErrorHandler})
	w.app.Use(func(c *fiber.Ctx) error {
		if ip, err := netip.ParseAddr(c.Get("X-Test-Client")); err == nil {
			httpx.SetClientIP(c, ip)
		}
		return c.Next()
	})
	h.Register(w.app)
	return w
}

// browser keeps cookies, and comes from one address.
type browser struct {
	w       *portalWorld
	ip      string
	cookies map[string]string
}

func (w *portalWorld) browser(ip string) *browser {
	return &browser{w: w, ip: ip, cookies: map[string]string{}}
}

type answer struct {
	status         int
	location, body string
	header         http.Header
}

func (b *browser) do(t *testing.T, method, path string, form url.Values) answer {
	t.Helper()
	if method == http.MethodPost && b.cookies[csrfCookie] == "" {
		b.do(t, http.MethodGet, "/login", nil)
	}
	var body io.Reader
	if form != nil {
		form.Set("csrf", b.cookies[csrfCookie])
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	req.Host = portalHost
	req.Header.Set("X-Test-Client", b.ip)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range b.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	resp, err := b.w.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	raw, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header.Get("Location"), string(raw), resp.Header}
}

func startForm(email, password string) url.Values {
	return url.Values{"name": {"Site of " + email}, "email": {email}, "password": {password}, "rules": {"yes"}}
}

func loginForm(email, password string) url.Values {
	return url.Values{"email": {email}, "password": {password}}
}

func wantThrottled(t *testing.T, name string, a answer) {
	t.Helper()
	after, err := strconv.Atoi(a.header.Get("Retry-After"))
	if a.status != http.StatusTooManyRequests || err != nil || after < 1 || a.location != "" || !strings.Contains(a.body, "Too many attempts") {
		t.Fatalf("%s: %d, Retry-After %q, Location %q, want 429 with the form again", name, a.status, a.header.Get("Retry-After"), a.location)
	}
}

// Issue 14 finding 7 on the portal: start, sign-in and the first
// account's password share one budget per login and per address, and a
// refused attempt reaches no password check.
func TestIssue14Finding7PortalFormsThrottled(t *testing.T) {
	t.Parallel()
	w := newPortalWorld(t, ratelimit.Policy{PerIP: ratelimit.Limit{Attempts: 6, Per: time.Hour},
		PerLogin: ratelimit.Limit{Attempts: 3, Per: time.Hour}})
	alice := w.browser("198.51.100.1")
	if a := alice.do(t, "POST", "/start", startForm("alice@mail.test", "alice's password")); a.status != 303 || a.location != "/site" {
		t.Fatalf("start: %d %s", a.status, a.location)
	}
	if a := alice.do(t, "POST", "/site/subdomain", url.Values{"label": {"alice"}}); a.status != 303 {
		t.Fatalf("subdomain: %d %.300s", a.status, a.body)
	}
	// Three wrong guesses at alice, over three forms and addresses.
	for i, try := range []struct{ path string }{{"/login"}, {"/start"}, {"/login"}} {
		b := w.browser("198.51.100." + strconv.Itoa(10+i))
		form := loginForm("alice@mail.test", "a wrong password")
		if try.path == "/start" {
			form = startForm("alice@mail.test", "a wrong password")
		}
		if a := b.do(t, "POST", try.path, form); a.status != http.StatusUnprocessableEntity {
			t.Fatalf("guess %d on %s: %d", i, try.path, a.status)
		}
	}
	// Now the right password is refused everywhere, before it is checked.
	wantThrottled(t, "sign in", w.browser("198.51.100.20").do(t, "POST", "/login", loginForm("alice@mail.test", "alice's password")))
	wantThrottled(t, "start", w.browser("198.51.100.21").do(t, "POST", "/start", startForm("alice@mail.test", "alice's password")))
	a := alice.do(t, "POST", "/site/account", url.Values{"username": {"alice"}, "password": {"alice's password"}})
	wantThrottled(t, "first account", a)
	if w.accounts.n.Load() != 0 {
		t.Fatal("a throttled first-account form reached the password check")
	}
	// Another login is untouched.
	if a := w.browser("198.51.100.22").do(t, "POST", "/start", startForm("bob@mail.test", "bob's password")); a.status != 303 {
		t.Fatalf("bob: %d", a.status)
	}
	// Per address: six attempts, at any login and form, then 429.
	eve := w.browser("203.0.113.5")
	for i := range 6 {
		eve.do(t, "POST", "/login", loginForm("x"+strconv.Itoa(i)+"@mail.test", "whatever password"))
	}
	wantThrottled(t, "7th from one address", eve.do(t, "POST", "/start", startForm("eve@mail.test", "eve's password")))
}

var csrfField = regexp.MustCompile(`name="csrf" value="[^"]*"`)

// Issue 14 finding 8: the start form neither says whether a login with
// the email exists nor is a quicker way than signing in to test its
// password: it answers a wrong password as it does for any login, and it
// is throttled like signing in.
func TestIssue14Finding8StartDoesNotTellWhetherALoginExists(t *testing.T) {
	t.Parallel()
	w := newPortalWorld(t, ratelimit.Policy{PerIP: ratelimit.Limit{Attempts: 100, Per: time.Hour},
		PerLogin: ratelimit.Limit{Attempts: 4, Per: time.Hour}})
	ctx := context.Background()
	if a := w.browser("198.51.100.1").do(t, "POST", "/start", startForm("alice@mail.test", "alice's password")); a.status != 303 {
		t.Fatalf("alice's start: %d", a.status)
	}
	// carol has a login (made with `roost account create`) but no site.
	hash, _ := tenant.HashPassword("carol's password")
	if _, err := w.db.Exec(ctx, `insert into users (email, password_hash) values ('carol@mail.test', $1)`, hash); err != nil {
		t.Fatal(err)
	}
	var bodies []string
	for _, email := range []string{"alice@mail.test", "carol@mail.test", "ALICE@mail.test"} {
		a := w.browser("198.51.100.2").do(t, "POST", "/start", startForm(email, "a wrong password"))
		if a.status != http.StatusUnprocessableEntity || a.location != "" {
			t.Fatalf("%s, wrong password: %d %s", email, a.status, a.location)
		}
		for _, tell := range []string{"exists", "does not match", "a login with"} {
			if strings.Contains(strings.ToLower(a.body), tell) {
				t.Errorf("%s: the answer says %q", email, tell)
			}
		}
		body := strings.ReplaceAll(csrfField.ReplaceAllString(a.body, ""), email, "EMAIL")
		bodies = append(bodies, strings.ReplaceAll(body, "Site of EMAIL", "NAME"))
	}
	if bodies[0] != bodies[1] || bodies[0] != bodies[2] {
		t.Error("the answers differ between a login with a site and one without")
	}
	// The right password signs in to what is there: no second tenant.
	if a := w.browser("198.51.100.3").do(t, "POST", "/start", startForm("alice@mail.test", "alice's password")); a.status != 303 || a.location != "/site" {
		t.Fatalf("alice again: %d %s", a.status, a.location)
	}
	var tenants int
	if err := w.db.QueryRow(ctx, `select count(*) from tenants`).Scan(&tenants); err != nil || tenants != 1 {
		t.Fatalf("%d tenants (%v), want alice's only", tenants, err)
	}
	// Not an unthrottled password check: 4 wrong, then the right one is
	// refused before it is checked.
	for range 4 {
		w.browser("198.51.100.4").do(t, "POST", "/start", startForm("carol@mail.test", "a wrong password"))
	}
	wantThrottled(t, "carol's right password after 4 wrong", w.browser("198.51.100.5").do(t, "POST", "/start", startForm("carol@mail.test", "carol's password")))
}
