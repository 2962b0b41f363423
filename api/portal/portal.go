// Package portal is the signup portal served on the portal host
// (ROOST_PORTAL_HOST): server-rendered pages where a newcomer creates a
// tenant and login, claims a domain (a subdomain of the base domain, their
// own, or a split handle/service pair), is shown the exact DNS records and
// redirects to set up and their status, and creates a first account.
//
// Plain forms, no script: every form carries a CSRF token, pages have a
// strict CSP, and a half-finished signup is resumed by signing in (a
// server-side session behind an HttpOnly, SameSite=Lax cookie, Secure with
// https): api/page keeps those rules for every area. Every POST redirects
// on success, so reloading never re-submits, and the store makes a
// re-submitted form find what the first created.
package portal

import (
	"context"
	"embed"
	"html/template"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/api/page"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/ratelimit"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/verify"
)

// Accounts creates a tenant's account owned by the login with email,
// whose password must match (the path `roost account create` takes).
type Accounts interface {
	CreateAccount(ctx context.Context, domain, username, email, password string) (*federation.Account, error)
}

// DefaultRules are the instance rules a newcomer accepts when none are
// configured.
var DefaultRules = []string{
	"Be kind. No harassment, threats, or hate against people for who they are.",
	"Nothing illegal, and no sexual content involving minors, ever.",
	"Mark sensitive media and content warnings where others would expect them.",
	"No spam, no mass automated posting, no impersonation.",
	"The operator may suspend sites that break these rules.",
}

// Handler serves the portal. Its fields are read-only after Register.
type Handler struct {
	Signups  *verify.Signups
	Accounts Accounts
	// Host is the portal's normalised host name; requests for any other
	// Host pass through to host routing.
	Host string
	// URL says whether cookies are Secure (Scheme https).
	URL   httpx.URLConfig
	Rules []string
	Log   *slog.Logger
	// Billing shows plans, payment, usage and the open books (plans.go);
	// nil hides them.
	Billing *Billing
	// SignIn throttles every form that checks a password (start, sign
	// in, first account) per client address and per login, on every
	// node, before the password is checked (signin.go); nil throttles
	// nothing (tests).
	SignIn *ratelimit.Guard
}

// Register mounts the portal on r in front of host routing.
func (h *Handler) Register(r fiber.Router) { r.Use(h.route) }

type route func(h *Handler, c *fiber.Ctx) error

var routes = map[string]route{
	"GET /":                (*Handler).front,
	"POST /start":          (*Handler).start,
	"GET /login":           (*Handler).loginPage,
	"POST /login":          (*Handler).login,
	"POST /logout":         (*Handler).logout,
	"GET /site":            (*Handler).site,
	"POST /site/subdomain": (*Handler).chooseSubdomain,
	"POST /site/own":       (*Handler).chooseOwn,
	"POST /site/split":     (*Handler).chooseSplit,
	"POST /site/check":     (*Handler).check,
	"POST /site/release":   (*Handler).release,
	"POST /site/account":   (*Handler).createAccount,
}

// route answers requests for the portal host and passes every other on.
func (h *Handler) route(c *fiber.Ctx) error {
	host, err := tenant.NormalizeHost(c.Hostname())
	if err != nil || host != h.Host {
		return c.Next()
	}
	method := c.Method()
	if method == fiber.MethodHead {
		method = fiber.MethodGet
	}
	fn, ok := routes[method+" "+c.Path()]
	if !ok {
		return h.errorPage(c, fiber.StatusNotFound, "Not found", "There is no such page on the portal.")
	}
	if method == fiber.MethodPost && !h.cookies().CheckForm(c) {
		return h.errorPage(c, fiber.StatusForbidden, page.ExpiredTitle, page.ExpiredMessage)
	}
	return fn(h, c)
}

func (h *Handler) log(c *fiber.Ctx) *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return httpx.Log(c)
}

// pageCSS is the pages' only style; the CSP allows it by hash, so no
// other inline style or script can run.
const pageCSS = `body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f4f6;color:#1c1c22}
main{max-width:44rem;margin:2rem auto;padding:1.5rem 2rem;background:#fff;border-radius:12px;box-shadow:0 1px 4px #0002}
h1{font-size:1.5rem;margin:0 0 1rem}h2{font-size:1.2rem;margin:1.5rem 0 .5rem}h3{font-size:1.05rem;margin:1.2rem 0 .3rem}
section{border-top:1px solid #e4e4ea;margin-top:1rem}label{display:block;margin:.8rem 0 .2rem;font-weight:600}
label.check{font-weight:400}label.check input{width:auto;margin-right:.4rem}
input{box-sizing:border-box;width:100%;padding:.5rem;font:inherit;border:1px solid #bbb;border-radius:6px}
.suffix{display:flex;align-items:center;gap:.3rem}.suffix input{flex:1}.suffix span{color:#555;white-space:nowrap}
.buttons{display:flex;gap:.75rem;margin-top:1rem}
button{flex:1;padding:.6rem;font:inherit;font-weight:600;border:0;border-radius:6px;background:#4c4cd8;color:#fff;cursor:pointer}
button.deny{background:#e4e4ea;color:#1c1c22}button.link{background:none;color:#4c4cd8;padding:0;font-weight:400;flex:none}
form.inline{display:inline;margin:0}.error{color:#b00020;font-weight:600;margin:.3rem 0}.note,.site{color:#666;font-size:.9rem}
.site{margin-top:1.2rem}.notice{background:#fff6d6;padding:.6rem .8rem;border-radius:6px}
table.records{border-collapse:collapse;width:100%;font-size:.9rem}table.records th,table.records td{text-align:left;padding:.4rem;border-bottom:1px solid #e4e4ea;vertical-align:top}
table.records tr.ok td.status{color:#0a7a2f}td.status{color:#b00020}code{word-break:break-all;font-size:.85rem}
.big code{font-size:1.3rem}.rules{padding-left:1.2rem}`

