// Package admin is the operator dashboard served on the operator host
// (ROOST_OPERATOR_HOST): server-rendered pages where an instance's
// operators see its numbers, approve, suspend and unsuspend tenants,
// work the reports queue and read the audit log of what they did.
//
// It follows api/portal, through api/page: plain forms and no script, a
// double-submitted CSRF token on every form, a strict hash-based CSP, and
// a server-side session (stored hashed) behind an HttpOnly,
// SameSite=Strict cookie, Secure and __Host- with https. Every route
// names the permission it needs; a login's role is a set of permissions,
// so roles other than operator (tenant admin, moderator) plug in by
// granting fewer.
package admin

import (
	"context"
	"embed"
	"html/template"
	"log/slog"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/api/page"
	"github.com/roost-social/roost/billing"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/about"
	"github.com/roost-social/roost/federation/social/announcement"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/ratelimit"
	"github.com/roost-social/roost/tenant"
)

// Store is the dashboard's storage (tenant/postgres AdminStore). A
// tenantID of 0 is the instance (the operator host); any other limits a
// call to that tenant's data.
type Store interface {
	// UserByEmail returns a login, with its role on tenantID, and its
	// password hash, or errs.NotFound.
	UserByEmail(ctx context.Context, email string, tenantID int64) (*tenant.DashboardUser, string, error)
	CreateSession(ctx context.Context, userID, tenantID int64, tokenHash []byte, expires time.Time, pending bool) error
	// SessionUser returns an unexpired session made for tenantID, with the
	// login's role there, or errs.NotFound.
	SessionUser(ctx context.Context, tokenHash []byte, tenantID int64, now time.Time) (*tenant.DashboardSession, error)
	CompleteSession(ctx context.Context, tokenHash []byte, expires time.Time) error
	DeleteSession(ctx context.Context, tokenHash []byte) error
	Record(ctx context.Context, a tenant.Actor, action, target string, tenantID *int64, detail string) error
	Stats(ctx context.Context, tenantID int64, now time.Time) (*tenant.Stats, error)
	Tenants(ctx context.Context, f tenant.TenantFilter) ([]tenant.TenantRow, error)
	Tenant(ctx context.Context, id int64) (*tenant.TenantDetail, error)
	OpenReports(ctx context.Context, tenantID int64, limit int) ([]tenant.Report, error)
	// ResolveReports acts within tenantID's authority only (0: the
	// instance's) and returns the local posts the "delete" action leaves
	// to Handler.Posts.
	ResolveReports(ctx context.Context, a tenant.Actor, tenantID int64, ids []int64, action string) (*tenant.Resolution, error)
	AssignReport(ctx context.Context, a tenant.Actor, tenantID, reportID int64, email string) error
	ReportForForward(ctx context.Context, tenantID, reportID int64) (*tenant.ForwardTarget, error)
	MarkForwarded(ctx context.Context, a tenant.Actor, t *tenant.ForwardTarget, reportID int64) error
	Audit(ctx context.Context, f tenant.AuditFilter) ([]tenant.AuditEntry, error)
	Accounts(ctx context.Context, f tenant.AccountFilter) ([]tenant.AccountRow, error)
	Account(ctx context.Context, tenantID, id int64) (*tenant.AccountDetail, error)
	ModerateAccount(ctx context.Context, a tenant.Actor, tenantID, accountID int64, action, why string) error
	Roles(ctx context.Context, tenantID int64) ([]tenant.RoleGrant, error)
	RoleOn(ctx context.Context, userID, tenantID int64) (*tenant.RoleGrant, error)
	GrantRole(ctx context.Context, a tenant.Actor, email string, tenantID int64, role string, perms uint32) (*tenant.RoleGrant, error)
	RevokeRole(ctx context.Context, a tenant.Actor, userID, tenantID int64) error
	// Login, ResetPassword and DisableTOTP act on instance-wide logins:
	// they refuse any tenantID but 0 (errs.Forbidden).
	Login(ctx context.Context, tenantID, userID, accountID int64) (*tenant.Login, error)
	ResetPassword(ctx context.Context, a tenant.Actor, tenantID, userID int64, hash string) error
	DisableTOTP(ctx context.Context, a tenant.Actor, tenantID, userID int64) error
	TOTP(ctx context.Context, userID int64) (secret, pending string, err error)
	SetPendingTOTP(ctx context.Context, userID int64, secret string) error
	UseTOTPStep(ctx context.Context, a tenant.Actor, userID, step int64, confirm bool) (bool, error)
}

