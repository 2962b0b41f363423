package oauth

import (
	"embed"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/api/page"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/ratelimit"
	"github.com/roost-social/roost/tenant/oauth"
)

//go:embed templates/*.html
var templateFS embed.FS

// pageCSS is the pages' only style; the CSP allows it by hash, so no
// other inline style or script can run.
const pageCSS = `body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f4f6;color:#1c1c22}
main{max-width:26rem;margin:3rem auto;padding:1.5rem 2rem;background:#fff;border-radius:12px;box-shadow:0 1px 4px #0002}
h1{font-size:1.35rem;margin:0 0 1rem}.scopes{padding-left:1.2rem}.website,.site,.note{color:#666;font-size:.9rem}
label{display:block;margin:.8rem 0 .2rem;font-weight:600}
input{box-sizing:border-box;width:100%;padding:.5rem;font:inherit;border:1px solid #bbb;border-radius:6px}
.buttons{display:flex;gap:.75rem;margin-top:1.25rem}
button{flex:1;padding:.6rem;font:inherit;font-weight:600;border:0;border-radius:6px;background:#4c4cd8;color:#fff;cursor:pointer}
button.deny{background:#e4e4ea;color:#1c1c22}.error{color:#b00020;font-weight:600}.code{font-family:monospace}`

// pages keep their opener: apps sign in through a pop-up (page.KeepOpener).
var pages = page.NewRenderer(pageCSS, nil, templateFS, "templates/*.html").KeepOpener()

// view is what the templates render: the fields every page has and the
// authorization page's own.
type view struct {
	page.Page
	App    *oauth.App
	Scopes []string
	Req    authRequest
	Email  string
	Error  string
	Code   string
	// Challenge is the second step of a sign-in whose password was right
	// (factor.go): the form asks for the code instead.
	Challenge string
}

// authRequest is an authorization request's parameters (RFC 6749 §4.1.1,
// RFC 7636 §4.3).
type authRequest struct {
	ResponseType, ClientID, RedirectURI, Scope, State, CodeChallenge, CodeChallengeMethod string
	// Repeated names a parameter given more than once (RFC 6749 §3.1
	// forbids it), which is refused: which copy counts must not depend
	// on who reads it.
	Repeated string
}

var authParams = []string{"response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method"}

// readAuthRequest reads the parameters through get (first value) and
// count (how many values a name has).
func readAuthRequest(get func(string) string, count func(string) int) authRequest {
	r := authRequest{
		ResponseType:        get("response_type"),
		ClientID:            get("client_id"),
		RedirectURI:         get("redirect_uri"),
		Scope:               get("scope"),
		State:               get("state"),
		CodeChallenge:       get("code_challenge"),
		CodeChallengeMethod: get("code_challenge_method"),
	}
	for _, name := range authParams {
		if count(name) > 1 {
			r.Repeated = name
			break
		}
	}
	return r
}

// maxState bounds the state echoed back to the client.
const maxState = 2000

// authorizePage is GET /oauth/authorize: the consent and login page.
// force_login and lang are accepted and ignored: there is no session to
// reuse, so the login is always asked for, and the page is in English.
func (h *Handler) authorizePage(c *fiber.Ctx) error {
	q := c.Request().URI().QueryArgs()
	r := readAuthRequest(func(k string) string { return c.Query(k) }, func(k string) int { return len(q.PeekMulti(k)) })
	app, scopes, done, err := h.check(c, r)
	if done {
		return err
	}
	return h.renderForm(c, fiber.StatusOK, app, scopes, r, "", "")
}

