package admin

import (
	"fmt"
	"html"
	"html/template"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/ratelimit"
	"github.com/roost-social/roost/tenant"
)

// dummyHash is compared against when no login has the email, so a wrong
// email costs as long as a wrong password.
var dummyHash = sync.OnceValue(func() string {
	h, _ := tenant.HashPassword("not a password of anyone's")
	return h
})

func (h *Handler) loginPage(c *fiber.Ctx, s *session) error {
	if s != nil && s.Role.Perms != 0 {
		return c.Redirect(link(c, "/"), fiber.StatusSeeOther)
	}
	return h.render(c, nil, fiber.StatusOK, "login", &view{Page: titled("Sign in")})
}

// pendingLifetime is how long a password sign-in waits for its code.
const pendingLifetime = 5 * time.Minute

func (h *Handler) login(c *fiber.Ctx, _ *session) error {
	sc := scopeOf(c)
	email, password := strings.TrimSpace(c.FormValue("email")), c.FormValue("password")
	fail := func(status int, msg string) error {
		return h.render(c, nil, status, "login", &view{Page: titled("Sign in"), Email: email, Error: msg})
	}
	if email == "" || password == "" {
		return fail(fiber.StatusUnauthorized, "Enter your email and password.")
	}
	// Throttled before the password is checked, on the operator host and
	// every tenant's /admin alike (issue 14 finding 7).
	signedIn, err := h.SignIn.Password(c.UserContext(), httpx.ClientIP(c), email)
	if err != nil {
		return h.throttled(c, err, fail)
	}
	u, err := h.checkPassword(c, sc.Tenant, email, password)
	signedIn(u != nil)
	if err != nil {
		return h.serverError(c, nil, err)
	}
	if u == nil {
		return fail(fiber.StatusUnauthorized, "Wrong email or password.")
	}
	if RoleOf(u, sc.Tenant).Perms == 0 {
		if sc.Tenant == 0 {
			return fail(fiber.StatusForbidden, "This login is not an operator of this instance.")
		}
		return fail(fiber.StatusForbidden, "This login has no role on "+sc.Host+".")
	}
	tok := newToken()
	lifetime := SessionLifetime
	if u.TOTPEnabled {
		lifetime = pendingLifetime
	}
	if err := h.Store.CreateSession(c.UserContext(), u.ID, sc.Tenant, hashToken(tok), h.now().Add(lifetime), u.TOTPEnabled); err != nil {
		return h.serverError(c, nil, err)
	}
	h.cookies(c).StartSession(c, tok, lifetime)
	if u.TOTPEnabled {
		return c.Redirect(link(c, "/login/code"), fiber.StatusSeeOther)
	}
	h.record(c, tenant.Actor{UserID: u.ID, Email: u.Email}, ActionSignIn, u.Email, nullTenant(sc.Tenant), "")
	return c.Redirect(link(c, "/"), fiber.StatusSeeOther)
}

// checkPassword returns the login with email and password, or nil when
// either is wrong (as slowly for an unknown email as for a wrong password).
func (h *Handler) checkPassword(c *fiber.Ctx, tenantID int64, email, password string) (*tenant.DashboardUser, error) {
	u, hash, err := h.Store.UserByEmail(c.UserContext(), email, tenantID)
	if err != nil && !errs.Is(err, errs.NotFound) {
		return nil, err
	}
	if u == nil {
		tenant.CheckPassword(dummyHash(), password)
		return nil, nil
	}
	if !tenant.CheckPassword(hash, password) {
		return nil, nil
	}
	return u, nil
}

// throttled answers a sign-in the throttle refused: the form again with
// the reason, 429 (or 503) and Retry-After; a store that is down is a
// logged 503.
func (h *Handler) throttled(c *fiber.Ctx, err error, form func(status int, msg string) error) error {
	after, ok := ratelimit.RetryAfter(err)
	if !ok {
		return h.serverError(c, nil, err)
	}
	c.Set(fiber.HeaderRetryAfter, after)
	return form(httpx.Status(errs.CodeOf(err)), errs.MessageOf(err))
}

// codePage asks a password sign-in for its second factor.
func (h *Handler) codePage(c *fiber.Ctx, _ *session) error {
	ses, _, err := h.storedSession(c)
	if err != nil {
		return h.serverError(c, nil, err)
	}
	if ses == nil || !ses.Pending {
		return c.Redirect(link(c, "/login"), fiber.StatusSeeOther)
	}
	return h.render(c, nil, fiber.StatusOK, "code", &view{Page: titled("Authentication code"), Email: ses.User.Email})
}