// PostDeleter deletes a local account's post and tells the servers that
// received it (federation/outbox Service.Delete, wired in cmd/roost).
type PostDeleter interface {
	DeleteLocalPost(ctx context.Context, accountID int64, statusURI string) error
}

// Forwarder sends a Flag about a remote account to its server
// (federation/outbox Service.ForwardReport).
type Forwarder interface {
	ForwardReport(ctx context.Context, actingHost string, target *federation.Account, statusURIs []string, comment string) error
}

// Permission is one thing a dashboard user may do; a role is a set.
type Permission uint32

// Permissions. Each route requires one. The set mirrors Mastodon's role
// flags; a login can only grant permissions it holds itself.
const (
	ViewDashboard Permission = 1 << iota
	ManageTenants
	ManageReports
	ViewAudit
	ManageUsers      // local and remote accounts: silence, suspend, reset
	ManageFederation // domain blocks, block lists, remote hosts
	ManageQueues     // delivery queue health, dead letters
	ManageRoles      // grant and revoke dashboard roles
	ManageBilling    // plans, billing state, open-books costs
	ManageSite       // move the tenant's domain, schedule its deletion
)

// Role is a named permission set.
type Role struct {
	Name  string
	Perms Permission
}

// Has reports whether the role grants p.
func (r Role) Has(p Permission) bool { return p != 0 && r.Perms&p == p }

// Operator runs the instance: everything.
var Operator = Role{Name: "operator", Perms: ViewDashboard | ManageTenants | ManageReports | ViewAudit |
	ManageUsers | ManageFederation | ManageQueues | ManageRoles | ManageBilling | ManageSite}

// InstancePerms are the permissions that act on the whole instance: no
// session on a tenant's /admin has them, whoever signs in there.
const InstancePerms = ManageTenants | ManageQueues

// TenantAdmin runs one tenant: everything within it.
var TenantAdmin = Role{Name: "admin", Perms: Operator.Perms &^ InstancePerms}

// Moderator handles one tenant's reports and accounts; it cannot change
// roles.
var Moderator = Role{Name: "moderator", Perms: ViewDashboard | ManageReports | ManageUsers | ViewAudit}

// TenantRoles are the roles that can be granted on a tenant, by name.
var TenantRoles = map[string]Role{TenantAdmin.Name: TenantAdmin, Moderator.Name: Moderator}

// RoleOf is a login's role where it signed in: on the operator host
// (tenantID 0) operators have every permission and nobody else any; on a
// tenant's /admin, the role granted on that tenant (stored with its
// permission set), or for an operator every permission but the
// instance-wide ones. Nothing on a tenant host includes InstancePerms.
func RoleOf(u *tenant.DashboardUser, tenantID int64) Role {
	switch {
	case u == nil:
		return Role{Name: "none"}
	case tenantID == 0 && u.IsOperator:
		return Operator
	case tenantID == 0:
		return Role{Name: "none"}
	case u.IsOperator:
		return Role{Name: Operator.Name, Perms: Operator.Perms &^ InstancePerms}
	case u.Role != "":
		return Role{Name: u.Role, Perms: Permission(u.Perms) &^ InstancePerms}
	}
	return Role{Name: "none"}
}

// CanGrant says whether a session with role granter, acting for tenant
// scope (0: the instance), may grant or revoke role on tenant target:
// only with ManageRoles, only within its own tenant, and only a role
// whose permissions it holds itself.
func CanGrant(granter Role, scope int64, role Role, target int64) error {
	switch {
	case !granter.Has(ManageRoles):
		return errs.E(errs.Forbidden, "this login may not change roles")
	case target <= 0:
		return errs.E(errs.Invalid, "choose a tenant")
	case scope != 0 && scope != target:
		return errs.E(errs.Forbidden, "roles can only be granted on this tenant")
	case role.Perms == 0 || role.Perms&^granter.Perms != 0:
		return errs.E(errs.Forbidden, "nobody can grant a permission they do not hold")
	}
	return nil
}