// authorizeSubmit is POST /oauth/authorize: the form's Authorize or Deny.
func (h *Handler) authorizeSubmit(c *fiber.Ctx) error {
	p, err := readParams(c, false)
	if err != nil {
		return h.errorPage(c, fiber.StatusBadRequest, "Bad request", "The form could not be read.")
	}
	if !h.cookies().CheckCSRF(c, p.get(page.CSRFField)) {
		return h.errorPage(c, fiber.StatusForbidden, page.ExpiredTitle,
			"This form expired or was not sent from this site. Go back to the application and start again.")
	}
	r := readAuthRequest(p.get, func(k string) int { return len(p[k]) })
	app, scopes, done, err := h.check(c, r)
	if done {
		return err
	}
	if p.get("decision") != "approve" {
		return h.redirectError(c, r, oauth.ErrAccessDenied, "The resource owner or authorization server denied the request.")
	}
	accountID, done, err := h.signIn(c, p, app, scopes, r) // factor.go: the password, then the code when asked
	if done {
		return err
	}
	code, err := h.OAuth.Authorize(c.UserContext(), app, accountID, r.RedirectURI, r.Scope, r.CodeChallenge, r.CodeChallengeMethod)
	if e, ok := oauth.AsError(err); ok {
		return h.redirectError(c, r, e.Code, e.Description)
	}
	if err != nil {
		return h.serverError(c, err)
	}
	if r.RedirectURI == oauth.OOB {
		return h.render(c, fiber.StatusOK, "code", &view{Page: page.Page{Title: "Authorization code"}, App: app, Code: code})
	}
	return h.redirect(c, r, url.Values{"code": {code}})
}

// check validates an authorization request; done says it answered. An
// invalid one — unknown client, unregistered redirect URI, unsupported
// response type, bad scope, state or PKCE — is refused on a page of this
// site, never by a redirect (SECURITY 26, issue 14 finding 10): anyone
// may register an app with any redirect URI, so sending the browser there
// without the user acting, even with RFC 6749 §4.1.2.1's error redirect
// for a valid client and URI, makes this host an open redirector (RFC
// 9700 §4.11.2 lets the server rely on the user instead). The browser
// goes to the app only after the user approves or denies on the page.
func (h *Handler) check(c *fiber.Ctx, r authRequest) (*oauth.App, oauth.Scopes, bool, error) {
	refuse := func(title, code, message string) (*oauth.App, oauth.Scopes, bool, error) {
		return nil, nil, true, h.errorPage(c, fiber.StatusBadRequest, title, message+" ("+code+")")
	}
	if r.Repeated != "" {
		return refuse("Invalid request", oauth.ErrInvalidRequest, "The parameter "+r.Repeated+" is given more than once.")
	}
	app, err := h.OAuth.AppByClientID(c.UserContext(), httpx.SiteOf(c).TenantID, r.ClientID)
	if errs.Is(err, errs.NotFound) {
		return refuse("Unknown application", oauth.ErrInvalidClient, "The client_id is not an application registered on this site.")
	}
	if err != nil {
		return nil, nil, true, h.serverError(c, err)
	}
	if !app.AllowsRedirectURI(r.RedirectURI) {
		return refuse("Invalid redirect URI", oauth.ErrInvalidRequest,
			"The redirect_uri is not one this application registered, so you were not sent back to it.")
	}
	if len(r.State) > maxState {
		return refuse("Invalid request", oauth.ErrInvalidRequest, "The state is too long.")
	}
	if r.ResponseType != "code" {
		return refuse("Unsupported response type", oauth.ErrUnsupportedResponseType,
			"This server supports only response_type=code, the authorization code flow.")
	}
	scopes, err := h.OAuth.CheckAuthorization(app, r.RedirectURI, r.Scope, r.CodeChallenge, r.CodeChallengeMethod)
	if e, ok := oauth.AsError(err); ok {
		return refuse("Invalid request", e.Code, e.Description)
	}
	if err != nil {
		return nil, nil, true, h.serverError(c, err)
	}
	return app, scopes, false, nil
}

// refused answers a throttled sign-in: 429 (or 503) with Retry-After.
func (h *Handler) refused(c *fiber.Ctx, err error) error {
	if after, ok := ratelimit.RetryAfter(err); ok {
		c.Set(fiber.HeaderRetryAfter, after)
	}
	if errs.Is(err, errs.TooMany) {
		return h.errorPage(c, fiber.StatusTooManyRequests, "Too many attempts", errs.MessageOf(err))
	}
	return h.serverError(c, err)
}

func (h *Handler) renderForm(c *fiber.Ctx, status int, app *oauth.App, scopes oauth.Scopes, r authRequest, email, errMsg string) error {
	r.Scope = scopes.String()
	words := make([]string, len(scopes))
	for i, s := range scopes {
		words[i] = scopeText(s)
	}
	v := &view{Page: page.Page{Title: "Authorize " + app.Name}, App: app, Scopes: words, Req: r, Email: email, Error: errMsg}
	v.CSRF = h.cookies().CSRFToken(c) // the form's: no other page sets a cookie
	return h.render(c, status, "authorize", v, formActionSource(r.RedirectURI)...)
}

