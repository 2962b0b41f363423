// SKELETON READY

// Package webapp is the signed-in web app of every tenant domain: home,
// notifications, timelines, compose and the actions on posts, as
// server-rendered HTML that works without script, with one small script
// file (static/app.js) for live updates and actions without a reload.
//
// The web app is a client of the tenant's own client API, like any
// Mastodon app: signing in (session.go) issues an access token of the
// tenant's built-in web app (oauth.Service.SignInWeb), kept in an HttpOnly
// session cookie of this host only, and every screen and action calls the
// client API in process with it (client.go). So the web app can do exactly
// what an app holding that token can, through the same handlers, use cases
// and rules; there is no second copy of them here. Forms are guarded by
// api/page's double-submitted CSRF token.
package webapp

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/api/page"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/ratelimit"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/oauth"
	"github.com/valyala/fasthttp"
)

// Accounts loads the signed-in account.
type Accounts interface {
	AccountByID(ctx context.Context, id int64) (*federation.Account, error)
}

// Deps are what the web app needs; cmd/roost wires them.
type Deps struct {
	// OAuth issues and revokes the web sessions' tokens and resolves them.
	OAuth *oauth.Service
	// Logins checks an email and password, as the OAuth sign-in page does.
	Logins oauth.Logins
	// SignIn throttles password attempts, shared with every other sign-in
	// form of the instance; nil throttles nothing (tests).
	SignIn *ratelimit.Guard
	// Accounts loads the signed-in account for the layout.
	Accounts Accounts
	// URL says whether cookies are Secure (Scheme https) and forms links.
	URL httpx.URLConfig
	// Log records server errors; nil uses the request's logger.
	Log *slog.Logger
	// SessionLifetime is how long a session cookie lasts (default 30 days).
	SessionLifetime time.Duration
	// Settings are what the settings pages call besides the client API
	// (settings.go): two-factor sign-in, authorised apps.
	Settings Settings
}

// Handler serves the web app. Its fields are read-only after Register.
type Handler struct {
	Deps

	pages *page.Renderer
	// api is the app's own request handler, through which every screen
	// calls the client API (client.go); taken at the first call.
	apiOnce sync.Once
	api     fasthttp.RequestHandler
}

// New returns the web app's handler.
func New(d Deps) *Handler {
	if d.SessionLifetime <= 0 {
		d.SessionLifetime = 30 * 24 * time.Hour
	}
	return &Handler{Deps: d}
}

//go:embed templates/*.html templates/style.css static/*
var files embed.FS

// Register mounts the web app on r, behind host routing and ahead of the
// public pages (api/public): /tags/:tag is the web app's screen for a
// signed-in viewer and the public page for everyone else.
func (h *Handler) Register(r fiber.Router) {
	css, err := files.ReadFile("templates/style.css")
	if err != nil {
		panic(err) // embedded: cannot happen
	}
	h.pages = page.NewRenderer(string(css), funcs, files, "templates/*.html").Images(h.imageSources).Scripts()
	r.Get("/web/static/:file", h.static)
	r.Get(SignInPath, h.signInPage)
	r.Post(SignInPath, h.signInSubmit)
	r.Post("/auth/sign_out", h.signOut)
	h.registerScreens(r)
	h.registerSettings(r)
}

// SignInPath is the sign-in page (Mastodon's path).
const SignInPath = "/auth/sign_in"

// cookies is the web app's cookie policy: host-only (__Host- on https, so
// no other tenant's subdomain can plant or read one), SameSite=Strict.
func (h *Handler) cookies() page.Cookies {
	return page.Cookies{Area: "web", Secure: h.URL.Scheme == "https"}
}

// Viewer is the signed-in person of a request.
type Viewer struct {
	Site    *tenant.Site
	Token   *oauth.Token
	Account *federation.Account
	// access is the session's access token, for the client API calls.
	access string
}

const viewerKey = "roost.webapp.viewer"

// viewer returns the request's signed-in viewer, or nil.
func viewer(c *fiber.Ctx) *Viewer {
	v, _ := c.Locals(viewerKey).(*Viewer)
	return v
}

