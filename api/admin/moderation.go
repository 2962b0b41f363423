package admin

import (
	"crypto/subtle"
	"fmt"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/boombuler/barcode/qr"
	"github.com/gofiber/fiber/v2"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

// moderationRoutes are accounts, roles and two-factor sign-in.
var moderationRoutes = []route{
	{"GET", "/login/code", 0, (*Handler).codePage},
	{"POST", "/login/code", 0, (*Handler).code},
	{"POST", "/reports/assign", ManageReports, (*Handler).assign},
	{"POST", "/reports/forward", ManageReports, (*Handler).forward},
	{"GET", "/accounts", ManageUsers, (*Handler).accounts},
	{"GET", "/account", ManageUsers, (*Handler).account},
	{"POST", "/accounts/act", ManageUsers, (*Handler).act},
	{"POST", "/accounts/reset-password", ManageUsers, (*Handler).resetPassword},
	{"POST", "/accounts/disable-2fa", ManageUsers, (*Handler).disableTOTP},
	{"GET", "/roles", ManageRoles, (*Handler).roles},
	{"POST", "/roles/grant", ManageRoles, (*Handler).grant},
	{"POST", "/roles/revoke", ManageRoles, (*Handler).revoke},
	{"GET", "/2fa", ViewDashboard, (*Handler).totpPage},
	{"POST", "/2fa/begin", ViewDashboard, (*Handler).totpBegin},
	{"POST", "/2fa/confirm", ViewDashboard, (*Handler).totpConfirm},
}

type accountsData struct {
	Query, Origin string
	Accounts      []tenant.AccountRow
}

func (h *Handler) accounts(c *fiber.Ctx, s *session) error {
	d := &accountsData{Query: strings.TrimSpace(c.Query("q")), Origin: c.Query("origin")}
	if (d.Origin != "" && d.Origin != "local" && d.Origin != "remote") || len(d.Query) > 300 {
		return h.errorPage(c, s, fiber.StatusBadRequest, "Bad filter", "Choose local, remote or both.")
	}
	as, err := h.Store.Accounts(c.UserContext(), tenant.AccountFilter{TenantID: s.Tenant, Query: d.Query, Origin: d.Origin})
	if err != nil {
		return h.serverError(c, s, err)
	}
	d.Accounts = as
	return h.render(c, s, fiber.StatusOK, "accounts", &view{Page: titled("Accounts"), Data: d})
}

type accountData struct {
	*tenant.AccountDetail
	// Instance: the session may reset passwords and disable 2FA.
	Instance bool
	Password string
}

func (h *Handler) account(c *fiber.Ctx, s *session) error {
	id, err := strconv.ParseInt(c.Query("id"), 10, 64)
	if err != nil || id <= 0 {
		return h.errorPage(c, s, fiber.StatusBadRequest, "Bad request", "No account id.")
	}
	return h.accountPage(c, s, id, "")
}

func (h *Handler) accountPage(c *fiber.Ctx, s *session, id int64, password string) error {
	a, err := h.Store.Account(c.UserContext(), s.Tenant, id)
	if err != nil {
		return h.serverError(c, s, err)
	}
	return h.render(c, s, fiber.StatusOK, "account", &view{Page: titled("@" + a.Username + "@" + a.Domain),
		Data: &accountData{AccountDetail: a, Instance: s.Tenant == 0, Password: password}, Notice: notices[c.Query("done")]})
}

// act silences, suspends, marks sensitive, or undoes one of those, at
// the session's scope: a tenant's moderation holds on that tenant, an
// operator's on the whole instance.
func (h *Handler) act(c *fiber.Ctx, s *session) error {
	id, ok := formID(c, "id")
	action := c.FormValue("action")
	valid := false
	for _, a := range []string{"silence", "unsilence", "suspend", "unsuspend", "sensitive", "unsensitive"} {
		valid = valid || a == action
	}
	if !ok || !valid {
		return h.errorPage(c, s, fiber.StatusBadRequest, "Bad request", "Choose an account and an action.")
	}
	why := strings.TrimSpace(c.FormValue("why"))
	if len(why) > 500 {
		return h.errorPage(c, s, fiber.StatusBadRequest, "Bad request", "The reason is too long (500 characters at most).")
	}
	if err := h.Store.ModerateAccount(c.UserContext(), s.actor(), s.Tenant, id, action, why); err != nil {
		return h.serverError(c, s, err)
	}
	return c.Redirect(link(c, fmt.Sprintf("/account?id=%d&done=moderated", id)), fiber.StatusSeeOther)
}

// loginOf reads the login a recovery form names; the store checks it owns
// the account the form came from (so the page shown after is the right
// one) and refuses any scope but the instance's.
func (h *Handler) loginOf(c *fiber.Ctx, s *session) (*tenant.Login, int64, error) {
	uid, ok1 := formID(c, "user")
	aid, ok2 := formID(c, "id")
	if !ok1 || !ok2 {
		return nil, 0, errs.E(errs.Invalid, "choose a login")
	}
	l, err := h.Store.Login(c.UserContext(), s.Tenant, uid, aid)
	return l, aid, err
}

// resetPassword gives a login a new random password, shown once on the
// page: Roost sends no email, and the operator passes it on through a
// channel the owner trusts. Every session and app token of the login
// ends with it.
func (h *Handler) resetPassword(c *fiber.Ctx, s *session) error {
	l, aid, err := h.loginOf(c, s)
	if err != nil {
		return h.serverError(c, s, err)
	}
	password := newToken()[:20]
	hash, err := tenant.HashPassword(password)
	if err != nil {
		return h.serverError(c, s, err)
	}
	if err := h.Store.ResetPassword(c.UserContext(), s.actor(), s.Tenant, l.ID, hash); err != nil {
		return h.serverError(c, s, err)
	}
	return h.accountPage(c, s, aid, password)
}

func (h *Handler) disableTOTP(c *fiber.Ctx, s *session) error {
	l, aid, err := h.loginOf(c, s)
	if err != nil {
		return h.serverError(c, s, err)
	}
	if err := h.Store.DisableTOTP(c.UserContext(), s.actor(), s.Tenant, l.ID); err != nil {
		return h.serverError(c, s, err)
	}
	return c.Redirect(link(c, fmt.Sprintf("/account?id=%d&done=totp-off", aid)), fiber.StatusSeeOther)
}

type rolesData struct {
	Roles []tenant.RoleGrant
	// Grantable are the roles this session may grant.
	Grantable []string
	Instance  bool
}

func (h *Handler) roles(c *fiber.Ctx, s *session) error {
	rs, err := h.Store.Roles(c.UserContext(), s.Tenant)
	if err != nil {
		return h.serverError(c, s, err)
	}
	d := &rolesData{Roles: rs, Instance: s.Tenant == 0}
	for _, name := range []string{TenantAdmin.Name, Moderator.Name} {
		if TenantRoles[name].Perms&^s.Role.Perms == 0 {
			d.Grantable = append(d.Grantable, name)
		}
	}
	return h.render(c, s, fiber.StatusOK, "roles", &view{Page: titled("Roles"), Data: d, Notice: notices[c.Query("done")]})
}

// roleTarget is the tenant a roles form acts on: the session's own on a
// tenant's /admin (a different one in the form is refused by CanGrant),
// the form's on the operator host.
func roleTarget(c *fiber.Ctx, s *session) int64 {
	id, _ := formID(c, "tenant")
	if s.Tenant != 0 && id == 0 {
		return s.Tenant
	}
	return id
}

func (h *Handler) grant(c *fiber.Ctx, s *session) error {
	email := strings.TrimSpace(c.FormValue("email"))
	role, ok := TenantRoles[c.FormValue("role")]
	if email == "" || len(email) > 254 || !ok {
		return h.errorPage(c, s, fiber.StatusBadRequest, "Bad request", "Enter an email and choose a role.")
	}
	target := roleTarget(c, s)
	if err := CanGrant(s.Role, s.Tenant, role, target); err != nil {
		return h.serverError(c, s, err)
	}
	if _, err := h.Store.GrantRole(c.UserContext(), s.actor(), email, target, role.Name, uint32(role.Perms)); err != nil {
		return h.serverError(c, s, err)
	}
	return c.Redirect(link(c, "/roles?done=granted"), fiber.StatusSeeOther)
}

// revoke takes a role away, under the same rule as granting it: nobody
// removes a role holding permissions they lack.
func (h *Handler) revoke(c *fiber.Ctx, s *session) error {
	uid, ok := formID(c, "user")
	if !ok {
		return h.errorPage(c, s, fiber.StatusBadRequest, "Bad request", "Choose a role.")
	}
	target := roleTarget(c, s)
	if err := CanGrant(s.Role, s.Tenant, Role{Name: "any", Perms: ViewDashboard}, target); err != nil {
		return h.serverError(c, s, err)
	}
	g, err := h.Store.RoleOn(c.UserContext(), uid, target)
	if err != nil {
		return h.serverError(c, s, err)
	}
	if err := CanGrant(s.Role, s.Tenant, Role{Name: g.Role, Perms: Permission(g.Perms)}, target); err != nil {
		return h.serverError(c, s, err)
	}
	if err := h.Store.RevokeRole(c.UserContext(), s.actor(), uid, target); err != nil {
		return h.serverError(c, s, err)
	}
	return c.Redirect(link(c, "/roles?done=revoked"), fiber.StatusSeeOther)
}

// TOTP parameters: RFC 6238's defaults, which every authenticator app
// reads.
var totpOpts = totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// checkCode returns the time step a 6-digit code is valid for, allowing
// one step of clock drift either way. The caller spends the step
// (Store.UseTOTPStep) so a code works once.
func checkCode(secret, code string, now time.Time) (int64, bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if secret == "" || len(code) != 6 {
		return 0, false
	}
	for _, skew := range []time.Duration{0, -30 * time.Second, 30 * time.Second} {
		t := now.Add(skew)
		want, err := totp.GenerateCodeCustom(secret, t, totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return t.Unix() / 30, true
		}
	}
	return 0, false
}

type totpData struct {
	Enabled     bool
	Secret, URI string
	QR          template.HTML
	Error       string
}

func (h *Handler) totpPage(c *fiber.Ctx, s *session) error {
	return h.showTOTP(c, s, fiber.StatusOK, "")
}

func (h *Handler) showTOTP(c *fiber.Ctx, s *session, status int, msg string) error {
	secret, pending, err := h.Store.TOTP(c.UserContext(), s.User.ID)
	if err != nil {
		return h.serverError(c, s, err)
	}
	d := &totpData{Enabled: secret != "", Secret: pending, Error: msg}
	if pending != "" {
		key, err := otp.NewKeyFromURL(totpURI(scopeOf(c).Host, s.User.Email, pending))
		if err != nil {
			return h.serverError(c, s, err)
		}
		d.URI, d.QR = key.URL(), qrSVG(key.URL())
	}
	return h.render(c, s, status, "totp", &view{Page: titled("Two-factor sign-in"), Data: d, Notice: notices[c.Query("done")]})
}

// totpURI is the key's otpauth URI (Google Authenticator's key URI
// format), as otp.Key reads it.
func totpURI(issuer, email, secret string) string {
	q := url.Values{"secret": {secret}, "issuer": {issuer}, "algorithm": {"SHA1"}, "digits": {"6"}, "period": {"30"}}
	return (&url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + issuer + ":" + email, RawQuery: q.Encode()}).String()
}

