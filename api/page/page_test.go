package page_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/page"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant/verify"
)

// app serves one area's cookies: GET / renders a form page, POST /form
// checks the form's token, POST /signin and /signout start and end a
// session and then render the next page in the same response.
func app(k page.Cookies) *fiber.App {
	r := page.NewRenderer("body{margin:0}", nil, fstest.MapFS{"t.html": {Data: []byte(
		`{{define "head"}}<title>{{.Title}}</title><style>{{.CSS}}</style>{{end}}{{define "foot"}}<p>{{.Host}}</p>{{end}}` +
			`{{define "form"}}{{template "head" .}}<form><input name="csrf" value="{{.CSRF}}"></form>{{template "foot" .}}{{end}}`)}}, "*.html")
	type view struct{ page.Page }
	show := func(c *fiber.Ctx, status int, name string, p page.Page) error {
		v := &view{Page: p}
		v.CSRF = k.CSRFToken(c)
		return r.Render(c, status, name, v)
	}
	a := fiber.New()
	a.Get("/", func(c *fiber.Ctx) error { return show(c, 200, "form", page.Page{Title: "Form"}) })
	a.Post("/form", func(c *fiber.Ctx) error {
		if !k.CheckForm(c) {
			return show(c, 403, "error", page.Page{Title: page.ExpiredTitle, Message: page.ExpiredMessage})
		}
		return c.SendStatus(204)
	})
	a.Post("/signin", func(c *fiber.Ctx) error {
		k.StartSession(c, page.NewToken(), 2*time.Hour)
		return show(c, 200, "form", page.Page{Title: "Signed in"})
	})
	a.Post("/signout", func(c *fiber.Ctx) error {
		k.EndSession(c)
		return show(c, 200, "form", page.Page{Title: "Signed out"})
	})
	return a
}

