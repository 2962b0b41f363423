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
	"github.com/roost-social/roost/api/admin/model"
	"github.com/roost-social/roost/internal/errs"
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
		return c.Redirect("/", fiber.StatusSeeOther)
	}
	return h.render(c, nil, fiber.StatusOK, "login", &page{Title: "Sign in"})
}

func (h *Handler) login(c *fiber.Ctx, _ *session) error {
	email, password := strings.TrimSpace(c.FormValue("email")), c.FormValue("password")
	fail := func(status int, msg string) error {
		return h.render(c, nil, status, "login", &page{Title: "Sign in", Email: email, Error: msg})
	}
	if email == "" || password == "" {
		return fail(fiber.StatusUnauthorized, "Enter your email and password.")
	}
	u, hash, err := h.Store.UserByEmail(c.UserContext(), email)
	if err != nil && !errs.Is(err, errs.NotFound) {
		return h.serverError(c, nil, err)
	}
	if u == nil {
		tenant.CheckPassword(dummyHash(), password)
		return fail(fiber.StatusUnauthorized, "Wrong email or password.")
	}
	if !tenant.CheckPassword(hash, password) {
		return fail(fiber.StatusUnauthorized, "Wrong email or password.")
	}
	if RoleOf(u).Perms == 0 {
		return fail(fiber.StatusForbidden, "This login is not an operator of this instance.")
	}
	tok := newToken()
	if err := h.Store.CreateSession(c.UserContext(), u.ID, hashToken(tok), h.now().Add(SessionLifetime)); err != nil {
		return h.serverError(c, nil, err)
	}
	h.setCookie(c, sessionCookie, tok, int(SessionLifetime/time.Second))
	h.record(c, model.Actor{UserID: u.ID, Email: u.Email}, ActionSignIn, u.Email, nil, "")
	return c.Redirect("/", fiber.StatusSeeOther)
}

func (h *Handler) logout(c *fiber.Ctx, s *session) error {
	if tok := c.Cookies(h.cookieName(sessionCookie)); validToken(tok) {
		if err := h.Store.DeleteSession(c.UserContext(), hashToken(tok)); err != nil {
			return h.serverError(c, s, err)
		}
	}
	if s != nil {
		h.record(c, s.actor(), ActionSignOut, s.User.Email, nil, "")
	}
	h.setCookie(c, sessionCookie, "", -1)
	return c.Redirect("/login", fiber.StatusSeeOther)
}

// record writes an audit entry for actions outside a store transaction;
// a failure is logged (the action itself happened).
func (h *Handler) record(c *fiber.Ctx, a model.Actor, action, target string, tenantID *int64, detail string) {
	if err := h.Store.Record(c.UserContext(), a, action, target, tenantID, detail); err != nil {
		h.log(c).ErrorContext(c.UserContext(), "audit entry not written", "action", action, "err", err)
	}
}

type dashboardData struct {
	Stats    *model.Stats
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
	st, err := h.Store.Stats(c.UserContext(), now)
	if err != nil {
		return h.serverError(c, s, err)
	}
	d := &dashboardData{Stats: st, Chart: postsChart(st.PostsPerDay), Now: now}
	for _, k := range []tenant.Status{tenant.Active, tenant.Pending, tenant.Suspended, tenant.Deleted} {
		d.Statuses = append(d.Statuses, statusCount{string(k), st.TenantsByStatus[string(k)]})
	}
	return h.render(c, s, fiber.StatusOK, "dashboard", &page{Title: "Dashboard", Data: d})
}

type tenantsData struct {
	Query, Status string
	Statuses      []string
	Tenants       []model.TenantRow
}

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
	ts, err := h.Store.Tenants(c.UserContext(), model.TenantFilter{Query: d.Query, Status: d.Status})
	if err != nil {
		return h.serverError(c, s, err)
	}
	d.Tenants = ts
	return h.render(c, s, fiber.StatusOK, "tenants", &page{Title: "Tenants", Data: d})
}

// notices are the messages a redirect after an action may show.
var notices = map[string]string{
	"approved":    "Approved: the tenant is live.",
	"suspended":   "Suspended: its domains now answer 403 on every node.",
	"unsuspended": "Unsuspended: its domains are served again.",
	"resolved":    "Reports resolved.",
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
	return h.render(c, s, fiber.StatusOK, "tenant", &page{Title: t.Name, Data: t, Notice: notices[c.Query("done")]})
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

// setStatus changes a tenant's status (recorded by the store in the same
// transaction) and tells every node's host cache.
func (h *Handler) setStatus(c *fiber.Ctx, s *session, from, to tenant.Status, action, done string) error {
	id, err := strconv.ParseInt(c.FormValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return h.errorPage(c, s, fiber.StatusBadRequest, "Bad request", "No tenant id.")
	}
	hosts, err := h.Store.SetTenantStatus(c.UserContext(), s.actor(), id, string(from), string(to), action)
	if err != nil {
		return h.serverError(c, s, err)
	}
	if h.Notify != nil && len(hosts) > 0 {
		if err := h.Notify.HostsChanged(c.UserContext(), hosts...); err != nil {
			h.log(c).WarnContext(c.UserContext(), "publishing host invalidation failed; caches will expire", "hosts", hosts, "err", err)
		}
	}
	return c.Redirect(fmt.Sprintf("/tenant?id=%d&done=%s", id, done), fiber.StatusSeeOther)
}

func (h *Handler) reports(c *fiber.Ctx, s *session) error {
	rs, err := h.Store.OpenReports(c.UserContext(), 100)
	if err != nil {
		return h.serverError(c, s, err)
	}
	return h.render(c, s, fiber.StatusOK, "reports", &page{Title: "Reports", Data: rs, Notice: notices[c.Query("done")]})
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
	ids := make([]int64, 0, len(args))
	for _, a := range args {
		id, err := strconv.ParseInt(string(a), 10, 64)
		if err != nil || id <= 0 {
			return h.errorPage(c, s, fiber.StatusBadRequest, "Bad request", "Bad report id.")
		}
		ids = append(ids, id)
	}
	if _, err := h.Store.ResolveReports(c.UserContext(), s.actor(), ids); err != nil {
		return h.serverError(c, s, err)
	}
	return c.Redirect("/reports?done=resolved", fiber.StatusSeeOther)
}

type auditData struct {
	Action  string
	Actions []string
	Entries []model.AuditEntry
}

func (h *Handler) audit(c *fiber.Ctx, s *session) error {
	d := &auditData{Action: c.Query("action"), Actions: Actions}
	valid := d.Action == ""
	for _, a := range Actions {
		valid = valid || a == d.Action
	}
	if !valid {
		return h.errorPage(c, s, fiber.StatusBadRequest, "Bad filter", "Choose an action from the list.")
	}
	es, err := h.Store.Audit(c.UserContext(), d.Action, 200)
	if err != nil {
		return h.serverError(c, s, err)
	}
	d.Entries = es
	return h.render(c, s, fiber.StatusOK, "audit", &page{Title: "Audit log", Data: d})
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
func postsChart(days []model.DayCount) template.HTML {
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