// loadViewer resolves the session cookie on the request's tenant: a token
// of another tenant, revoked or unknown, signs nobody in.
func (h *Handler) loadViewer(c *fiber.Ctx) (*Viewer, error) {
	if v := viewer(c); v != nil {
		return v, nil
	}
	tok := h.cookies().SessionToken(c)
	if tok == "" {
		return nil, nil
	}
	site := httpx.SiteOf(c)
	t, err := h.OAuth.Authenticate(c.UserContext(), site.TenantID, tok)
	if err != nil {
		if isAuthError(err) {
			return nil, nil
		}
		return nil, err
	}
	if t.AccountID == 0 {
		return nil, nil
	}
	a, err := h.Accounts.AccountByID(c.UserContext(), t.AccountID)
	if err != nil {
		return nil, err
	}
	if a.TenantID != site.TenantID {
		return nil, nil
	}
	v := &Viewer{Site: site, Token: t, Account: a, access: tok}
	c.Locals(viewerKey, v)
	return v, nil
}

// app wraps a screen: a signed-out request is sent to sign in, and comes
// back to the same path after.
func (h *Handler) app(fn fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		v, err := h.loadViewer(c)
		if err != nil {
			return h.fail(c, err)
		}
		if v == nil {
			if c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead {
				return c.Redirect(SignInPath, fiber.StatusSeeOther) // a form's target is no page to come back to
			}
			return c.Redirect(SignInPath+"?return="+url.QueryEscape(string(c.Request().URI().RequestURI())), fiber.StatusSeeOther)
		}
		return fn(c)
	}
}

// action wraps a form post: it needs a signed-in viewer and the form's
// CSRF token, checked before anything else runs.
func (h *Handler) action(fn fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if !h.csrfOK(c) {
			return h.renderStatus(c, fiber.StatusForbidden, "error", &page.Page{Title: page.ExpiredTitle, Message: page.ExpiredMessage})
		}
		return h.app(fn)(c)
	}
}

// csrfOK checks the posted form's CSRF token (page.Cookies.CheckForm);
// a script's fetch sends it as the form field too.
func (h *Handler) csrfOK(c *fiber.Ctx) bool { return h.cookies().CheckForm(c) }

// view is what every web app template gets.
type view struct {
	page.Page
	// Me is the signed-in viewer (nil on the sign-in page).
	Me *Viewer
	// Nav is the path of the current screen, to mark it in the menu.
	Nav string
	// Data is the screen's own data.
	Data any
	// Return is this page's path and query: where its forms come back to.
	Return string
}

// render answers with the template name showing data; the page's title
// is data's Title field when it has one.
func (h *Handler) render(c *fiber.Ctx, name string, data any) error {
	return h.renderStatus(c, fiber.StatusOK, name, data)
}

// renderStatus is render with a status.
func (h *Handler) renderStatus(c *fiber.Ctx, status int, name string, data any) error {
	v := &view{Page: page.Page{Host: httpx.SiteOf(c).Domain, Title: titleOf(data)}, Me: viewer(c), Nav: c.Path(), Data: data,
		Return: safeReturn(string(c.Request().URI().RequestURI()), "/home")}
	if c.Method() != fiber.MethodGet {
		v.Return = safeReturn(c.FormValue("return"), "/home")
	}
	if p, ok := data.(*page.Page); ok {
		v.Message, v.Home = p.Message, "/home"
	}
	v.CSRF = h.cookies().CSRFToken(c)
	return h.pages.Render(c, status, name, v)
}

// titleOf is data's Title field, or "".
func titleOf(data any) string {
	rv := reflect.Indirect(reflect.ValueOf(data))
	if rv.Kind() == reflect.Struct {
		if f := rv.FieldByName("Title"); f.IsValid() && f.Kind() == reflect.String {
			return f.String()
		}
	}
	return ""
}

// fail answers err as an error page (page.Failure).
func (h *Handler) fail(c *fiber.Ctx, err error) error {
	status, msg := h.failure(c, err)
	if wantsJSON(c) {
		return c.Status(status).JSON(fiber.Map{"error": msg})
	}
	title := "Something went wrong"
	if status == fiber.StatusNotFound {
		title, msg = "Not found", "This page does not exist, or you may not see it."
	}
	return h.renderStatus(c, status, "error", &page.Page{Title: title, Message: msg})
}

