package oauth_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api"
	"github.com/roost-social/roost/api/httpx"
	apioauth "github.com/roost-social/roost/api/oauth"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/ratelimit"
	ratelimitredis "github.com/roost-social/roost/internal/ratelimit/redis"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/oauth"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

// countingLogins is the real login store, counting the password checks
// that reach it.
type countingLogins struct {
	oauth.Logins
	n atomic.Int64
}

func (l *countingLogins) Login(ctx context.Context, tenantID int64, domain, email, password string) (int64, string, error) {
	l.n.Add(1)
	return l.Logins.Login(ctx, tenantID, domain, email, password)
}

// node is one more web node on the world's database, as another `roost
// serve` would be: its own app, host cache, Redis client and guard, and
// the client address api's middleware would compute (X-Test-Client here).
func (w *world) node(t *testing.T, prefix string, pw ratelimit.Policy, logins oauth.Logins) *fiber.App {
	t.Helper()
	rdb, _ := testenv.Redis(t)
	guard := ratelimit.NewGuard(ratelimitredis.New(rdb), prefix, pw, ratelimit.DefaultCodes, 2)
	sites := tenant.NewHostCache(tenantpg.New(w.db), time.Minute, 100)
	app := fiber.New(fiber.Config{ErrorHandler: httpx.ErrorHandler})
	app.Use(func(c *fiber.Ctx) error {
		if ip, err := netip.ParseAddr(c.Get("X-Test-Client")); err == nil {
			httpx.SetClientIP(c, ip)
		}
		host, err := tenant.NormalizeHost(c.Hostname())
		if err != nil {
			return errs.E(errs.NotFound, "unknown host")
		}
		site, err := sites.Resolve(c.UserContext(), host)
		if err != nil {
			return err
		}
		httpx.SetSite(c, site)
		return c.Next()
	})
	(&apioauth.Handler{OAuth: w.svc, Logins: logins, URL: httpx.URLConfig{Scheme: "https"}, SignIn: guard}).Register(app)
	return app
}

// signIn submits the sign-in page on app from the client at ip.
func (w *world) signIn(t *testing.T, app *fiber.App, q url.Values, ip, email, pass string) response {
	t.Helper()
	w.app = app
	f := w.openAuthorize(t, "a.example", q)
	v := url.Values{}
	for k, vs := range f.fields {
		v[k] = vs
	}
	v.Set("email", email)
	v.Set("password", pass)
	v.Set("decision", "approve")
	return w.postForm(t, "a.example", "/oauth/authorize", v, "Cookie", f.cookie.Name+"="+f.cookie.Value, "X-Test-Client", ip)
}

func wantThrottled(t *testing.T, name string, r response) {
	t.Helper()
	after, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if r.StatusCode != http.StatusTooManyRequests || err != nil || after < 1 || r.Header.Get("Location") != "" ||
		!strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") || !strings.Contains(r.body, "Too many attempts") {
		t.Fatalf("%s: status %d, Retry-After %q, Location %q, want a 429 page", name, r.StatusCode, r.Header.Get("Retry-After"), r.Header.Get("Location"))
	}
}

