package portal

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/tenant/verify"
)

func testApp() *fiber.App {
	h := &Handler{Signups: &verify.Signups{Mode: verify.Invite, BaseDomain: "roost.test"}, Host: "portal.roost.test",
		URL: httpx.URLConfig{Scheme: "https"}}
	app := fiber.New()
	h.Register(app)
	app.Use(func(c *fiber.Ctx) error { return c.SendString("tenant routes") })
	return app
}

// The portal answers for its host only; everything else goes on to host
// routing untouched.
func TestPortalRoutesOnlyItsHost(t *testing.T) {
	app := testApp()
	for host, want := range map[string]string{
		"portal.roost.test":    "Create your site",
		"PORTAL.roost.test:80": "Create your site",
		"alice.roost.test":     "tenant routes",
		"portal.roost.test.x":  "tenant routes",
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Host = host
		resp, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if !strings.Contains(string(b), want) {
			t.Errorf("Host %s: %d %.200s; want %q", host, resp.StatusCode, b, want)
		}
	}
}

// With https the cookies are __Host- cookies, Secure, HttpOnly and
// SameSite=Lax; a post without the form's token is refused.
func TestPortalCookiesAndCSRF(t *testing.T) {
	app := testApp()
	req := httptest.NewRequest("GET", "/", nil)
	req.Host = "portal.roost.test"
	resp, _ := app.Test(req)
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), `name="invite"`) {
		t.Error("invite mode without an invite field")
	}
	var csrf *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-roost_portal_csrf" {
			csrf = c
		}
	}
	if csrf == nil || !csrf.Secure || !csrf.HttpOnly || csrf.SameSite != http.SameSiteLaxMode || csrf.Path != "/" {
		t.Fatalf("csrf cookie %+v", csrf)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'none'; style-src 'sha256-") {
		t.Fatalf("CSP %q", csp)
	}
	// A field one character off the cookie: "x" in front, unless the token
	// starts with "x" (then the field would equal the cookie, pass, and go
	// on to a sign-in this app has no store for: a flake once in 64 runs).
	other := "x"
	if csrf.Value[0] == 'x' {
		other = "y"
	}
	for _, tc := range []struct{ cookie, field string }{{csrf.Value, ""}, {"", csrf.Value}, {csrf.Value, other + csrf.Value[1:]}} {
		form := url.Values{"csrf": {tc.field}, "email": {"a@b.test"}}
		req := httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
		req.Host = "portal.roost.test"
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if tc.cookie != "" {
			req.AddCookie(&http.Cookie{Name: csrf.Name, Value: tc.cookie})
		}
		resp, _ := app.Test(req)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("cookie %q field %q: %d", tc.cookie, tc.field, resp.StatusCode)
		}
	}
}
