package admin

import (
	"context"
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
	"github.com/roost-social/roost/tenant"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

// Issue 15 finding 10 on the dashboard: a sign-in's lifetime runs on the
// injected clock, not the wall clock: the session cookie lasts
// SessionLifetime, the stored session answers until then and not a
// second after, and the form token the sign-in hands out is a new one
// with the one lifetime (page.CSRFLifetime).
func TestIssue15Finding10AdminSessionLifetimeOnInjectedClock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testenv.DB(t)
	hash, _ := tenant.HashPassword("the operator's password")
	if _, err := db.Exec(ctx, `insert into users (email, password_hash, is_operator) values ('op@mail.test', $1, true)`, hash); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	h := &Handler{Store: tenantpg.NewAdminStore(db), Host: testHost, URL: httpx.URLConfig{Scheme: "https"}, Now: func() time.Time { return now }}
	app := fiber.New()
	h.Register(app)
	send := func(method, path, cookie string, form url.Values) *http.Response {
		req := httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		req.Host = testHost
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Cookie", cookie)
		resp, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := send("POST", "/login", "__Host-roost_admin_csrf="+csrf,
		url.Values{"csrf": {csrf}, "email": {"op@mail.test"}, "password": {"the operator's password"}})
	var session, token *http.Cookie
	for _, c := range resp.Cookies() {
		switch c.Name {
		case "__Host-" + sessionCookie:
			session = c
		case "__Host-" + csrfCookie:
			token = c
		}
	}
	if resp.StatusCode != http.StatusSeeOther || session == nil || session.MaxAge != int(SessionLifetime/time.Second) {
		t.Fatalf("sign-in: %d, session cookie %v", resp.StatusCode, session)
	}
	if token == nil || token.Value == csrf || token.MaxAge != int(page.CSRFLifetime/time.Second) {
		t.Fatalf("sign-in kept the form token of before or its lifetime: %v", token)
	}
	start := now
	for _, tc := range []struct {
		after time.Duration
		in    bool
	}{{0, true}, {SessionLifetime - time.Second, true}, {SessionLifetime + time.Second, false}} {
		now = start.Add(tc.after)
		resp := send("GET", "/", "__Host-roost_admin_session="+session.Value, nil)
		if in := resp.StatusCode == http.StatusOK; in != tc.in {
			t.Errorf("%v after signing in: %d %s, want signed in %v", tc.after, resp.StatusCode, resp.Header.Get("Location"), tc.in)
		}
	}
}