// Issue 14 finding 7: password attempts on the sign-in page are counted
// per login and per client address in Redis, so the limit holds across
// two nodes; refused attempts never reach the password check.
func TestIssue14Finding7SignInLimitHoldsAcrossNodes(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	_, prefix := testenv.Redis(t)
	logins := &countingLogins{Logins: tenantpg.NewOAuthStore(w.db)}
	// Limits in hours, so no refill happens while the test runs: nothing
	// here depends on the wall clock.
	policy := ratelimit.Policy{Name: "password", PerIP: ratelimit.Limit{Attempts: 8, Per: time.Hour},
		PerLogin: ratelimit.Limit{Attempts: 5, Per: time.Hour}}
	nodes := []*fiber.App{w.node(t, prefix, policy, logins), w.node(t, prefix, policy, logins)}
	q := authQuery(w.register(t, "a.example", cb, "read"), cb, "read", "s")

	t.Run("per login, whatever the address", func(t *testing.T) {
		for i := range 5 {
			ip := "198.51.100." + strconv.Itoa(i+1)
			if r := w.signIn(t, nodes[i%2], q, ip, "alice@mail.example", "wrong password"); r.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("wrong password %d: %d", i, r.StatusCode)
			}
		}
		checked := logins.n.Load()
		// The right password, on the other node, from a fresh address.
		wantThrottled(t, "right password after 5 wrong", w.signIn(t, nodes[1], q, "198.51.100.77", "ALICE@mail.example ", password))
		if logins.n.Load() != checked {
			t.Fatal("a refused attempt reached the password check")
		}
		if n := w.count(t, "select count(*) from oauth_codes"); n != 0 {
			t.Fatalf("%d codes issued to a throttled login", n)
		}
		// Another login is not affected.
		if r := w.signIn(t, nodes[0], q, "198.51.100.78", "bob@mail.example", password); r.StatusCode != http.StatusFound {
			t.Fatalf("bob: %d", r.StatusCode)
		}
	})

	t.Run("per address, whatever the login", func(t *testing.T) {
		ip := "203.0.113.9"
		for i := range 8 {
			email := "nobody" + strconv.Itoa(i) + "@mail.example"
			if r := w.signIn(t, nodes[i%2], q, ip, email, "wrong password"); r.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("attempt %d: %d", i, r.StatusCode)
			}
		}
		wantThrottled(t, "9th attempt from one address", w.signIn(t, nodes[1], q, ip, "bob@mail.example", password))
		// An IPv6 client counts as its /64.
		for i := range 8 {
			w.signIn(t, nodes[0], q, "2001:db8:1:2::"+strconv.Itoa(i+1), "nobody@mail.example", "wrong password")
		}
		wantThrottled(t, "same /64", w.signIn(t, nodes[1], q, "2001:db8:1:2:ffff::1", "bob@mail.example", password))
		if r := w.signIn(t, nodes[1], q, "2001:db8:1:3::1", "bob@mail.example", password); r.StatusCode != http.StatusFound {
			t.Fatalf("another /64: %d", r.StatusCode)
		}
	})

	t.Run("a right password forgives the login's typos", func(t *testing.T) {
		for i := range 4 {
			w.signIn(t, nodes[i%2], q, "192.0.2.1", "bob@mail.example", "typo")
		}
		if r := w.signIn(t, nodes[0], q, "192.0.2.2", "bob@mail.example", password); r.StatusCode != http.StatusFound {
			t.Fatalf("bob after 4 typos: %d", r.StatusCode)
		}
		for i := range 4 {
			if r := w.signIn(t, nodes[i%2], q, "192.0.2.3", "bob@mail.example", "typo"); r.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("typo %d after a sign-in: %d", i, r.StatusCode)
			}
		}
	})
}

// Issue 14 finding 7, as the attacker tried it: 30 wrong passwords, then
// the right one, under the default policy.
func TestIssue14Finding7ThirtyWrongPasswordsThenRight(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	_, prefix := testenv.Redis(t)
	logins := &countingLogins{Logins: tenantpg.NewOAuthStore(w.db)}
	app := w.node(t, prefix, ratelimit.DefaultPasswords, logins)
	q := authQuery(w.register(t, "a.example", cb, "read"), cb, "read", "s")
	var last response
	for range 30 {
		last = w.signIn(t, app, q, "198.51.100.1", "alice@mail.example", "wrong password")
	}
	wantThrottled(t, "31st wrong", last)
	wantThrottled(t, "then the right one", w.signIn(t, app, q, "198.51.100.1", "alice@mail.example", password))
	if n := logins.n.Load(); n != int64(ratelimit.DefaultPasswords.PerLogin.Attempts) {
		t.Fatalf("%d password checks ran, want %d", n, ratelimit.DefaultPasswords.PerLogin.Attempts)
	}
}