// failure is page.Failure, keeping a client API refusal's own 4xx status
// (422 for a post it refused, as the API answers an app).
func (h *Handler) failure(c *fiber.Ctx, err error) (int, string) {
	status, msg := page.Failure(c, h.log(c), "web app request failed", err)
	var ae *apiError
	if errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 {
		status = ae.Status
	}
	return status, msg
}

// log is where server errors go.
func (h *Handler) log(c *fiber.Ctx) *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return httpx.Log(c)
}

// done answers a finished action: 204 to a script (which asked for JSON),
// else a 303 back to the page the form was on.
func (h *Handler) done(c *fiber.Ctx, fallback string) error {
	if wantsJSON(c) {
		return c.SendStatus(fiber.StatusNoContent)
	}
	return c.Redirect(safeReturn(c.FormValue("return"), fallback), fiber.StatusSeeOther)
}

// wantsJSON reports whether the request came from the page's script.
func wantsJSON(c *fiber.Ctx) bool {
	return strings.Contains(c.Get(fiber.HeaderAccept), fiber.MIMEApplicationJSON)
}

// safeReturn is ret when it is a path on this site ("/x", never "//x",
// "/\x" or a scheme), else fallback: no open redirect.
func safeReturn(ret, fallback string) string {
	if ret == "" || len(ret) > 2000 || ret[0] != '/' || strings.HasPrefix(ret, "//") || strings.HasPrefix(ret, "/\\") ||
		strings.ContainsAny(ret, "\\\r\n\t") {
		return fallback
	}
	u, err := url.Parse(ret)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return fallback
	}
	return ret
}

// imageSources is the CSP img-src and media-src: the site's own origin and
// its media origins, as on the public pages; remote media are linked.
func (h *Handler) imageSources(c *fiber.Ctx) []string {
	return append([]string{"'self'"}, h.origins(c)...)
}

// origins are the site's own origin and its actor host's.
func (h *Handler) origins(c *fiber.Ctx) []string {
	out := []string{httpx.SiteBase(c, h.URL)}
	if a := httpx.Links(c, h.URL).Base; a != out[0] {
		out = append(out, a)
	}
	return out
}

// navItem is one entry of the main menu.
type navItem struct {
	Path, Label, Key string
}

// nav is the main menu, in Mastodon's order; Key is its access key.
var nav = []navItem{
	{"/home", "Home", "h"}, {"/notifications", "Notifications", "n"}, {"/public/local", "Local", "l"},
	{"/public", "Federated", "f"}, {"/search", "Search", "s"}, {"/lists", "Lists", ""},
	{"/foryou", "For you", ""}, {"/settings", "Settings", ""}, {"/compose", "Compose", "c"},
}

// postItem is a post with what its forms need: the page's CSRF token and
// where to come back to.
type postItem struct {
	P      *post
	CSRF   string
	Return string
	Focus  bool
}

// composeItem is the compose form with its page's CSRF token and path.
type composeItem struct {
	D      *composeData
	CSRF   string
	Return string
}

var funcs = template.FuncMap{
	"navItems": func() []navItem { return nav },
	"item": func(v *view, p *post) postItem {
		return postItem{P: p, CSRF: v.CSRF, Return: v.Return}
	},
	"focus": func(v *view, p *post) postItem {
		return postItem{P: p, CSRF: v.CSRF, Return: v.Return, Focus: true}
	},
	"composeItem": func(v *view, d *composeData) composeItem {
		return composeItem{D: d, CSRF: v.CSRF, Return: v.Return}
	},
	"date":         page.Date,
	"percent":      page.Percent,
	"visibilities": func() any { return visibilities },
	"languages":    func() any { return languages },
	"pollExpiries": func() any { return pollExpiries },
	"slots": func(vals []string, n int) []string {
		out := make([]string, n)
		copy(out, vals)
		return out
	},
	"deref2": isTrue,
	"deref": func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	},
}