// code checks the second factor of a pending sign-in. A wrong code ends
// the pending session: each guess costs a password sign-in again.
func (h *Handler) code(c *fiber.Ctx, _ *session) error {
	sc := scopeOf(c)
	ses, tok, err := h.storedSession(c)
	if err != nil {
		return h.serverError(c, nil, err)
	}
	if ses == nil || !ses.Pending {
		return c.Redirect(link(c, "/login"), fiber.StatusSeeOther)
	}
	actor := tenant.Actor{UserID: ses.User.ID, Email: ses.User.Email}
	// Six digits are guessed quickly: codes have their own, smaller budget
	// per login, which signing in with the password again does not reset.
	codeOK, err := h.SignIn.Code(c.UserContext(), httpx.ClientIP(c), ses.User.ID)
	if err != nil {
		return h.throttled(c, err, func(status int, msg string) error {
			return h.render(c, nil, status, "code", &view{Page: titled("Authentication code"), Email: ses.User.Email, Error: msg})
		})
	}
	secret, _, err := h.Store.TOTP(c.UserContext(), ses.User.ID)
	if err != nil {
		codeOK(false)
		return h.serverError(c, nil, err)
	}
	step, ok := checkCode(secret, c.FormValue("code"), h.now())
	if ok {
		ok, err = h.Store.UseTOTPStep(c.UserContext(), actor, ses.User.ID, step, false)
		if err != nil {
			codeOK(false)
			return h.serverError(c, nil, err)
		}
	}
	codeOK(ok)
	if !ok {
		if err := h.Store.DeleteSession(c.UserContext(), hashToken(tok)); err != nil {
			return h.serverError(c, nil, err)
		}
		h.cookies(c).EndSession(c)
		return h.render(c, nil, fiber.StatusUnauthorized, "login", &view{Page: titled("Sign in"), Email: ses.User.Email,
			Error: "Wrong or already used authentication code. Sign in again."})
	}
	if err := h.Store.CompleteSession(c.UserContext(), hashToken(tok), h.now().Add(SessionLifetime)); err != nil {
		return h.serverError(c, nil, err)
	}
	h.cookies(c).StartSession(c, tok, SessionLifetime)
	h.record(c, actor, ActionSignIn, ses.User.Email, nullTenant(sc.Tenant), "with an authentication code")
	return c.Redirect(link(c, "/"), fiber.StatusSeeOther)
}