// Audit actions.
const (
	ActionSignIn    = "signin"
	ActionSignOut   = "signout"
	ActionApprove   = "tenant.approve"
	ActionSuspend   = "tenant.suspend"
	ActionUnsuspend = "tenant.unsuspend"
	ActionResolve   = "report.resolve"
)

// Actions are the audit log's filter choices.
var Actions = []string{ActionSignIn, ActionSignOut, ActionApprove, ActionSuspend, ActionUnsuspend, ActionResolve,
	"report.assign", "report.forward", "operator.grant", "operator.revoke", "role.grant", "role.revoke",
	"account.silence", "account.unsilence", "account.suspend", "account.unsuspend", "account.sensitive", "account.unsensitive",
	"login.reset_password", "login.disable_totp", "login.enable_totp"}

// TenantStates changes a tenant's standing from one status to another,
// recorded as action by the acting login (tenant.Service SetStatus).
type TenantStates interface {
	SetStatus(ctx context.Context, by tenant.Actor, id int64, from, to tenant.Status, action string) error
}

// SessionLifetime is how long an operator sign-in lasts.
const SessionLifetime = 12 * time.Hour

// Handler serves the dashboard. Its fields are read-only after Register.
type Handler struct {
	Store Store
	// Federation backs the federation and queue pages (federation.go).
	Federation FederationStore
	// Billing backs the billing, plans and open-books pages (books.go);
	// nil: not available.
	Billing *BillingPages
	// Tenants changes a tenant's standing (approve, suspend, unsuspend):
	// tenant.Service, which records it and tells every node's host cache.
	Tenants TenantStates
	// Host is the operator dashboard's normalised host name; requests
	// for any other Host pass through (to TenantRoutes' /admin).
	Host string
	// Forward sends reports to remote servers; nil hides the action.
	Forward Forwarder
	// Posts deletes reported local posts; nil leaves them in place (the
	// report is still resolved, and the page says so).
	Posts PostDeleter
	// URL says whether cookies are Secure (Scheme https).
	URL httpx.URLConfig
	Log *slog.Logger
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
	// Leave backs the leaving pages (leave.go); nil: not available.
	Leave LeaveStore
	// SignIn throttles password and code attempts at /login per client
	// address and per login, on every node (pages.go); nil: none (tests).
	SignIn *ratelimit.Guard
	// Announcements backs the announcements pages (announcements.go);
	// nil: not available.
	Announcements *announcement.Service
	// About backs the server rules, about and terms pages (about.go);
	// nil: not available.
	About *about.Service
	// Quotas backs the tenant page's quotas (quotas.go); nil: not shown.
	Quotas Quotas
}

// Register mounts the operator dashboard on r in front of host routing.
func (h *Handler) Register(r fiber.Router) { r.Use(h.route) }

// TenantPrefix is where each tenant's domain serves the dashboard.
const TenantPrefix = "/admin"

// TenantRoutes is the same dashboard under /admin on every tenant domain,
// mounted behind host routing (which resolved the tenant, and refused
// unknown and suspended hosts). Only /admin and below are taken; every
// other path goes on to the tenant's routes.
type TenantRoutes struct{ *Handler }

// Register mounts the tenant dashboard on r behind host routing.
func (t TenantRoutes) Register(r fiber.Router) { r.Use(t.tenantRoute) }

func (h *Handler) tenantRoute(c *fiber.Ctx) error {
	p := c.Path()
	if p != TenantPrefix && !strings.HasPrefix(p, TenantPrefix+"/") {
		return c.Next()
	}
	rest := strings.TrimPrefix(p, TenantPrefix)
	if rest == "" {
		rest = "/"
	}
	return h.serve(c, scope{Prefix: TenantPrefix, Tenant: httpx.SiteOf(c).TenantID, Host: httpx.SiteOf(c).Domain}, rest)
}

// scope is where a request arrived: the operator host (Tenant 0, no
// prefix) or a tenant's /admin.
type scope struct {
	Prefix string
	Tenant int64
	Host   string
}

const scopeKey = "roost.admin.scope"

