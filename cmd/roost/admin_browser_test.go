package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const operatorHost = "admin.roost.test"

// An operator, in a real browser against a real `roost serve`: made an
// operator with the CLI, signs in on the operator host, sees the
// dashboard's numbers and chart, approves a tenant waiting for approval,
// suspends another (whose domain then answers 403 at once, though this
// node had it cached: the suspension was pushed to every node), resolves
// a report, and finds all of it in the audit log. Every page is kept as
// a screenshot.
func TestAdminOperatorDashboardInBrowser(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	n := startNode(t, "admin", addr, "")
	n.env = append(n.env, "ROOST_OPERATOR_HOST="+operatorHost, "ROOST_DOMAIN_CACHE_TTL=10m")

	// The operator's login comes with an account on an operator-made tenant.
	n.run(t, "tenant", "create", "--name", "Operators", "--domain", "ops.test")
	n.run(t, "account", "create", "--domain", "ops.test", "--username", "op", "--email", "op@mail.test", "--password", "operator password")
	if out := n.run(t, "operator", "grant", "--email", "op@mail.test"); !strings.Contains(out, "is an operator") {
		t.Fatalf("grant: %q", out)
	}
	// A tenant to suspend, with an account and a reported post.
	badID := strings.TrimSpace(n.run(t, "tenant", "create", "--name", "Trouble", "--domain", "bad.test"))
	n.run(t, "account", "create", "--domain", "bad.test", "--username", "troll", "--email", "troll@mail.test", "--password", "troll password")
	n.query(t, `insert into statuses (account_id, tenant_id, uri, content, visibility, published_at)
		select id, tenant_id, 'http://bad.test/s/1', '<p>buy my pills</p>', 'public', now() from accounts where username = 'troll' returning id`)
	reportID := n.query(t, `insert into reports (tenant_id, reporter_id, target_account_id, status_uris, comment)
		select o.tenant_id, o.id, t.id, '{http://bad.test/s/1}', 'spam everywhere'
		from accounts o, accounts t where o.username = 'op' and t.username = 'troll' returning id`)
	// A tenant waiting for approval, as the portal leaves it.
	pendingID := n.query(t, "insert into tenants (name, status) values ('Waiting Club', 'pending') returning id")
	n.query(t, "insert into domains (domain, tenant_id, verification_token, verified_at) values ('club.test', $1, 'tok', now()) returning domain", pendingID)

	n.start(t, "serve")
	waitHTTP(t, "http://"+addr+"/healthz", "any.test", 200)
	finger := "http://" + addr + "/.well-known/webfinger?resource=acct:troll@bad.test"
	if resp, _ := portalGet(t, finger, "bad.test"); resp.StatusCode != 200 { // also caches bad.test on this node
		t.Fatalf("webfinger before suspension: %d", resp.StatusCode)
	}

	ctx := portalBrowser(t, addr)
	// Close chromium and give its helper processes a moment before the
	// profile directory is removed (runs ahead of portalBrowser's cleanup,
	// which would otherwise race a still-writing profile: "directory not
	// empty").
	t.Cleanup(func() { chromedp.Cancel(ctx); time.Sleep(time.Second) })
	shot := newShots(t, ctx)
	base := "http://" + operatorHost

	browse(t, ctx, "open the dashboard signed out",
		chromedp.Navigate(base+"/"), chromedp.WaitVisible("#login", chromedp.ByQuery))
	shot.take("admin-sign-in")
	browse(t, ctx, "sign in with a wrong password",
		chromedp.SetValue("#email", "op@mail.test", chromedp.ByQuery),
		chromedp.SetValue("#password", "not the password", chromedp.ByQuery),
		chromedp.Click("#login", chromedp.ByQuery), chromedp.WaitVisible("#login-error", chromedp.ByQuery))
	waitText(t, ctx, "#login-error", "Wrong email or password")
	browse(t, ctx, "sign in",
		chromedp.SetValue("#email", "op@mail.test", chromedp.ByQuery),
		chromedp.SetValue("#password", "operator password", chromedp.ByQuery),
		chromedp.Click("#login", chromedp.ByQuery), chromedp.WaitVisible("#posts-chart", chromedp.ByQuery))
	waitText(t, ctx, "#accounts", "2")
	waitText(t, ctx, "#posts", "1")
	waitText(t, ctx, "#open-reports", "1")
	waitText(t, ctx, "#tenant-stats", "pending")
	shot.take("admin-dashboard")

	// Tenants: search, filter, approve the waiting one.
	browse(t, ctx, "filter pending tenants",
		chromedp.Navigate(base+"/tenants?status=pending"), chromedp.WaitVisible("#tenant-list", chromedp.ByQuery))
	waitText(t, ctx, "#tenant-list", "Waiting Club")
	shot.take("admin-tenants-pending")
	browse(t, ctx, "search by domain",
		chromedp.Navigate(base+"/tenants"), chromedp.WaitVisible("#q", chromedp.ByQuery),
		chromedp.SetValue("#q", "bad.te", chromedp.ByQuery), chromedp.Click("#search", chromedp.ByQuery),
		chromedp.WaitVisible("#tenant-list", chromedp.ByQuery))
	waitText(t, ctx, "#tenant-count", "matching") // the results page, not the form's
	if got := waitText(t, ctx, "#tenant-list", "Trouble"); strings.Contains(got, "Waiting Club") || strings.Contains(got, "Operators") {
		t.Fatalf("search bad.te found %q", got)
	}
	shot.take("admin-tenants-search")
	browse(t, ctx, "approve",
		chromedp.Navigate(base+"/tenant?id="+pendingID), chromedp.WaitVisible("#approve", chromedp.ByQuery))
	shot.take("admin-tenant-pending")
	browse(t, ctx, "click approve", chromedp.Click("#approve", chromedp.ByQuery), chromedp.WaitVisible("#notice", chromedp.ByQuery))
	waitText(t, ctx, "#tenant-status", "active")
	shot.take("admin-tenant-approved")
	if got := n.query(t, "select status from tenants where id = $1", pendingID); got != "active" {
		t.Fatalf("approved tenant is %s", got)
	}

	// Suspend: the domain answers 403 from this node at once.
	browse(t, ctx, "suspend",
		chromedp.Navigate(base+"/tenant?id="+badID), chromedp.WaitVisible("#suspend", chromedp.ByQuery),
		chromedp.Click("#suspend", chromedp.ByQuery), chromedp.WaitVisible("#unsuspend", chromedp.ByQuery))
	waitText(t, ctx, "#tenant-status", "suspended")
	shot.take("admin-tenant-suspended")
	deadline := time.Now().Add(5 * time.Second) // the Redis push, not the 10 minute cache TTL
	for {
		resp, _ := portalGet(t, finger, "bad.test")
		if resp.StatusCode == 403 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("suspended domain answers %d", resp.StatusCode)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Reports: the reported post inline; resolve it.
	browse(t, ctx, "open reports",
		chromedp.Navigate(base+"/reports"), chromedp.WaitVisible("#report-"+reportID, chromedp.ByQuery))
	waitText(t, ctx, "#report-"+reportID, "buy my pills")
	waitText(t, ctx, "#report-"+reportID, "spam everywhere")
	shot.take("admin-reports")
	browse(t, ctx, "resolve the ticked report",
		chromedp.Click("#pick-"+reportID, chromedp.ByQuery), chromedp.Click("#resolve-selected", chromedp.ByQuery),
		chromedp.WaitVisible("#no-reports", chromedp.ByQuery))
	shot.take("admin-reports-resolved")
	if got := n.query(t, "select resolved_at is not null from reports where id = $1", reportID); got != "true" {
		t.Fatalf("report resolved: %s", got)
	}

	// Everything above is in the audit log, filterable by action.
	browse(t, ctx, "audit log", chromedp.Navigate(base+"/audit"), chromedp.WaitVisible("#audit-log", chromedp.ByQuery))
	log := waitText(t, ctx, "#audit-log", "report.resolve")
	for _, want := range []string{"signin", "tenant.approve", "tenant.suspend", "operator.grant", "op@mail.test"} {
		if !strings.Contains(log, want) {
			t.Errorf("audit log lacks %q:\n%s", want, log)
		}
	}
	shot.take("admin-audit")
	browse(t, ctx, "filter the audit log",
		chromedp.Navigate(base+"/audit?action=tenant.suspend"), chromedp.WaitVisible("#audit-log", chromedp.ByQuery))
	if got := waitText(t, ctx, "#audit-log", "tenant.suspend"); strings.Contains(got, "tenant.approve") {
		t.Errorf("filtered log shows other actions:\n%s", got)
	}
	shot.take("admin-audit-filtered")

	browse(t, ctx, "sign out", chromedp.Click("#logout", chromedp.ByQuery), chromedp.WaitVisible("#login", chromedp.ByQuery))
	if resp, _ := portalGet(t, "http://"+addr+"/", operatorHost); resp.StatusCode != 303 || resp.Header.Get("Location") != "/login" {
		t.Fatalf("dashboard without a session: %d", resp.StatusCode)
	}
}