func nullTenant(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

func (h *Handler) logout(c *fiber.Ctx, s *session) error {
	if tok := h.cookies(c).SessionToken(c); tok != "" {
		if err := h.Store.DeleteSession(c.UserContext(), hashToken(tok)); err != nil {
			return h.serverError(c, s, err)
		}
	}
	if s != nil {
		h.record(c, s.actor(), ActionSignOut, s.User.Email, nullTenant(s.Tenant), "")
	}
	h.cookies(c).EndSession(c)
	return c.Redirect(link(c, "/login"), fiber.StatusSeeOther)
}

// record writes an audit entry for actions outside a store transaction;
// a failure is logged (the action itself happened).
func (h *Handler) record(c *fiber.Ctx, a tenant.Actor, action, target string, tenantID *int64, detail string) {
	if err := h.Store.Record(c.UserContext(), a, action, target, tenantID, detail); err != nil {
		h.log(c).ErrorContext(c.UserContext(), "audit entry not written", "action", action, "err", err)
	}
}

type dashboardData struct {
	// Tenant is set on a tenant's /admin: its numbers alone.
	Tenant   bool
	Stats    *tenant.Stats
	Statuses []statusCount
	Chart    template.HTML
	Now      time.Time
}

type statusCount struct {
	Status string
	N      int64
}

func (h *Handler) dashboard(c *fiber.Ctx, s *session) error {
	now := h.now()
	st, err := h.Store.Stats(c.UserContext(), s.Tenant, now)
	if err != nil {
		return h.serverError(c, s, err)
	}
	d := &dashboardData{Tenant: s.Tenant != 0, Stats: st, Chart: postsChart(st.PostsPerDay), Now: now}
	for _, k := range []tenant.Status{tenant.Active, tenant.Pending, tenant.Suspended, tenant.Deleted} {
		d.Statuses = append(d.Statuses, statusCount{string(k), st.TenantsByStatus[string(k)]})
	}
	return h.render(c, s, fiber.StatusOK, "dashboard", &view{Page: titled("Dashboard"), Data: d})
}

type tenantsData struct {
	Query, Status string
	Statuses      []string
	Tenants       []tenant.TenantRow
	// Next is the id the next (older) page starts below; 0 on the last.
	Next int64
}

// tenantsPage is how many tenants one page of the list shows.
const tenantsPage = 200

var tenantStatuses = []string{string(tenant.Active), string(tenant.Pending), string(tenant.Suspended), string(tenant.Deleted)}

func (h *Handler) tenants(c *fiber.Ctx, s *session) error {
	d := &tenantsData{Query: strings.TrimSpace(c.Query("q")), Status: c.Query("status"), Statuses: tenantStatuses}
	valid := d.Status == ""
	for _, st := range tenantStatuses {
		valid = valid || st == d.Status
	}
	if !valid || len(d.Query) > 253 {
		return h.errorPage(c, s, fiber.StatusBadRequest, "Bad filter", "Choose a status from the list.")
	}
	before, _ := strconv.ParseInt(c.Query("before"), 10, 64) // not a number: the first page
	ts, err := h.Store.Tenants(c.UserContext(), tenant.TenantFilter{Query: d.Query, Status: d.Status, Before: before, Limit: tenantsPage})
	if err != nil {
		return h.serverError(c, s, err)
	}
	d.Tenants = ts
	if len(ts) == tenantsPage {
		d.Next = ts[len(ts)-1].ID
	}
	return h.render(c, s, fiber.StatusOK, "tenants", &view{Page: titled("Tenants"), Data: d})
}

// notices are the messages a redirect after an action may show.
var notices = map[string]string{
	"approved":    "Approved: the tenant is live.",
	"suspended":   "Suspended: its domains now answer 403 on every node.",
	"unsuspended": "Unsuspended: its domains are served again.",
	"resolved":    "Reports resolved.",
	"assigned":    "Report assigned.",
	"forwarded":   "Report forwarded to the remote server.",
	"granted":     "Role granted.",
	"revoked":     "Role revoked.",
	"moderated":   "Done: the account's moderation is updated.",
	"totp":        "Two-factor sign-in is on: the next sign-in asks for a code.",
	"totp-off":    "Two-factor sign-in is off for this login.",
	"quotas":      "Quotas saved: every node applies them within 10 seconds.",
}

func (h *Handler) tenantPage(c *fiber.Ctx, s *session) error {
	id, err := strconv.ParseInt(c.Query("id"), 10, 64)
	if err != nil || id <= 0 {
		return h.errorPage(c, s, fiber.StatusBadRequest, "Bad request", "No tenant id.")
	}
	t, err := h.Store.Tenant(c.UserContext(), id)
	if err != nil {
		return h.serverError(c, s, err)
	}
	if h.Quotas != nil {
		if t.Quota, err = h.Quotas.Usage(c.UserContext(), id); err != nil {
			return h.serverError(c, s, err)
		}
	}
	return h.render(c, s, fiber.StatusOK, "tenant", &view{Page: titled(t.Name), Data: t, Notice: notices[c.Query("done")]})
}

func (h *Handler) approve(c *fiber.Ctx, s *session) error {
	return h.setStatus(c, s, tenant.Pending, tenant.Active, ActionApprove, "approved")
}

func (h *Handler) suspend(c *fiber.Ctx, s *session) error {
	return h.setStatus(c, s, tenant.Active, tenant.Suspended, ActionSuspend, "suspended")
}

func (h *Handler) unsuspend(c *fiber.Ctx, s *session) error {
	return h.setStatus(c, s, tenant.Suspended, tenant.Active, ActionUnsuspend, "unsuspended")
}

// setStatus changes a tenant's status through tenant.Service (the change
// and its audit entry in one transaction, then every node's host cache).
func (h *Handler) setStatus(c *fiber.Ctx, s *session, from, to tenant.Status, action, done string) error {
	id, err := strconv.ParseInt(c.FormValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return h.errorPage(c, s, fiber.StatusBadRequest, "Bad request", "No tenant id.")
	}
	if h.Tenants == nil {
		return h.serverError(c, s, errs.E(errs.Unavailable, "tenant status changes are not configured"))
	}
	if err := h.Tenants.SetStatus(c.UserContext(), s.actor(), id, from, to, action); err != nil {
		return h.serverError(c, s, err)
	}
	return c.Redirect(link(c, fmt.Sprintf("/tenant?id=%d&done=%s", id, done)), fiber.StatusSeeOther)
}

type reportsData struct {
	Reports   []tenant.Report
	Assignees []string
	Actions   []string
	Forward   bool
}

// reportActions are what resolving a report may do.
var reportActions = []string{"none", "silence", "suspend", "delete"}

func (h *Handler) reports(c *fiber.Ctx, s *session) error {
	rs, err := h.Store.OpenReports(c.UserContext(), s.Tenant, 100)
	if err != nil {
		return h.serverError(c, s, err)
	}
	d := &reportsData{Reports: rs, Assignees: []string{s.User.Email}, Actions: reportActions, Forward: h.Forward != nil}
	roles, err := h.Store.Roles(c.UserContext(), s.Tenant)
	if err != nil {
		return h.serverError(c, s, err)
	}
	seen := map[string]bool{s.User.Email: true}
	for _, r := range roles {
		if !seen[r.Email] {
			seen[r.Email] = true
			d.Assignees = append(d.Assignees, r.Email)
		}
	}
	return h.render(c, s, fiber.StatusOK, "reports", &view{Page: titled("Reports"), Data: d, Notice: resolvedNotice(c)})
}

func formID(c *fiber.Ctx, name string) (int64, bool) {
	id, err := strconv.ParseInt(c.FormValue(name), 10, 64)
	return id, err == nil && id > 0
}

func (h *Handler) resolve(c *fiber.Ctx, s *session) error {
	// A report's own button sends "one"; the bulk button the ticked "id"s.
	args := c.Request().PostArgs().PeekMulti("id")
	if one := c.Request().PostArgs().Peek("one"); len(one) > 0 {
		args = [][]byte{one}
	}
	if len(args) == 0 || len(args) > 200 {
		return h.errorPage(c, s, fiber.StatusBadRequest, "Nothing chosen", "Tick the reports to resolve.")
	}
	action := c.FormValue("action", "none")
	valid := false
	for _, a := range reportActions {
		valid = valid || a == action
	}
	if !valid {
		return h.errorPage(c, s, fiber.StatusBadRequest, "Bad request", "Choose what to do from the list.")
	}
	ids := make([]int64, 0, len(args))
	for _, a := range args {
		id, err := strconv.ParseInt(string(a), 10, 64)
		if err != nil || id <= 0 {
			return h.errorPage(c, s, fiber.StatusBadRequest, "Bad request", "Bad report id.")
		}
		ids = append(ids, id)
	}
	res, err := h.Store.ResolveReports(c.UserContext(), s.actor(), s.Tenant, ids, action)
	if err != nil {
		return h.serverError(c, s, err)
	}
	failed := 0
	for _, p := range res.Delete {
		if h.Posts == nil {
			failed++
			continue
		}
		if err := h.Posts.DeleteLocalPost(c.UserContext(), p.AccountID, p.URI); err != nil && !errs.Is(err, errs.NotFound) {
			h.log(c).ErrorContext(c.UserContext(), "reported post not deleted", "uri", p.URI, "err", err)
			failed++
		}
	}
	if failed > 0 {
		return h.errorPage(c, s, fiber.StatusInternalServerError, "Posts not deleted",
			fmt.Sprintf("The reports are resolved, but %d of their local posts could not be deleted. Delete them from the account's page or try again.", failed))
	}
	return c.Redirect(link(c, "/reports?done=resolved"+resolvedCounts(res)), fiber.StatusSeeOther)
}

func (h *Handler) assign(c *fiber.Ctx, s *session) error {
	id, ok := formID(c, "id")
	email := strings.TrimSpace(c.FormValue("email"))
	if !ok || len(email) > 254 {
		return h.errorPage(c, s, fiber.StatusBadRequest, "Bad request", "Choose a report and a moderator.")
	}
	if err := h.Store.AssignReport(c.UserContext(), s.actor(), s.Tenant, id, email); err != nil {
		return h.serverError(c, s, err)
	}
	return c.Redirect(link(c, "/reports?done=assigned"), fiber.StatusSeeOther)
}

// forward sends a Flag about the reported remote account to its server,
// as the reporting tenant's instance actor, and records it once the
// server took it.
func (h *Handler) forward(c *fiber.Ctx, s *session) error {
	id, ok := formID(c, "id")
	if !ok {
		return h.errorPage(c, s, fiber.StatusBadRequest, "Bad request", "No report id.")
	}
	if h.Forward == nil {
		return h.errorPage(c, s, fiber.StatusServiceUnavailable, "Not available", "This node cannot forward reports.")
	}
	t, err := h.Store.ReportForForward(c.UserContext(), s.Tenant, id)
	if err != nil {
		return h.serverError(c, s, err)
	}
	target := &federation.Account{Remote: &federation.RemoteInfo{URI: t.AccountURI, Inbox: t.Inbox, SharedInbox: t.SharedInbox}}
	if err := h.Forward.ForwardReport(c.UserContext(), t.Host, target, t.StatusURIs, t.Comment); err != nil {
		h.log(c).WarnContext(c.UserContext(), "report not forwarded", "report", id, "err", err)
		return h.errorPage(c, s, fiber.StatusBadGateway, "Not forwarded",
			"The remote server did not take the report: "+errs.MessageOf(err)+". Try again later.")
	}
	if err := h.Store.MarkForwarded(c.UserContext(), s.actor(), t, id); err != nil {
		return h.serverError(c, s, err)
	}
	return c.Redirect(link(c, "/reports?done=forwarded"), fiber.StatusSeeOther)
}

type auditData struct {
	Action, Actor, Domain, From, To string
	Actions                         []string
	Entries                         []tenant.AuditEntry
}

func (h *Handler) audit(c *fiber.Ctx, s *session) error {
	d := &auditData{Action: c.Query("action"), Actions: Actions, Actor: strings.TrimSpace(c.Query("actor")),
		Domain: strings.TrimSpace(c.Query("domain")), From: c.Query("from"), To: c.Query("to")}
	valid := d.Action == ""
	for _, a := range Actions {
		valid = valid || a == d.Action
	}
	if !valid {
		return h.errorPage(c, s, fiber.StatusBadRequest, "Bad filter", "Choose an action from the list.")
	}
	if len(d.Actor) > 254 || len(d.Domain) > 253 {
		return h.errorPage(c, s, fiber.StatusBadRequest, "Bad filter", "The actor or domain is too long.")
	}
	f := tenant.AuditFilter{TenantID: s.Tenant, Actor: d.Actor, Action: d.Action, TargetDomain: d.Domain}
	for _, x := range []struct {
		v   string
		dst **time.Time
		add time.Duration
	}{{d.From, &f.From, 0}, {d.To, &f.To, 24 * time.Hour}} { // "to" includes its whole day
		if x.v == "" {
			continue
		}
		t, err := time.Parse("2006-01-02", x.v)
		if err != nil {
			return h.errorPage(c, s, fiber.StatusBadRequest, "Bad filter", "Dates are YYYY-MM-DD.")
		}
		t = t.Add(x.add)
		*x.dst = &t
	}
	es, err := h.Store.Audit(c.UserContext(), f)
	if err != nil {
		return h.serverError(c, s, err)
	}
	d.Entries = es
	return h.render(c, s, fiber.StatusOK, "audit", &view{Page: titled("Audit log"), Data: d})
}

// plainText shows stored post HTML as text: tags dropped, entities
// decoded (the template escapes it again).
func plainText(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
		case r == '>' && in:
			in = false
			b.WriteByte(' ')
		case !in:
			b.WriteRune(r)
		}
	}
	t := strings.Join(strings.Fields(html.UnescapeString(b.String())), " ")
	if len(t) > 1000 {
		t = t[:1000] + "…"
	}
	return t
}

