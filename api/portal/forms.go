package portal

import (
	"errors"
	"net"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/ratelimit"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/verify"
)

// form reads the named fields of a posted form, trimmed.
func form(c *fiber.Ctx, names ...string) map[string]string {
	m := make(map[string]string, len(names))
	for _, n := range names {
		m[n] = strings.TrimSpace(c.FormValue(n))
	}
	return m
}

func fieldErrors(err error) (verify.FieldErrors, bool) {
	var fe verify.FieldErrors
	ok := errors.As(err, &fe)
	return fe, ok
}

// front is GET /: the signup form, or the signed-in newcomer's site.
func (h *Handler) front(c *fiber.Ctx) error {
	sg, err := h.signup(c)
	if err != nil {
		return h.serverError(c, err)
	}
	if sg != nil {
		return seeSite(c)
	}
	return h.startPage(c, fiber.StatusOK, nil, nil)
}

func (h *Handler) startPage(c *fiber.Ctx, status int, f map[string]string, fe verify.FieldErrors) error {
	mode := h.Signups.Mode
	return h.render(c, status, "start", &view{Page: titled("Create your site"), Form: f, Errors: fe, Rules: h.rules(),
		Invite: mode == verify.Invite, Approval: mode == verify.Approval})
}

// start is POST /start: the tenant and its login. Submitting the same
// email and password again signs in to the signup made the first time.
func (h *Handler) start(c *fiber.Ctx) error {
	f := form(c, "name", "email", "invite", "rules")
	signedIn, err := h.SignIn.Password(c.UserContext(), httpx.ClientIP(c), f["email"])
	if err != nil {
		return h.throttled(c, err, "email", func(status int, fe verify.FieldErrors) error { return h.startPage(c, status, f, fe) })
	}
	sg, err := h.Signups.Start(c.UserContext(), verify.StartForm{Name: f["name"], Email: f["email"],
		Password: c.FormValue("password"), Invite: f["invite"], AcceptRules: f["rules"] == "yes"})
	signedIn(err == nil)
	if fe, ok := fieldErrors(err); ok {
		return h.startPage(c, fiber.StatusUnprocessableEntity, f, fe)
	}
	if err != nil {
		return h.serverError(c, err)
	}
	if err := h.signIn(c, sg); err != nil {
		return h.serverError(c, err)
	}
	return seeSite(c)
}

// throttled answers a form the sign-in throttle refused: the form again
// with the reason under its field, 429 (or 503) and Retry-After.
func (h *Handler) throttled(c *fiber.Ctx, err error, field string, form func(status int, fe verify.FieldErrors) error) error {
	after, ok := ratelimit.RetryAfter(err)
	if !ok {
		return h.serverError(c, err) // the throttle's store is down: 503, logged
	}
	c.Set(fiber.HeaderRetryAfter, after)
	return form(httpx.Status(errs.CodeOf(err)), verify.FieldErrors{field: errs.MessageOf(err)})
}

// loginPage is GET /login.
func (h *Handler) loginPage(c *fiber.Ctx) error {
	return h.render(c, fiber.StatusOK, "login", &view{Page: titled("Sign in")})
}

// login is POST /login: resume a signup.
func (h *Handler) login(c *fiber.Ctx) error {
	f := form(c, "email")
	loginPage := func(status int, fe verify.FieldErrors) error {
		return h.render(c, status, "login", &view{Page: titled("Sign in"), Form: f, Errors: fe})
	}
	signedIn, err := h.SignIn.Password(c.UserContext(), httpx.ClientIP(c), f["email"])
	if err != nil {
		return h.throttled(c, err, "email", loginPage)
	}
	sg, err := h.Signups.Login(c.UserContext(), f["email"], c.FormValue("password"))
	signedIn(err == nil)
	if fe, ok := fieldErrors(err); ok {
		return loginPage(fiber.StatusUnprocessableEntity, fe)
	}
	if err != nil {
		return h.serverError(c, err)
	}
	if err := h.signIn(c, sg); err != nil {
		return h.serverError(c, err)
	}
	return seeSite(c)
}

// logout is POST /logout.
func (h *Handler) logout(c *fiber.Ctx) error {
	if tok := h.cookies().SessionToken(c); tok != "" {
		if err := h.Signups.EndSession(c.UserContext(), tok); err != nil {
			return h.serverError(c, err)
		}
	}
	h.cookies().EndSession(c)
	return c.Redirect("/", fiber.StatusSeeOther)
}