func scopeOf(c *fiber.Ctx) scope {
	s, _ := c.Locals(scopeKey).(scope)
	return s
}

// link is a dashboard path under the request's prefix.
func link(c *fiber.Ctx, path string) string { return scopeOf(c).Prefix + path }

// session is a signed-in request's login and role.
type session struct {
	User *tenant.DashboardUser
	Role Role
	// Tenant is the tenant this session acts for: 0 for the instance
	// (operators on the operator host), otherwise the tenant whose domain
	// serves /admin. Every store call of a tenant-scoped page passes it.
	Tenant int64
	// Token is the session cookie's value.
	Token string
}

func (s *session) actor() tenant.Actor { return tenant.Actor{UserID: s.User.ID, Email: s.User.Email} }

// route is one dashboard page or form; Perm 0 is open to anyone.
type route struct {
	Method, Path string
	Perm         Permission
	fn           func(h *Handler, c *fiber.Ctx, s *session) error
}

// coreRoutes are this file's and pages.go's (moderation.go has
// moderationRoutes); other files of the package
// add theirs (federationRoutes, queueRoutes, booksRoutes, leaveRoutes).
var coreRoutes = []route{
	{"GET", "/login", 0, (*Handler).loginPage},
	{"POST", "/login", 0, (*Handler).login},
	{"POST", "/logout", 0, (*Handler).logout},
	{"GET", "/", ViewDashboard, (*Handler).dashboard},
	{"GET", "/tenants", ManageTenants, (*Handler).tenants},
	{"GET", "/tenant", ManageTenants, (*Handler).tenantPage},
	{"POST", "/tenant/approve", ManageTenants, (*Handler).approve},
	{"POST", "/tenant/suspend", ManageTenants, (*Handler).suspend},
	{"POST", "/tenant/unsuspend", ManageTenants, (*Handler).unsuspend},
	{"GET", "/reports", ManageReports, (*Handler).reports},
	{"POST", "/reports/resolve", ManageReports, (*Handler).resolve},
	{"GET", "/audit", ViewAudit, (*Handler).audit},
}

// routes is every dashboard route: the route-table tests walk it.
var routes = concatRoutes(coreRoutes, moderationRoutes, federationRoutes, queueRoutes, booksRoutes, leaveRoutes,
	announcementRoutes, aboutRoutes, quotaRoutes)

func concatRoutes(sets ...[]route) []route {
	var all []route
	for _, s := range sets {
		all = append(all, s...)
	}
	return all
}

var routeIndex = func() map[string]*route {
	m := map[string]*route{}
	for i := range routes {
		m[routes[i].Method+" "+routes[i].Path] = &routes[i]
	}
	return m
}()

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// instanceOnly are routes that act on instance-wide logins (a login may
// own accounts and roles on several tenants), so no tenant's session may
// use them whatever its permissions: recovery is an operator's job.
var instanceOnly = map[string]bool{
	"POST /accounts/reset-password": true,
	"POST /accounts/disable-2fa":    true,
}

// route answers requests for the operator host and passes every other on.
func (h *Handler) route(c *fiber.Ctx) error {
	host, err := tenant.NormalizeHost(c.Hostname())
	if err != nil || host != h.Host {
		return c.Next()
	}
	return h.serve(c, scope{Host: h.Host}, c.Path())
}

// serve answers one dashboard request at path (below the prefix).
func (h *Handler) serve(c *fiber.Ctx, sc scope, path string) error {
	c.Locals(scopeKey, sc)
	method := c.Method()
	if method == fiber.MethodHead {
		method = fiber.MethodGet
	}
	rt, ok := routeIndex[method+" "+path]
	if !ok {
		return h.errorPage(c, nil, fiber.StatusNotFound, "Not found", "There is no such page.")
	}
	if method == fiber.MethodPost && !h.cookies(c).CheckForm(c) {
		return h.errorPage(c, nil, fiber.StatusForbidden, page.ExpiredTitle, page.ExpiredMessage)
	}
	s, err := h.session(c)
	if err != nil {
		return h.serverError(c, nil, err)
	}
	if rt.Perm != 0 {
		if s == nil {
			if method == fiber.MethodGet {
				return c.Redirect(link(c, "/login"), fiber.StatusSeeOther)
			}
			return h.errorPage(c, nil, fiber.StatusUnauthorized, "Signed out", "Sign in again, then retry.")
		}
		if !s.Role.Has(rt.Perm) || (s.Tenant != 0 && instanceOnly[method+" "+path]) {
			return h.errorPage(c, s, fiber.StatusForbidden, "Not allowed", "This login may not use this page.")
		}
	}
	return rt.fn(h, c, s)
}

