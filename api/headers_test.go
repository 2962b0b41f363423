package api_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roost-social/roost/api"
	"github.com/roost-social/roost/api/admin"
	"github.com/roost-social/roost/api/mastodon"
	apioauth "github.com/roost-social/roost/api/oauth"
	"github.com/roost-social/roost/api/portal"
	"github.com/roost-social/roost/federation/outbox"
	"github.com/roost-social/roost/tenant/oauth"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
	"github.com/roost-social/roost/tenant/verify"
)

const (
	operatorHost = "ops.example"
	portalHost   = "portal.example"
)

// everyArea is a world whose app serves every area browsers reach: the
// operator dashboard, the portal, each tenant's /admin, OAuth sign-in,
// profiles, the client API, media. It returns the dashboard session
// cookies of an operator (alice of tenant A) for the operator host and
// for tenant A's /admin.
func everyArea(t *testing.T) (w *world, opsCookie, tenantCookie string) {
	t.Helper()
	ctx := context.Background()
	w = newWorld(t)
	o := w.opts
	o.Metrics = nil
	o.Statuses, o.Collections = w.accounts, w.accounts
	store := tenantpg.NewOAuthStore(w.db)
	svc := &oauth.Service{Store: store}
	o.OAuth = &apioauth.Handler{OAuth: svc, Logins: store, URL: o.URL, Log: o.Log}
	o.Mastodon = &mastodon.Handler{Auth: svc, Views: w.accounts, Client: w.accounts, Accounts: w.accounts,
		Outbox: &outbox.Service{}, Sites: o.Sites, URL: o.URL}
	adminStore := tenantpg.NewAdminStore(w.db)
	dash := &admin.Handler{Store: adminStore, Host: operatorHost, URL: o.URL, Log: o.Log}
	o.Operator, o.TenantAdmin = dash, admin.TenantRoutes{Handler: dash}
	o.Portal = &portal.Handler{Host: portalHost, URL: o.URL, Log: o.Log, Signups: &verify.Signups{
		Store: tenantpg.NewSignupStore(w.db), Mode: verify.Open, BaseDomain: "roost.example", PortalHost: portalHost}}
	w.app = api.New(o)

	u, err := adminStore.GrantOperator(ctx, "alice@a.example", true)
	if err != nil {
		t.Fatal(err)
	}
	session := func(tenantID int64) string {
		b := make([]byte, 32)
		rand.Read(b)
		tok := base64.RawURLEncoding.EncodeToString(b)
		if err := adminStore.CreateSession(ctx, u.ID, tenantID, verify.HashCode(tok), time.Now().Add(time.Hour), false); err != nil {
			t.Fatal(err)
		}
		return tok
	}
	return w, "__Host-roost_admin_session=" + session(0), "__Secure-roost_admin_session=" + session(w.tenantA.ID)
}

// headerChecks counts what was checked, so a walk that silently reached
// nothing fails.
type headerChecks struct {
	html, other int
	htmlPaths   map[string]bool
}

