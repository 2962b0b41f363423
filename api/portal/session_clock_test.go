package portal

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/api/page"
	"github.com/roost-social/roost/internal/testenv"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
	"github.com/roost-social/roost/tenant/verify"
)

// Issue 15 finding 10 on the portal: a sign-in's lifetime runs on the
// injected clock (the signups', which the pages share), not the wall
// clock: the session cookie lasts verify.SessionLifetime, the session
// answers until then and not a second after; signing in hands out a new
// form token, signing out deletes the session cookie and replaces the
// token, so a form shown before is refused.
func TestIssue15Finding10PortalSessionLifetimeOnInjectedClock(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	store := tenantpg.NewSignupStore(db)
	h := &Handler{Host: portalHost, URL: httpx.URLConfig{Scheme: "https"}, Signups: &verify.Signups{Store: store, Mode: verify.Open,
		BaseDomain: "roost.test", PortalHost: portalHost, Now: func() time.Time { return now }}}
	app := fiber.New()
	h.Register(app)
	send := func(method, path string, form url.Values, cookies ...*http.Cookie) *http.Response {
		req := httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		req.Host = portalHost
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for _, c := range cookies {
			req.AddCookie(c)
		}
		resp, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	named := func(resp *http.Response, name string) *http.Cookie {
		for _, c := range resp.Cookies() {
			if c.Name == name {
				return c
			}
		}
		return nil
	}
	const csrfName, sessionName = "__Host-roost_portal_csrf", "__Host-roost_portal_session"
	shown := named(send("GET", "/login", nil), csrfName)
	resp := send("POST", "/start", url.Values{"csrf": {shown.Value}, "name": {"Clock site"}, "email": {"clock@mail.test"},
		"password": {"a clock's password"}, "rules": {"yes"}}, shown)
	session, token := named(resp, sessionName), named(resp, csrfName)
	if resp.StatusCode != http.StatusSeeOther || session == nil || session.MaxAge != int(verify.SessionLifetime/time.Second) {
		t.Fatalf("sign-up: %d, session cookie %v", resp.StatusCode, session)
	}
	if token == nil || token.Value == shown.Value || token.MaxAge != int(page.CSRFLifetime/time.Second) {
		t.Fatalf("signing in kept the form token of before: %v", token)
	}
	start := now
	for _, tc := range []struct {
		after time.Duration
		in    bool
	}{{0, true}, {verify.SessionLifetime - time.Second, true}, {verify.SessionLifetime + time.Second, false}} {
		now = start.Add(tc.after)
		resp := send("GET", "/", nil, session)
		if in := resp.Header.Get("Location") == "/site"; in != tc.in {
			t.Errorf("%v after signing in: %d %s, want signed in %v", tc.after, resp.StatusCode, resp.Header.Get("Location"), tc.in)
		}
	}
	now = start
	out := send("POST", "/logout", url.Values{"csrf": {token.Value}}, session, token)
	if s, c := named(out, sessionName), named(out, csrfName); out.StatusCode != http.StatusSeeOther || s == nil || s.Value != "" ||
		c == nil || c.Value == token.Value {
		t.Fatalf("sign-out: %d, cookies %v", out.StatusCode, out.Header.Values("Set-Cookie"))
	} else if r := send("POST", "/login", url.Values{"csrf": {token.Value}, "email": {"clock@mail.test"}}, c); r.StatusCode != http.StatusForbidden {
		t.Errorf("a form shown before signing out: %d, want 403", r.StatusCode)
	}
}