// Issue 14 finding 7, behind a proxy: in the real app the per-address
// budget is the client's as api computes it from trusted proxies (the
// rightmost X-Forwarded-For entry that is not one), so rotating the
// entries a client writes itself does not buy more guesses.
func TestIssue14Finding7AddressIsTheClientBehindTrustedProxies(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	rdb, prefix := testenv.Redis(t)
	policy := ratelimit.Policy{PerIP: ratelimit.Limit{Attempts: 3, Per: time.Hour}, PerLogin: ratelimit.Limit{Attempts: 100, Per: time.Hour}}
	guard := ratelimit.NewGuard(ratelimitredis.New(rdb), prefix, policy, ratelimit.DefaultCodes, 2)
	w.app = api.New(api.Options{Sites: tenant.NewHostCache(tenantpg.New(w.db), time.Minute, 100), Accounts: fedpg.New(w.db),
		OAuth:          &apioauth.Handler{OAuth: w.svc, Logins: tenantpg.NewOAuthStore(w.db), URL: httpx.URLConfig{Scheme: "https"}, SignIn: guard},
		TrustedProxies: []string{"0.0.0.0/32", "10.0.0.0/8"}, // app.Test's peer is 0.0.0.0: the proxy
		URL:            httpx.URLConfig{Scheme: "https"}, Log: slog.New(slog.DiscardHandler)})
	q := authQuery(w.register(t, "a.example", cb, "read"), cb, "read", "s")
	try := func(xff string) response {
		f := w.openAuthorize(t, "a.example", q)
		v := url.Values{}
		for k, vs := range f.fields {
			v[k] = vs
		}
		v.Set("email", "nobody@mail.example")
		v.Set("password", "wrong password")
		v.Set("decision", "approve")
		return w.postForm(t, "a.example", "/oauth/authorize", v, "Cookie", f.cookie.Name+"="+f.cookie.Value, "X-Forwarded-For", xff)
	}
	for i := range 3 {
		// The client writes a new first entry each time; the proxies append
		// what they saw.
		if r := try("192.0.2." + strconv.Itoa(i+1) + ", 198.51.100.7, 10.1.2.3"); r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("attempt %d: %d", i, r.StatusCode)
		}
	}
	wantThrottled(t, "4th from 198.51.100.7 under a new disguise", try("192.0.2.99, 198.51.100.7, 10.1.2.3"))
	if r := try("198.51.100.8, 10.1.2.3"); r.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("another client behind the same proxy: %d", r.StatusCode)
	}
}