// postsChart draws posts per day as an SVG bar chart: markup only,
// presentation attributes and no style, so the CSP needs nothing more.
func postsChart(days []tenant.DayCount) template.HTML {
	const w, hgt, left, bottom = 600.0, 180.0, 36.0, 22.0
	var max int64 = 1
	for _, d := range days {
		if d.N > max {
			max = d.N
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" id="posts-chart" viewBox="0 0 %.0f %.0f" role="img" aria-label="Posts per day, last %d days" xmlns="http://www.w3.org/2000/svg">`, w, hgt, len(days))
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#999"/>`, left, hgt-bottom, w, hgt-bottom)
	fmt.Fprintf(&b, `<text x="%.0f" y="12" font-size="11" text-anchor="end" fill="#555">%d</text>`, left-4, max)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="11" text-anchor="end" fill="#555">0</text>`, left-4, hgt-bottom)
	if n := len(days); n > 0 {
		slot := (w - left) / float64(n)
		for i, d := range days {
			bh := float64(d.N) / float64(max) * (hgt - bottom - 10)
			x := left + float64(i)*slot + 1
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#4c4cd8"><title>%s: %d</title></rect>`,
				x, hgt-bottom-bh, slot-2, bh, d.Day.UTC().Format("2 Jan"), d.N)
			if i%7 == 0 || (i == n-1 && i%7 >= 4) { // no label crowding the last weekly one
				fmt.Fprintf(&b, `<text x="%.1f" y="%.0f" font-size="10" fill="#555">%s</text>`, x, hgt-6, d.Day.UTC().Format("2 Jan"))
			}
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // built from numbers and dates only
}