// signedIn returns the session's signup; without one it answers with the
// sign-in page and ok false.
func (h *Handler) signedIn(c *fiber.Ctx) (*verify.Signup, bool, error) {
	sg, err := h.signup(c)
	if err != nil {
		return nil, false, h.serverError(c, err)
	}
	if sg == nil {
		return nil, false, c.Redirect("/login", fiber.StatusSeeOther)
	}
	return sg, true, nil
}

// site is GET /site: where the signup stands and the next step.
func (h *Handler) site(c *fiber.Ctx) error {
	sg, ok, err := h.signedIn(c)
	if !ok {
		return err
	}
	if need, err := h.needsPlan(c.UserContext(), sg); err != nil { // plans.go
		return h.serverError(c, err)
	} else if need {
		return c.Redirect("/plans", fiber.StatusSeeOther)
	}
	return h.sitePage(c, fiber.StatusOK, sg, nil, nil)
}

func (h *Handler) sitePage(c *fiber.Ctx, status int, sg *verify.Signup, f map[string]string, fe verify.FieldErrors) error {
	p := &view{Page: titled(sg.TenantName), Signup: sg, Claim: sg.Claim, Form: f, Errors: fe, Base: h.Signups.BaseDomain,
		Pending: sg.TenantStatus == tenant.Pending}
	if cl := sg.Claim; cl != nil {
		p.AppDomain = appServer(h.URL, cl.Host())
		p.WebSignIn = webSignIn(h.URL, cl.Host())
		if cl.NextCheckAt != nil && cl.NextCheckAt.After(h.now()) {
			p.NextCheck = cl.NextCheckAt
		}
		for _, r := range h.Signups.Checker.Target.Records(cl) {
			rw := row{Record: r}
			for _, ch := range cl.Checks {
				if ch.Record == r {
					rw.Checked, rw.OK, rw.Status = true, ch.OK, ch.Status
				}
			}
			p.Rows = append(p.Rows, rw)
		}
	}
	bv, err := h.billingFor(c.UserContext(), sg) // plans.go
	if err != nil {
		return h.serverError(c, err)
	}
	p.Billing = bv
	return h.render(c, status, "site", p)
}

// choose runs one of the domain choices and shows the result.
func (h *Handler) choose(c *fiber.Ctx, fields []string, do func(sg *verify.Signup, f map[string]string) error) error {
	sg, ok, err := h.signedIn(c)
	if !ok {
		return err
	}
	f := form(c, fields...)
	err = do(sg, f)
	if fe, ok := fieldErrors(err); ok {
		return h.sitePage(c, fiber.StatusUnprocessableEntity, sg, f, fe)
	}
	if err != nil {
		return h.serverError(c, err)
	}
	return seeSite(c)
}

// chooseSubdomain is POST /site/subdomain.
func (h *Handler) chooseSubdomain(c *fiber.Ctx) error {
	return h.choose(c, []string{"label"}, func(sg *verify.Signup, f map[string]string) error {
		if err := h.planAllows(c.UserContext(), sg, "subdomain", "label"); err != nil { // plans.go
			return err
		}
		_, err := h.Signups.ChooseSubdomain(c.UserContext(), sg, f["label"])
		return err
	})
}

// chooseOwn is POST /site/own.
func (h *Handler) chooseOwn(c *fiber.Ctx) error {
	return h.choose(c, []string{"domain"}, func(sg *verify.Signup, f map[string]string) error {
		if err := h.planAllows(c.UserContext(), sg, "own", "domain"); err != nil { // plans.go
			return err
		}
		_, err := h.Signups.ChooseOwn(c.UserContext(), sg, f["domain"])
		return err
	})
}

// chooseSplit is POST /site/split.
func (h *Handler) chooseSplit(c *fiber.Ctx) error {
	return h.choose(c, []string{"handle", "service"}, func(sg *verify.Signup, f map[string]string) error {
		if err := h.planAllows(c.UserContext(), sg, "own", "handle"); err != nil { // plans.go
			return err
		}
		_, err := h.Signups.ChooseSplit(c.UserContext(), sg, f["handle"], f["service"])
		return err
	})
}