// check asserts the policy on one response: nosniff everywhere; on HTML
// no framing (X-Frame-Options and frame-ancestors 'none' in the CSP) and
// a Referrer-Policy; on anything else a sandboxing CSP.
func (hc *headerChecks) check(t *testing.T, what string, r *http.Response) {
	t.Helper()
	h := r.Header
	if h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s (%d %s): X-Content-Type-Options %q", what, r.StatusCode, h.Get("Content-Type"), h.Get("X-Content-Type-Options"))
	}
	csp := h.Get("Content-Security-Policy")
	if !strings.HasPrefix(strings.ToLower(h.Get("Content-Type")), "text/html") {
		hc.other++
		if !strings.Contains(csp, "sandbox") {
			t.Errorf("%s (%d %s): no sandboxing CSP: %q", what, r.StatusCode, h.Get("Content-Type"), csp)
		}
		return
	}
	hc.html++
	hc.htmlPaths[what] = true
	if h.Get("X-Frame-Options") != "DENY" || !strings.Contains(csp, "frame-ancestors 'none'") ||
		h.Get("Referrer-Policy") == "" || len(h.Values("Content-Security-Policy")) != 1 {
		t.Errorf("%s (%d): HTML page with X-Frame-Options %q, CSP %q, Referrer-Policy %q", what, r.StatusCode,
			h.Get("X-Frame-Options"), h.Values("Content-Security-Policy"), h.Get("Referrer-Policy"))
	}
	// Issue 18: a page that shows images shows the instance's own media,
	// which `roost dev` (and a plain-HTTP node behind a proxy) serves
	// from the page's own origin over http: `img-src https:` alone hid
	// the demo avatar on its own profile.
	for _, d := range strings.Split(csp, ";") {
		if f := strings.Fields(d); len(f) > 0 && f[0] == "img-src" && !strings.Contains(d, "'self'") {
			t.Errorf("%s (%d): img-src without 'self': %q", what, r.StatusCode, csp)
		}
	}
}

// Finding 12: one security-header policy on every response, generated
// over every area's route table: every GET route of the app (profiles,
// OAuth, the client API, media, ActivityPub), every page of the
// dashboard (operator host and each tenant's /admin, signed out and
// signed in) and of the portal, and the error pages: unknown hosts,
// 404s on every kind of host.
func TestIssue14Finding12SecurityHeadersOnEveryResponse(t *testing.T) {
	t.Parallel()
	w, opsCookie, tenantCookie := everyArea(t)
	hc := &headerChecks{htmlPaths: map[string]bool{}}
	id := strconv.FormatInt(w.aliceA.ID, 10)
	get := func(host, path string, headers ...string) {
		t.Helper()
		for _, accept := range []string{"text/html,application/xhtml+xml", ""} {
			r := w.get(t, host, path, append([]string{"Accept", accept}, headers...)...)
			hc.check(t, "GET "+host+path, r)
		}
	}
	tenantHosts := []string{"a.example", "social.b.example"}
	for _, rt := range w.app.GetRoutes(true) {
		if rt.Method != http.MethodGet || strings.HasPrefix(rt.Path, "/api/v1/streaming") {
			continue // streaming answers are long-lived: TestIssue14Finding12StreamingNosniff
		}
		path := strings.NewReplacer(":username", "alice", ":acct", "alice@a.example").Replace(rt.Path)
		path = param.ReplaceAllString(path, id)
		for _, host := range tenantHosts {
			get(host, path)
		}
	}
	for _, p := range admin.RoutePaths(http.MethodGet) {
		get(operatorHost, p)
		get(operatorHost, p+"?id="+id, "Cookie", opsCookie)
		get("a.example", admin.TenantPrefix+p)
		get("a.example", admin.TenantPrefix+p+"?id="+id, "Cookie", tenantCookie)
	}
	for _, p := range portal.RoutePaths(http.MethodGet) {
		get(portalHost, p)
	}
	for _, host := range append(tenantHosts, operatorHost, portalHost, "unknown.example") {
		get(host, "/no/such/page")
		get(host, "/admin/no/such/page")
	}
	for _, page := range []string{"GET a.example/@alice", "GET a.example/oauth/authorize", "GET ops.example/login",
		"GET a.example/admin/login", "GET ops.example/tenants?id=" + id, "GET a.example/admin/?id=" + id,
		"GET portal.example/", "GET ops.example/no/such/page", "GET portal.example/no/such/page"} {
		if !hc.htmlPaths[page] {
			t.Errorf("%s was not checked as an HTML page", page)
		}
	}
	t.Logf("checked %d HTML, %d other", hc.html, hc.other)
	if hc.html < 50 || hc.other < 100 {
		t.Fatalf("only %d HTML and %d other responses checked; is every area wired?", hc.html, hc.other)
	}
}