func send(t *testing.T, a *fiber.App, method, path string, form url.Values, cookies ...*http.Cookie) *http.Response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := a.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func cookieOf(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// The areas' policies: the operator host's dashboard, a tenant's
// /admin, the portal and the OAuth page, over https and over http.
var policies = []struct {
	k                  page.Cookies
	csrfName, sameSite string
}{
	{page.Cookies{Area: "admin", Secure: true}, "__Host-roost_admin_csrf", "Strict"},
	{page.Cookies{Area: "admin", Secure: true, Path: "/admin"}, "__Secure-roost_admin_csrf", "Strict"},
	{page.Cookies{Area: "portal", Secure: true, CrossSite: true}, "__Host-roost_portal_csrf", "Lax"},
	{page.Cookies{Area: "oauth", Secure: true, CrossSite: true}, "__Host-roost_oauth_csrf", "Lax"},
	{page.Cookies{Area: "portal", CrossSite: true}, "roost_portal_csrf", "Lax"},
	{page.Cookies{Area: "admin", Path: "/admin"}, "roost_admin_csrf", "Strict"},
}

// Issue 15 finding 6: one cookie scheme and one lifetime policy: every
// area's CSRF cookie is named roost_<area>_csrf with the https prefix its
// path allows, is HttpOnly, Secure with https, SameSite as the area's
// policy says, on the area's path, and lives page.CSRFLifetime; the
// session cookie has the same attributes and the lifetime it is given.
func TestIssue15Finding6OneCookiePolicy(t *testing.T) {
	for _, p := range policies {
		a := app(p.k)
		resp := send(t, a, "GET", "/", nil)
		c := cookieOf(resp, p.csrfName)
		if c == nil {
			t.Fatalf("%+v: no cookie %s in %v", p.k, p.csrfName, resp.Header.Values("Set-Cookie"))
		}
		path := p.k.Path
		if path == "" {
			path = "/"
		}
		raw := strings.Join(resp.Header.Values("Set-Cookie"), "\n")
		if !c.HttpOnly || c.Secure != p.k.Secure || c.Path != path || c.MaxAge != int(page.CSRFLifetime/time.Second) ||
			!strings.Contains(raw, "SameSite="+p.sameSite) || !page.ValidToken(c.Value) {
			t.Errorf("%+v: CSRF cookie %s", p.k, raw)
		}
		resp = send(t, a, "POST", "/signin", url.Values{})
		s := cookieOf(resp, p.k.Name(page.Session))
		if s == nil || !s.HttpOnly || s.Secure != p.k.Secure || s.Path != path || s.MaxAge != 7200 || !page.ValidToken(s.Value) ||
			s.Name != strings.Replace(p.csrfName, "_csrf", "_session", 1) {
			t.Errorf("%+v: session cookie %v", p.k, resp.Header.Values("Set-Cookie"))
		}
	}
}

// Issue 15 finding 6: one CSRF check for every area, the same attacks
// refused whatever the policy: no cookie, no field, a mismatched or
// malformed token, another browser's token, and a cookie a sibling host
// or another area could have set (the right value under another name).
func TestIssue15Finding6CSRFCheck(t *testing.T) {
	for _, p := range policies {
		a := app(p.k)
		mine := cookieOf(send(t, a, "GET", "/", nil), p.csrfName)
		theirs := cookieOf(send(t, a, "GET", "/", nil), p.csrfName)
		if mine.Value == theirs.Value {
			t.Fatal("two browsers got one token")
		}
		post := func(field string, cookies ...*http.Cookie) int {
			return send(t, a, "POST", "/form", url.Values{page.CSRFField: {field}}, cookies...).StatusCode
		}
		if got := post(mine.Value, mine); got != 204 {
			t.Fatalf("%+v: the right pair: %d", p.k, got)
		}
		attacks := map[string]int{
			"no cookie":        post(mine.Value),
			"no field":         post("", mine),
			"altered field":    post(altered(mine.Value), mine),
			"malformed pair":   post("x", &http.Cookie{Name: p.csrfName, Value: "x"}),
			"another browser":  post(theirs.Value, mine),
			"padded token":     post(mine.Value+"=", &http.Cookie{Name: p.csrfName, Value: mine.Value + "="}),
			"over-long token":  post(mine.Value+"AAAA", &http.Cookie{Name: p.csrfName, Value: mine.Value + "AAAA"}),
			"replayed cookies": post(theirs.Value, mine, theirs),
		}
		for _, area := range []string{"admin", "portal", "oauth"} {
			for _, name := range []string{page.BaseName(area, page.CSRF), "__Host-" + page.BaseName(area, page.CSRF), "__Secure-" + page.BaseName(area, page.CSRF)} {
				if name != p.csrfName {
					attacks["cookie "+name] = post(mine.Value, &http.Cookie{Name: name, Value: mine.Value})
				}
			}
		}
		for name, got := range attacks {
			if got != http.StatusForbidden {
				t.Errorf("%+v, %s: %d, want 403", p.k, name, got)
			}
		}
	}
}

// altered is a token of the right shape that differs from v in one
// character.
func altered(v string) string {
	if v[0] == 'A' {
		return "B" + v[1:]
	}
	return "A" + v[1:]
}

// Issue 15 finding 6: a token never outlives the sign-in it guards:
// signing in and signing out each give the browser a new one, and the
// page rendered in that same response carries the new one.
func TestIssue15Finding6SignInAndOutReplaceTheToken(t *testing.T) {
	for _, p := range policies {
		a := app(p.k)
		before := cookieOf(send(t, a, "GET", "/", nil), p.csrfName)
		for _, step := range []string{"/signin", "/signout"} {
			resp := send(t, a, "POST", step, url.Values{}, before)
			after := cookieOf(resp, p.csrfName)
			body, _ := io.ReadAll(resp.Body)
			if after == nil || after.Value == before.Value || !strings.Contains(string(body), `value="`+after.Value+`"`) {
				t.Fatalf("%+v %s: token %v, page %s", p.k, step, after, body)
			}
			if step == "/signout" {
				if s := cookieOf(resp, p.k.Name(page.Session)); s == nil || s.Value != "" || !s.Expires.Before(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)) {
					t.Errorf("%+v: sign-out kept the session cookie: %v", p.k, s)
				}
			}
			if got := send(t, a, "POST", "/form", url.Values{page.CSRFField: {before.Value}}, after).StatusCode; got != 403 {
				t.Errorf("%+v: a form shown before %s: %d, want 403", p.k, step, got)
			}
			before = after
		}
	}
}

