package webapp

import (
	"fmt"
	"html/template"
	"strings"

	"github.com/boombuler/barcode/qr"
	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/api/page"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/ratelimit"
	"github.com/roost-social/roost/tenant/factor"
)

// Two-factor sign-in (Mastodon's /settings/otp_authentication): enrol an
// authenticator app (QR code, or the otpauth URI and the secret typed),
// confirm with a code, keep the recovery codes shown once, switch it off
// with a code. With it on, the web app's sign-in and the OAuth
// authorization page ask for a code after the password (SignInFactorPath).

// SignInFactorPath is the web sign-in's second step.
const SignInFactorPath = "/auth/sign_in/otp"

func (h *Handler) registerFactors(r fiber.Router) {
	if h.Settings.Factors == nil {
		return
	}
	r.Get("/settings/otp_authentication", h.app(h.otpPage))
	r.Post("/settings/otp_authentication/begin", h.action(h.otpBegin))
	r.Post("/settings/otp_authentication/confirm", h.action(h.otpConfirm))
	r.Post("/settings/otp_authentication/disable", h.action(h.otpDisable))
	r.Post(SignInFactorPath, h.signInFactor)
}

// otpData is the page's.
type otpData struct {
	settingsData
	Status factor.Status
	QR     template.HTML
	// Recovery are the codes just made, shown this once.
	Recovery []string
}

func (h *Handler) otpPage(c *fiber.Ctx) error { return h.showOTP(c, nil, "") }

func (h *Handler) showOTP(c *fiber.Ctx, recovery []string, msg string) error {
	v := viewer(c)
	st, err := h.Settings.Factors.Status(c.UserContext(), v.Account.ID, v.Site.Domain, v.Account.Username+"@"+v.Account.Domain)
	if err != nil {
		return h.fail(c, err)
	}
	d := &otpData{settingsData: settingsBase(c, "Two-factor sign-in"), Status: st, Recovery: recovery}
	d.Error = msg
	if st.Enrolment != nil {
		d.QR = qrSVG(st.Enrolment.URI)
	}
	return h.renderSettings(c, "settings_otp", d, msg)
}

func (h *Handler) otpBegin(c *fiber.Ctx) error {
	if err := h.Settings.Factors.Begin(c.UserContext(), viewer(c).Account.ID); err != nil {
		return h.fail(c, err)
	}
	return c.Redirect("/settings/otp_authentication", fiber.StatusSeeOther)
}

func (h *Handler) otpConfirm(c *fiber.Ctx) error {
	codes, err := h.Settings.Factors.Confirm(c.UserContext(), viewer(c).Account.ID, c.FormValue("code"))
	if errs.Is(err, errs.Invalid) {
		return h.showOTP(c, nil, errs.MessageOf(err))
	}
	if err != nil {
		return h.fail(c, err)
	}
	return h.showOTP(c, codes, "")
}

func (h *Handler) otpDisable(c *fiber.Ctx) error {
	err := h.Settings.Factors.Disable(c.UserContext(), viewer(c).Account.ID, c.FormValue("code"))
	if errs.Is(err, errs.Invalid) || errs.Is(err, errs.Unauthorized) {
		return h.showOTP(c, nil, errs.MessageOf(err))
	}
	if err != nil {
		return h.fail(c, err)
	}
	return c.Redirect("/settings/otp_authentication?done=otp-off", fiber.StatusSeeOther)
}

// factorData is the sign-in's second step.
type factorData struct {
	Title     string
	Challenge string
	Return    string
	Error     string
}

// secondFactor is called by the sign-in once the password was right:
// with two-factor sign-in on, it answers the code form (done) instead of
// signing in.
func (h *Handler) secondFactor(c *fiber.Ctx, accountID int64, ret string) (done bool, err error) {
	if h.Settings.Factors == nil {
		return false, nil
	}
	on, err := h.Settings.Factors.Required(c.UserContext(), accountID)
	if err != nil || !on {
		return err != nil, h.failIf(c, err)
	}
	ch, err := h.Settings.Factors.Challenge(c.UserContext(), httpx.SiteOf(c).TenantID, accountID)
	if err != nil {
		return true, h.fail(c, err)
	}
	return true, h.render(c, "settings_otp_signin", &factorData{Title: "Two-factor sign-in", Challenge: ch, Return: ret})
}

func (h *Handler) failIf(c *fiber.Ctx, err error) error {
	if err == nil {
		return nil
	}
	return h.fail(c, err)
}

// signInFactor is POST /auth/sign_in/otp: the CSRF token, the challenge
// (this tenant's, unexpired), the code throttle per account, then the
// code; a session as the password sign-in gives.
func (h *Handler) signInFactor(c *fiber.Ctx) error {
	if !h.csrfOK(c) {
		return h.renderStatus(c, fiber.StatusForbidden, "error", &page.Page{Title: page.ExpiredTitle, Message: page.ExpiredMessage})
	}
	site, ctx := httpx.SiteOf(c), c.UserContext()
	d := &factorData{Title: "Two-factor sign-in", Challenge: c.FormValue("challenge"), Return: safeReturn(c.FormValue("return"), "/home")}
	accountID, err := h.Settings.Factors.Opened(ctx, site.TenantID, d.Challenge)
	if err != nil {
		return h.renderStatus(c, fiber.StatusUnauthorized, "signin", &signInData{Title: "Sign in", Error: errs.MessageOf(err), Return: d.Return})
	}
	answered, err := h.SignIn.Code(ctx, httpx.ClientIP(c), accountID)
	if err != nil {
		if after, ok := ratelimit.RetryAfter(err); ok {
			c.Set(fiber.HeaderRetryAfter, after)
		}
		return h.fail(c, err)
	}
	_, err = h.Settings.Factors.Answer(ctx, site.TenantID, d.Challenge, c.FormValue("code"))
	answered(err == nil)
	if errs.Is(err, errs.Unauthorized) || errs.Is(err, errs.Invalid) {
		d.Error = errs.MessageOf(err)
		return h.renderStatus(c, fiber.StatusUnprocessableEntity, "settings_otp_signin", d)
	}
	if err != nil {
		return h.fail(c, err)
	}
	g, err := h.OAuth.SignInWeb(ctx, site.TenantID, accountID)
	if err != nil {
		return h.fail(c, err)
	}
	h.cookies().StartSession(c, g.AccessToken, h.SessionLifetime)
	return c.Redirect(d.Return, fiber.StatusSeeOther)
}

// qrSVG draws text as a QR code in SVG markup (one path, no style), so
// the page needs no image source and no outside service.
func qrSVG(text string) template.HTML {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return ""
	}
	n := code.Bounds().Dx()
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="otp-qr" viewBox="-4 -4 %d %d" width="200" height="200" role="img" aria-label="QR code of the key" xmlns="http://www.w3.org/2000/svg"><rect x="-4" y="-4" width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n+8, n+8, n+8, n+8)
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			if r, _, _, _ := code.At(x, y).RGBA(); r == 0 {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x, y)
			}
		}
	}
	b.WriteString(`"/></svg>`)
	return template.HTML(b.String()) // numbers only
}