func (h *Handler) log(c *fiber.Ctx) *slog.Logger {
	if h.Log != nil {
		return h.Log
	}
	return httpx.Log(c)
}

// pageCSS is the pages' only style, allowed by hash in the CSP.
const pageCSS = `body{font:15px/1.5 system-ui,sans-serif;margin:0;background:#f4f4f6;color:#1c1c22}
nav{background:#23233a;padding:.6rem 1.5rem;display:flex;gap:1.2rem;align-items:center}nav a{color:#fff;text-decoration:none}
nav .who{margin-left:auto;color:#bbb;font-size:.85rem}nav button.link{color:#fff}
main{max-width:64rem;margin:1.5rem auto;padding:1.5rem 2rem;background:#fff;border-radius:12px;box-shadow:0 1px 4px #0002}
h1{font-size:1.5rem;margin:0 0 1rem}h2{font-size:1.15rem;margin:1.5rem 0 .5rem}
label{display:block;margin:.8rem 0 .2rem;font-weight:600}input,select{box-sizing:border-box;padding:.45rem;font:inherit;border:1px solid #bbb;border-radius:6px}
main.narrow{max-width:26rem}main.narrow input{width:100%}
button{padding:.45rem .9rem;font:inherit;font-weight:600;border:0;border-radius:6px;background:#4c4cd8;color:#fff;cursor:pointer}
button.deny{background:#b00020}button.link{background:none;color:#4c4cd8;padding:0;font-weight:400}
form.inline{display:inline;margin:0}form.filter{display:flex;gap:.5rem;align-items:center;margin-bottom:1rem}
.error{color:#b00020;font-weight:600}.note{color:#666;font-size:.9rem}.notice{background:#e6f6ea;padding:.6rem .8rem;border-radius:6px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(11rem,1fr));gap:.8rem}
.card{border:1px solid #e4e4ea;border-radius:8px;padding:.6rem .8rem}.card b{display:block;font-size:1.4rem}.card span{color:#555;font-size:.85rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{text-align:left;padding:.4rem;border-bottom:1px solid #e4e4ea;vertical-align:top}
.status-active{color:#0a7a2f}.status-suspended{color:#b00020}.status-pending{color:#a06000}
.report{border:1px solid #e4e4ea;border-radius:8px;padding:.6rem .8rem;margin:.6rem 0}.post{background:#f7f7fa;padding:.4rem .6rem;margin:.3rem 0;border-radius:6px}
.chart{width:100%;height:auto}`

//go:embed templates/*.html
var templateFS embed.FS

var pages = page.NewRenderer(pageCSS, template.FuncMap{
	"text":      plainText,
	"statusCSS": func(s string) string { return "status-" + s },
	"bytes":     billing.Bytes,
	"gb":        gigabytes, // quotas.go
}, templateFS, "templates/*.html")

// view is what the templates render: the fields every page has and the
// dashboard's own.
type view struct {
	page.Page
	// Prefix is where the dashboard's paths start ("" on the operator
	// host, /admin on a tenant's domain): every link and form uses it.
	Prefix string
	Nav    []navLink
	User   *tenant.DashboardUser
	Role   string
	Notice string
	Email  string
	Error  string
	Data   any
}

// titled is a view's common part with its title.
func titled(title string) page.Page { return page.Page{Title: title} }

