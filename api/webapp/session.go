package webapp

import (
	"mime"
	"path"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/api/page"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/ratelimit"
)

// signInData is the sign-in page's.
type signInData struct {
	Title  string
	Email  string
	Error  string
	Return string
}

// signInPage is GET /auth/sign_in; a signed-in viewer goes on at once.
func (h *Handler) signInPage(c *fiber.Ctx) error {
	ret := safeReturn(c.Query("return"), "/home")
	v, err := h.loadViewer(c)
	if err != nil {
		return h.fail(c, err)
	}
	if v != nil {
		return c.Redirect(ret, fiber.StatusSeeOther)
	}
	return h.render(c, "signin", &signInData{Title: "Sign in", Return: ret})
}

// signInSubmit is POST /auth/sign_in: the CSRF token, then the sign-in
// throttle (before any password hashing, as the OAuth page), then the
// password; a session token of the tenant's web app for the account.
func (h *Handler) signInSubmit(c *fiber.Ctx) error {
	if !h.csrfOK(c) {
		return h.renderStatus(c, fiber.StatusForbidden, "error", &page.Page{Title: page.ExpiredTitle, Message: page.ExpiredMessage})
	}
	site, ctx := httpx.SiteOf(c), c.UserContext()
	d := &signInData{Title: "Sign in", Email: c.FormValue("email"), Return: safeReturn(c.FormValue("return"), "/home")}
	signedIn, err := h.SignIn.Password(ctx, httpx.ClientIP(c), d.Email)
	if err != nil {
		if after, ok := ratelimit.RetryAfter(err); ok {
			c.Set(fiber.HeaderRetryAfter, after)
		}
		if errs.Is(err, errs.TooMany) {
			d.Error = errs.MessageOf(err)
			return h.renderStatus(c, fiber.StatusTooManyRequests, "signin", d)
		}
		return h.fail(c, err)
	}
	accountID, _, err := h.Logins.Login(ctx, site.TenantID, site.Domain, d.Email, c.FormValue("password"))
	signedIn(err == nil)
	if errs.Is(err, errs.Unauthorized) {
		d.Error = errs.MessageOf(err)
		return h.renderStatus(c, fiber.StatusUnprocessableEntity, "signin", d)
	}
	if err != nil {
		return h.fail(c, err)
	}
	if asked, err := h.secondFactor(c, accountID, d.Return); asked { // settings_otp.go: the code, when on
		return err
	}
	g, err := h.OAuth.SignInWeb(ctx, site.TenantID, accountID)
	if err != nil {
		return h.fail(c, err)
	}
	h.cookies().StartSession(c, g.AccessToken, h.SessionLifetime)
	return c.Redirect(d.Return, fiber.StatusSeeOther)
}

// signOut is POST /auth/sign_out: the session's token is revoked, so a
// copy of the cookie signs nobody in after, and the cookie deleted.
func (h *Handler) signOut(c *fiber.Ctx) error {
	if !h.csrfOK(c) {
		return h.renderStatus(c, fiber.StatusForbidden, "error", &page.Page{Title: page.ExpiredTitle, Message: page.ExpiredMessage})
	}
	if tok := h.cookies().SessionToken(c); tok != "" {
		if err := h.OAuth.SignOutWeb(c.UserContext(), httpx.SiteOf(c).TenantID, tok); err != nil {
			return h.fail(c, err)
		}
	}
	h.cookies().EndSession(c)
	return c.Redirect(SignInPath, fiber.StatusSeeOther)
}

// static serves the package's script and icons, cacheable for a day.
func (h *Handler) static(c *fiber.Ctx) error {
	name := path.Base(c.Params("file"))
	b, err := files.ReadFile("static/" + name)
	if err != nil || name == "." || name == "/" {
		return c.SendStatus(fiber.StatusNotFound)
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = fiber.MIMEOctetStream
	}
	c.Set(fiber.HeaderContentType, ct)
	c.Set(fiber.HeaderCacheControl, "public, max-age=86400")
	httpx.SecureHeaders(c)
	return c.Send(b)
}