// check is POST /site/check: "Check now".
func (h *Handler) check(c *fiber.Ctx) error {
	sg, ok, err := h.signedIn(c)
	if !ok {
		return err
	}
	if sg.Claim == nil || sg.Claim.State != verify.Pending {
		return seeSite(c) // nothing to check: a re-submitted form
	}
	_, err = h.Signups.Check(c.UserContext(), sg)
	if err != nil && !errs.Is(err, errs.NotFound) { // NotFound: it expired, and the page says so
		return h.serverError(c, err)
	}
	return seeSite(c)
}

// release is POST /site/release: choose a different domain.
func (h *Handler) release(c *fiber.Ctx) error {
	sg, ok, err := h.signedIn(c)
	if !ok {
		return err
	}
	if err := h.Signups.Release(c.UserContext(), sg); err != nil {
		return h.serverError(c, err)
	}
	return seeSite(c)
}

// createAccount is POST /site/account: the first account, on the
// verified domain, owned by the signup's login.
func (h *Handler) createAccount(c *fiber.Ctx) error {
	sg, ok, err := h.signedIn(c)
	if !ok {
		return err
	}
	if sg.Account != "" || sg.Claim == nil || sg.Claim.State == verify.Pending {
		return seeSite(c) // done already (a re-submitted form), or not yet possible
	}
	f := form(c, "username")
	if sg.TenantStatus == tenant.Pending {
		return h.sitePage(c, fiber.StatusConflict, sg, f, nil)
	}
	fe := verify.FieldErrors{}
	if !federation.ValidUsername(f["username"]) {
		fe["username"] = "Use 1 to 30 letters, digits or underscores."
	}
	password := c.FormValue("password")
	if password == "" {
		fe["password"] = "Enter the password you signed up with."
	}
	if len(fe) > 0 {
		return h.sitePage(c, fiber.StatusUnprocessableEntity, sg, f, fe)
	}
	signedIn, err := h.SignIn.Password(c.UserContext(), httpx.ClientIP(c), sg.Email)
	if err != nil {
		return h.throttled(c, err, "password", func(status int, fe verify.FieldErrors) error { return h.sitePage(c, status, sg, f, fe) })
	}
	_, err = h.Accounts.CreateAccount(c.UserContext(), sg.Claim.Domain, f["username"], sg.Email, password)
	signedIn(err == nil) // only a created account proves the password: other errors forgive nothing
	switch {
	case err == nil:
		return seeSite(c)
	case errs.Is(err, errs.Forbidden):
		fe["password"] = "That is not the password you signed up with."
	case errs.Is(err, errs.Conflict):
		// A double submit: the first created it.
		if again, err2 := h.Signups.SessionSignup(c.UserContext(), h.cookies().SessionToken(c)); err2 == nil && again.Account != "" {
			return seeSite(c)
		}
		fe["username"] = "The username " + f["username"] + " is taken on " + sg.Claim.Domain + "."
	case errs.Is(err, errs.Invalid) && strings.Contains(errs.MessageOf(err), "password"):
		fe["password"] = errs.MessageOf(err)
	case errs.Is(err, errs.Invalid):
		fe["username"] = errs.MessageOf(err)
	case errs.Is(err, errs.NotFound):
		fe["username"] = "Your domain is not active yet; try again in a moment."
	default:
		return h.serverError(c, err)
	}
	return h.sitePage(c, fiber.StatusUnprocessableEntity, sg, f, fe)
}

// appServer is what a person types into an app's "server" box: the bare
// host on https's default port, the full origin otherwise (an app told
// "localhost" would try https://localhost:443 and fail under roost dev).
func appServer(u httpx.URLConfig, host string) string {
	scheme := u.Scheme
	if scheme == "" {
		scheme = "https"
	}
	defaultPort := map[string]int{"https": 443, "http": 80}[scheme]
	if scheme == "https" && (u.Port == 0 || u.Port == defaultPort) {
		return host
	}
	if u.Port != 0 && u.Port != defaultPort {
		host = net.JoinHostPort(host, strconv.Itoa(u.Port))
	}
	return scheme + "://" + host
}

// webSignIn is the web app's sign-in page on the new site.
func webSignIn(u httpx.URLConfig, host string) string {
	scheme := u.Scheme
	if scheme == "" {
		scheme = "https"
	}
	return federation.NewLinks(scheme, host, u.Port).Base + "/auth/sign_in"
}