// totpBegin makes a new secret for the login; it is active only once a
// code from it is entered.
func (h *Handler) totpBegin(c *fiber.Ctx, s *session) error {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: scopeOf(c).Host, AccountName: s.User.Email})
	if err != nil {
		return h.serverError(c, s, err)
	}
	if err := h.Store.SetPendingTOTP(c.UserContext(), s.User.ID, key.Secret()); err != nil {
		return h.serverError(c, s, err)
	}
	return c.Redirect(link(c, "/2fa"), fiber.StatusSeeOther)
}

func (h *Handler) totpConfirm(c *fiber.Ctx, s *session) error {
	_, pending, err := h.Store.TOTP(c.UserContext(), s.User.ID)
	if err != nil {
		return h.serverError(c, s, err)
	}
	step, ok := checkCode(pending, c.FormValue("code"), h.now())
	if ok {
		if ok, err = h.Store.UseTOTPStep(c.UserContext(), s.actor(), s.User.ID, step, true); err != nil {
			return h.serverError(c, s, err)
		}
	}
	if !ok {
		return h.showTOTP(c, s, fiber.StatusBadRequest, "That code is wrong or was already used. Enter the current one.")
	}
	return c.Redirect(link(c, "/2fa?done=totp"), fiber.StatusSeeOther)
}

// qrSVG draws text as a QR code in SVG markup (one path, no style), so
// the page needs no image source in its CSP and no outside service.
func qrSVG(text string) template.HTML {
	code, err := qr.Encode(text, qr.M, qr.Auto)
	if err != nil {
		return ""
	}
	n := code.Bounds().Dx()
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="totp-qr" viewBox="-4 -4 %d %d" width="200" height="200" role="img" aria-label="QR code of the otpauth URI" xmlns="http://www.w3.org/2000/svg"><rect x="-4" y="-4" width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n+8, n+8, n+8, n+8)
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