//go:embed templates/*.html
var templateFS embed.FS

// fieldRef is what the "err" template gets: the page's errors and a field.
type fieldRef struct {
	Errors verify.FieldErrors
	Field  string
}

var pages = page.NewRenderer(pageCSS, template.FuncMap{
	"field": func(v *view, name string) fieldRef { return fieldRef{Errors: v.Errors, Field: name} },
}, templateFS, "templates/*.html")

// view is what the templates render: the fields every page has and the
// portal's own.
type view struct {
	page.Page
	Errors    verify.FieldErrors
	Form      map[string]string
	Invite    bool
	Approval  bool
	Rules     []string
	Base      string
	Signup    *verify.Signup
	Claim     *verify.Claim
	Rows      []row
	Pending   bool
	AppDomain string
	// WebSignIn is the new site's web sign-in page (api/webapp).
	WebSignIn string
	// NextCheck is the next background check, when still to come.
	NextCheck *time.Time
	// Billing is the plans, usage and books pages' content (plans.go).
	Billing *billingView
}

// titled is a view's common part with its title.
func titled(title string) page.Page { return page.Page{Title: title} }

// row is one record to set up with its last check.
type row struct {
	verify.Record
	Checked, OK bool
	Status      string
}

// render writes a page (page.Renderer: its headers and CSP); formAction
// adds where its forms may lead besides the portal.
func (h *Handler) render(c *fiber.Ctx, status int, name string, v *view, formAction ...string) error {
	v.Host = h.Host
	v.CSRF = h.cookies().CSRFToken(c)
	if v.Form == nil {
		v.Form = map[string]string{}
	}
	return pages.Render(c, status, name, v, formAction...)
}

func (h *Handler) errorPage(c *fiber.Ctx, status int, title, message string) error {
	v := &view{Page: page.Page{Title: title, Message: message, Home: "/"}}
	return h.render(c, status, "error", v)
}

// serverError logs err and shows a page for it.
func (h *Handler) serverError(c *fiber.Ctx, err error) error {
	status, msg := page.Failure(c, h.log(c), "portal request failed", err)
	return h.errorPage(c, status, "Error", msg)
}

// cookies is the portal's cookie policy: the whole host, and SameSite=Lax
// (page.Cookies): a newcomer comes back from the payment provider's
// pages and must find their session.
func (h *Handler) cookies() page.Cookies {
	return page.Cookies{Area: "portal", Secure: h.URL.Scheme == "https", CrossSite: true}
}

// csrfCookie is the CSRF cookie's name before its https prefix.
var csrfCookie = page.BaseName("portal", page.CSRF)

// signup returns the session's signup, or nil when not signed in.
func (h *Handler) signup(c *fiber.Ctx) (*verify.Signup, error) {
	tok := h.cookies().SessionToken(c)
	if tok == "" {
		return nil, nil
	}
	sg, err := h.Signups.SessionSignup(c.UserContext(), tok)
	if errs.Is(err, errs.NotFound) {
		return nil, nil
	}
	return sg, err
}

// signIn starts a fresh session (never reusing one a browser brought).
func (h *Handler) signIn(c *fiber.Ctx, sg *verify.Signup) error {
	tok, err := h.Signups.NewSession(c.UserContext(), sg.UserID)
	if err != nil {
		return err
	}
	h.cookies().StartSession(c, tok, verify.SessionLifetime)
	return nil
}

// now is the portal's clock: its signups' (verify.Signups.Now), so the
// pages and the sessions they start agree on the time.
func (h *Handler) now() time.Time {
	if h.Signups != nil && h.Signups.Now != nil {
		return h.Signups.Now()
	}
	return time.Now()
}

func seeSite(c *fiber.Ctx) error { return c.Redirect("/site", fiber.StatusSeeOther) }

func (h *Handler) rules() []string {
	if len(h.Rules) > 0 {
		return h.Rules
	}
	return DefaultRules
}