// The session cookie is read only when it has a token's shape.
func TestSessionTokenShape(t *testing.T) {
	k := page.Cookies{Area: "portal", Secure: true, CrossSite: true}
	a := fiber.New()
	a.Get("/", func(c *fiber.Ctx) error { return c.SendString(k.SessionToken(c)) })
	tok := page.NewToken()
	for value, want := range map[string]string{tok: tok, "": "", "short": "", tok + "A": "", strings.Repeat("!", len(tok)): ""} {
		resp := send(t, a, "GET", "/", nil, &http.Cookie{Name: "__Host-roost_portal_session", Value: value})
		if b, _ := io.ReadAll(resp.Body); string(b) != want {
			t.Errorf("cookie %q read as %q", value, b)
		}
	}
	if got := string(page.HashToken(tok)); got != string(verify.HashCode(tok)) {
		t.Error("page.HashToken is not what the portal's store keeps (verify.HashCode)")
	}
}

// Issue 15 finding 6: one error page for every area: its title and
// message, the request id to quote, the page headers; and one mapping
// from an error to what the page says, logging only 5xx.
func TestIssue15Finding6ErrorPage(t *testing.T) {
	var logged strings.Builder
	log := slog.New(slog.NewTextHandler(&logged, nil))
	r := page.NewRenderer("p{}", nil, fstest.MapFS{"t.html": {Data: []byte(
		`{{define "head"}}<style>{{.CSS}}</style>{{end}}{{define "foot"}}{{with .Home}}{{end}}{{end}}`)}}, "*.html")
	type view struct{ page.Page }
	a := fiber.New()
	a.Get("/:code", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderXRequestID, "req-42")
		var err error
		switch c.Params("code") {
		case "busy":
			err = context.DeadlineExceeded
		case "invalid":
			err = errs.E(errs.Invalid, "the id is not a number")
		default:
			err = errors.New("pq: connection refused to 10.0.0.7")
		}
		status, msg := page.Failure(c, log, "test request failed", err)
		return r.Render(c, status, "error", &view{page.Page{Title: "Error", Message: msg, Home: "/"}})
	})
	for path, want := range map[string]struct {
		status int
		text   string
		logged bool
	}{
		"/busy":     {503, "The server is busy", true},
		"/invalid":  {400, "the id is not a number", false},
		"/internal": {500, "Something went wrong", true},
	} {
		logged.Reset()
		resp := send(t, a, "GET", path, nil)
		b, _ := io.ReadAll(resp.Body)
		body := string(b)
		if resp.StatusCode != want.status || !strings.Contains(body, want.text) || !strings.Contains(body, "req-42") ||
			!strings.Contains(body, `id="message"`) || !strings.Contains(body, `href="/"`) || strings.Contains(body, "10.0.0.7") {
			t.Errorf("%s: %d %s", path, resp.StatusCode, body)
		}
		if (logged.Len() > 0) != want.logged {
			t.Errorf("%s: logged %q", path, logged.String())
		}
		h := resp.Header
		if !strings.HasPrefix(h.Get("Content-Security-Policy"), "default-src 'none'; style-src 'sha256-") ||
			!strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") || h.Get("X-Frame-Options") != "DENY" ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Cache-Control") != "no-store" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: headers %v", path, h)
		}
	}
}

func TestWhen(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("X", 3600))
	var none *time.Time
	cases := []struct {
		v    any
		want string
	}{{at, "4 Mar 2026 04:06 UTC"}, {&at, "4 Mar 2026 04:06 UTC"}, {none, "—"}, {"x", "—"}}
	for _, c := range cases {
		if got := page.When(c.v); got != c.want {
			t.Errorf("When(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}