// Issue 14 finding 10: GET /oauth/authorize never redirects. Every
// response_type × redirect_uri × client variant that is not a valid
// request is an error page; the valid one is the sign-in page. Only the
// user's Deny or Approve on that page sends the browser to the app.
func TestIssue14Finding10AuthorizeNeverRedirectsBeforeTheUserActs(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	reg := "https://app.example/cb?x=1"
	app := w.register(t, "a.example", reg+"\n"+oauth.OOB, "read")
	other := w.register(t, "b.example", reg, "read") // another tenant's app, same URI
	clients := map[string]client{"valid": app, "unknown": {ID: "nope"}, "other tenant's": other, "empty": {}}
	redirects := []string{reg, oauth.OOB, "", "https://evil.example/", "https://app.example/cb?x=1&y=2", "//evil.example", "javascript:alert(1)"}
	responseTypes := []string{"code", "token", "", "code token", "id_token", "CODE", "code ", "none"}
	for cname, cl := range clients {
		for _, ru := range redirects {
			for _, rt := range responseTypes {
				q := authQuery(cl, ru, "read", "s", "response_type", rt)
				r := w.do(t, http.MethodGet, "a.example", "/oauth/authorize?"+q.Encode(), nil)
				name := cname + " client, redirect_uri " + ru + ", response_type " + strconv.Quote(rt)
				if loc := r.Header.Get("Location"); loc != "" || r.StatusCode/100 == 3 {
					t.Errorf("%s: redirected (%d) to %q", name, r.StatusCode, loc)
					continue
				}
				valid := cname == "valid" && (ru == reg || ru == oauth.OOB) && rt == "code"
				switch {
				case valid && r.StatusCode != http.StatusOK:
					t.Errorf("%s: %d, want the sign-in page", name, r.StatusCode)
				case !valid && (r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, `class="error"`) || strings.Contains(r.body, `name="password"`)):
					t.Errorf("%s: %d, want an error page", name, r.StatusCode)
				case !valid && strings.Contains(r.body, "evil.example"):
					t.Errorf("%s: the error page links the redirect URI", name)
				}
			}
		}
	}
	// Every other invalid parameter of a valid client and URI: a page too.
	for name, q := range map[string]url.Values{
		"scope beyond the app's": authQuery(app, reg, "write", "s"),
		"unknown scope":          authQuery(app, reg, "read root", "s"),
		"plain PKCE":             authQuery(app, reg, "read", "s", "code_challenge", challenge(verifier), "code_challenge_method", "plain"),
		"short PKCE":             authQuery(app, reg, "read", "s", "code_challenge", "abc", "code_challenge_method", "S256"),
		"state too long":         authQuery(app, reg, "read", strings.Repeat("s", 2001)),
	} {
		r := w.do(t, http.MethodGet, "a.example", "/oauth/authorize?"+q.Encode(), nil)
		if r.StatusCode != http.StatusBadRequest || r.Header.Get("Location") != "" {
			t.Errorf("%s: %d %q", name, r.StatusCode, r.Header.Get("Location"))
		}
	}
	// A repeated parameter: which copy counts must not be a guess.
	for _, dup := range []string{"&response_type=token", "&redirect_uri=https%3A%2F%2Fevil.example%2F", "&client_id=nope"} {
		r := w.do(t, http.MethodGet, "a.example", "/oauth/authorize?"+authQuery(app, reg, "read", "s").Encode()+dup, nil)
		if r.StatusCode != http.StatusBadRequest || r.Header.Get("Location") != "" || !strings.Contains(r.body, "more than once") {
			t.Errorf("repeated %s: %d %q", dup, r.StatusCode, r.Header.Get("Location"))
		}
	}
	// The form's hidden fields altered before posting: a page, no code.
	for field, value := range map[string]string{"response_type": "token", "redirect_uri": "https://evil.example/", "client_id": other.ID, "scope": "write"} {
		f := w.openAuthorize(t, "a.example", authQuery(app, reg, "read", "s"))
		f.fields.Set(field, value)
		r := w.submit(t, "a.example", f, "alice@mail.example", password, "approve")
		if r.StatusCode != http.StatusBadRequest || r.Header.Get("Location") != "" {
			t.Errorf("posted %s=%s: %d %q", field, value, r.StatusCode, r.Header.Get("Location"))
		}
	}
	if n := w.count(t, "select count(*) from oauth_codes"); n != 0 {
		t.Fatalf("%d codes issued", n)
	}
	// After the user acts: Deny goes back to the checked URI with the
	// standard error; Approve with the code.
	r := w.submit(t, "a.example", w.openAuthorize(t, "a.example", authQuery(app, reg, "read", "s")), "", "", "deny")
	if loc := r.Header.Get("Location"); r.StatusCode != http.StatusFound || !strings.HasPrefix(loc, reg+"&error=access_denied") {
		t.Fatalf("deny: %d %q", r.StatusCode, loc)
	}
	r = w.submit(t, "a.example", w.openAuthorize(t, "a.example", authQuery(app, reg, "read", "s")), "alice@mail.example", password, "approve")
	if loc := r.Header.Get("Location"); r.StatusCode != http.StatusFound || !strings.HasPrefix(loc, reg+"&code=") {
		t.Fatalf("approve: %d %q", r.StatusCode, loc)
	}
}