// render writes a page (page.Renderer: its headers and CSP) with the
// session's navigation.
func (h *Handler) render(c *fiber.Ctx, s *session, status int, name string, v *view) error {
	sc := scopeOf(c)
	v.Host, v.Prefix = sc.Host, sc.Prefix
	v.CSRF = h.cookies(c).CSRFToken(c)
	if s != nil {
		v.User, v.Role = s.User, s.Role.Name
		for _, l := range navLinks {
			// "Move or leave" is a tenant's own page; operators reach it
			// from a tenant's detail page.
			if s.Role.Has(l.Perm) && (sc.Tenant == 0 || l.Perm&InstancePerms == 0) && (sc.Tenant != 0 || l.Perm != ManageSite) {
				v.Nav = append(v.Nav, navLink{Path: sc.Prefix + l.Path, Label: l.Label, ID: l.ID})
			}
		}
	}
	return pages.Render(c, status, name, v)
}

func (h *Handler) errorPage(c *fiber.Ctx, s *session, status int, title, message string) error {
	return h.render(c, s, status, "error", &view{Page: page.Page{Title: title, Message: message}})
}

// serverError logs err and shows a page for it.
func (h *Handler) serverError(c *fiber.Ctx, s *session, err error) error {
	status, msg := page.Failure(c, h.log(c), "operator dashboard request failed", err)
	return h.errorPage(c, s, status, "Error", msg)
}

// navLink is an entry of the navigation bar, shown to sessions with Perm.
type navLink struct {
	Path, Label, ID string
	Perm            Permission
}

var navLinks = []navLink{
	{"/", "Dashboard", "nav-dashboard", ViewDashboard},
	{"/tenants", "Tenants", "nav-tenants", ManageTenants},
	{"/accounts", "Accounts", "nav-accounts", ManageUsers},
	{"/reports", "Reports", "nav-reports", ManageReports},
	{"/federation", "Federation", "nav-federation", ManageFederation},
	{"/queue", "Queue", "nav-queue", ManageQueues},
	{"/roles", "Roles", "nav-roles", ManageRoles},
	{"/audit", "Audit log", "nav-audit", ViewAudit},
	{"/2fa", "Two-factor", "nav-2fa", ViewDashboard},
	{"/tenant/leave", "Move or leave", "nav-leave", ManageSite},
	// ManageSite, but shown on the operator host too (its own check).
	{"/announcements", "Announcements", "nav-announcements", ManageSite | ViewDashboard},
	{"/rules", "Server rules", "nav-rules", ManageSite},
	{"/about", "About", "nav-about", ManageSite},
	{"/terms", "Terms of service", "nav-terms", ManageSite},
}

// cookies is the dashboard's cookie policy (page.Cookies): SameSite=
// Strict; __Host- with https on the operator host, so no subdomain can
// set them; on a tenant's domain __Secure- and Path=/admin, so nothing
// else the domain serves ever receives them (a __Host- cookie must have
// Path=/).
func (h *Handler) cookies(c *fiber.Ctx) page.Cookies {
	return page.Cookies{Area: "admin", Secure: h.URL.Scheme == "https", Path: scopeOf(c).Prefix}
}

// The cookies' names before their https prefix.
var (
	csrfCookie    = page.BaseName("admin", page.CSRF)
	sessionCookie = page.BaseName("admin", page.Session)
)

// newToken is a new random token (page.NewToken): sessions' and the
// generated passwords'.
func newToken() string { return page.NewToken() }

// session returns the signed-in login, or nil; a session made for
// another tenant, or still waiting for its second factor, is none.
func (h *Handler) session(c *fiber.Ctx) (*session, error) {
	ses, tok, err := h.storedSession(c)
	if ses == nil || err != nil || ses.Pending {
		return nil, err
	}
	sc := scopeOf(c)
	return &session{User: &ses.User, Role: RoleOf(&ses.User, sc.Tenant), Tenant: sc.Tenant, Token: tok}, nil
}

// storedSession returns the session the cookie names, pending or not.
func (h *Handler) storedSession(c *fiber.Ctx) (*tenant.DashboardSession, string, error) {
	tok := h.cookies(c).SessionToken(c)
	if tok == "" {
		return nil, "", nil
	}
	ses, err := h.Store.SessionUser(c.UserContext(), hashToken(tok), scopeOf(c).Tenant, h.now())
	if errs.Is(err, errs.NotFound) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	return ses, tok, nil
}

// hashToken is what the store keeps of a session token (page.HashToken).
func hashToken(tok string) []byte { return page.HashToken(tok) }