// redirectError sends the user back to the app with an error (RFC 6749
// §4.1.2.1), or, for an out-of-band app, shows it. Only after the user
// acted on the page (denied, or approved a request the code then
// refused), for a client and redirect URI already checked.
func (h *Handler) redirectError(c *fiber.Ctx, r authRequest, code, description string) error {
	if r.RedirectURI == oauth.OOB {
		return h.errorPage(c, fiber.StatusBadRequest, "Authorization failed", description)
	}
	return h.redirect(c, r, url.Values{"error": {code}, "error_description": {description}})
}

// redirect sends the user to the (verified) redirect URI with v and the
// state added to its query.
func (h *Handler) redirect(c *fiber.Ctx, r authRequest, v url.Values) error {
	if r.State != "" {
		v.Set("state", r.State)
	}
	sep := "?"
	if strings.Contains(r.RedirectURI, "?") {
		sep = "&"
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	return c.Redirect(r.RedirectURI+sep+v.Encode(), fiber.StatusFound)
}

func (h *Handler) errorPage(c *fiber.Ctx, status int, title, message string) error {
	return h.render(c, status, "error", &view{Page: page.Page{Title: title, Message: message}})
}

// serverError logs err and shows a page for it.
func (h *Handler) serverError(c *fiber.Ctx, err error) error {
	status, msg := page.Failure(c, h.log(c), "oauth authorization failed", err)
	return h.errorPage(c, status, "Error", msg)
}

// render writes a page (page.Renderer: its headers and CSP); formAction
// adds where its form may lead besides this site: the redirect target,
// as browsers apply form-action to the redirect a form post gets.
func (h *Handler) render(c *fiber.Ctx, status int, name string, v *view, formAction ...string) error {
	v.Host = httpx.SiteOf(c).Domain
	return pages.Render(c, status, name, v, formAction...)
}

// formActionSource is the CSP source for a redirect URI's origin; none
// for OOB or anything that would not be a clean source expression.
func formActionSource(redirectURI string) []string {
	if redirectURI == oauth.OOB {
		return nil
	}
	u, err := url.Parse(redirectURI)
	if err != nil || !cspSafe(u.Scheme, false) {
		return nil
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return []string{scheme + ":"}
	}
	if u.Host == "" || !cspSafe(u.Host, true) {
		return nil
	}
	return []string{scheme + "://" + u.Host}
}

func cspSafe(s string, host bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '+':
		case host && (c == ':' || c == '[' || c == ']'):
		default:
			return false
		}
	}
	return s != ""
}

// cookies is the authorization page's cookie policy (page.Cookies): its
// only cookie is the CSRF token's, for the whole host, and SameSite=Lax,
// as apps open the page from other sites and a browser's other open
// authorization pages must keep their token.
func (h *Handler) cookies() page.Cookies {
	return page.Cookies{Area: "oauth", Secure: h.URL.Scheme == "https", CrossSite: true}
}

// scopeText says what a scope grants, in words.
func scopeText(scope string) string {
	if t, ok := scopeWords[scope]; ok {
		return t
	}
	parts := strings.Split(scope, ":")
	what := strings.ReplaceAll(parts[len(parts)-1], "_", " ")
	if what == "statuses" {
		what = "posts"
	}
	switch {
	case len(parts) == 3 && parts[1] == "read":
		return "Read " + what + " on the whole server (moderation)"
	case len(parts) == 3 && parts[1] == "write":
		return "Moderate " + what + " on the whole server"
	case parts[0] == "read":
		return "See your " + what
	case parts[0] == "write":
		return "Change your " + what
	}
	return scope
}

var scopeWords = map[string]string{
	"read":             "Read all your account's data",
	"write":            "Change all your account's data",
	"follow":           "Follow, unfollow, block and mute accounts",
	"push":             "Receive your push notifications",
	"profile":          "See your profile (only)",
	"admin:read":       "Read all data on the server (moderation)",
	"admin:write":      "Take moderation actions on the server",
	"write:statuses":   "Publish, edit and delete your posts",
	"write:media":      "Upload media files",
	"write:reports":    "Report other accounts",
	"write:favourites": "Favourite posts",
	"write:bookmarks":  "Bookmark posts",
}
