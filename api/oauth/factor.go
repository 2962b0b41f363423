package oauth

import (
	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/api/page"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant/oauth"
)

// signIn checks who approves: the email and password, throttled before
// the password is hashed (issue 14 finding 7); for an account with
// two-factor sign-in on (Factors), the form comes back asking for a code
// with a sealed challenge instead of the password, and the code is
// checked, throttled per account, when it is posted. done says signIn
// answered (a form again, a refusal).
func (h *Handler) signIn(c *fiber.Ctx, p params, app *oauth.App, scopes oauth.Scopes, r authRequest) (int64, bool, error) {
	site, ctx := httpx.SiteOf(c), c.UserContext()
	if ch := p.get("factor_challenge"); ch != "" && h.Factors != nil {
		return h.answerFactor(c, p, app, scopes, r, ch)
	}
	email := p.get("email")
	signedIn, err := h.SignIn.Password(ctx, httpx.ClientIP(c), email)
	if err != nil {
		return 0, true, h.refused(c, err)
	}
	accountID, _, err := h.Logins.Login(ctx, site.TenantID, site.Domain, email, p.get("password"))
	signedIn(err == nil)
	if errs.Is(err, errs.Unauthorized) {
		return 0, true, h.renderForm(c, fiber.StatusUnprocessableEntity, app, scopes, r, email, errs.MessageOf(err))
	}
	if err != nil {
		return 0, true, h.serverError(c, err)
	}
	if h.Factors == nil {
		return accountID, false, nil
	}
	on, err := h.Factors.Required(ctx, accountID)
	if err != nil {
		return 0, true, h.serverError(c, err)
	}
	if !on {
		return accountID, false, nil
	}
	ch, err := h.Factors.Challenge(ctx, site.TenantID, accountID)
	if err != nil {
		return 0, true, h.serverError(c, err)
	}
	return 0, true, h.renderFactor(c, fiber.StatusOK, app, scopes, r, ch, "")
}

// answerFactor is the second step: the challenge (this tenant's, live),
// the per-account code throttle, then the code.
func (h *Handler) answerFactor(c *fiber.Ctx, p params, app *oauth.App, scopes oauth.Scopes, r authRequest, ch string) (int64, bool, error) {
	site, ctx := httpx.SiteOf(c), c.UserContext()
	accountID, err := h.Factors.Opened(ctx, site.TenantID, ch)
	if err != nil {
		return 0, true, h.renderForm(c, fiber.StatusUnprocessableEntity, app, scopes, r, "", errs.MessageOf(err))
	}
	answered, err := h.SignIn.Code(ctx, httpx.ClientIP(c), accountID)
	if err != nil {
		return 0, true, h.refused(c, err)
	}
	_, err = h.Factors.Answer(ctx, site.TenantID, ch, p.get("otp"))
	answered(err == nil)
	if errs.Is(err, errs.Unauthorized) || errs.Is(err, errs.Invalid) {
		return 0, true, h.renderFactor(c, fiber.StatusUnprocessableEntity, app, scopes, r, ch, errs.MessageOf(err))
	}
	if err != nil {
		return 0, true, h.serverError(c, err)
	}
	return accountID, false, nil
}

// renderFactor shows the authorization form asking for the code.
func (h *Handler) renderFactor(c *fiber.Ctx, status int, app *oauth.App, scopes oauth.Scopes, r authRequest, ch, errMsg string) error {
	r.Scope = scopes.String()
	words := make([]string, len(scopes))
	for i, s := range scopes {
		words[i] = scopeText(s)
	}
	v := &view{Page: page.Page{Title: "Authorize " + app.Name}, App: app, Scopes: words, Req: r, Error: errMsg, Challenge: ch}
	v.CSRF = h.cookies().CSRFToken(c)
	return h.render(c, status, "authorize", v, formActionSource(r.RedirectURI)...)
}
