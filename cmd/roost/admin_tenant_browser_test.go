package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"
)

// A tenant admin, in a real browser against a real `roost serve`, on
// their own domain's /admin: made admin with `roost tenant role grant`;
// another tenant's admin gets nothing there; the dashboard shows the
// tenant's own numbers; the admin finds and silences an account, resolves
// a report by suspending its account (which then is no longer served),
// grants a moderator role, filters the audit log, turns on two-factor
// sign-in and signs in again with a code. Every page is kept as a
// screenshot.
func TestAdminTenantDashboardInBrowser(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	n := startNode(t, "admintenant", addr, "")
	n.env = append(n.env, "ROOST_OPERATOR_HOST="+operatorHost)
	n.run(t, "tenant", "create", "--name", "Alice's", "--domain", "alice.test")
	n.run(t, "tenant", "create", "--name", "Bob's", "--domain", "bob.test")
	for _, a := range [][3]string{{"alice.test", "alice", "alice@mail.test"}, {"alice.test", "troll", "troll@mail.test"},
		{"alice.test", "noisy", "noisy@mail.test"}, {"bob.test", "bob", "bob@mail.test"}} {
		n.run(t, "account", "create", "--domain", a[0], "--username", a[1], "--email", a[2], "--password", "a good password")
	}
	if out := n.run(t, "tenant", "role", "grant", "--tenant", "alice.test", "--email", "alice@mail.test", "--role", "admin"); !strings.Contains(out, "is admin of alice.test") {
		t.Fatalf("role grant: %q", out)
	}
	n.run(t, "tenant", "role", "grant", "--tenant", "bob.test", "--email", "bob@mail.test", "--role", "admin")
	// Bad input changes nothing: an unknown role, login or domain.
	for _, args := range [][]string{
		{"--tenant", "alice.test", "--email", "bob@mail.test", "--role", "owner"},
		{"--tenant", "alice.test", "--email", "nobody@mail.test", "--role", "moderator"},
		{"--tenant", "nowhere.test", "--email", "bob@mail.test", "--role", "moderator"},
	} {
		if code, _, stderr := roost(t, n.env, append([]string{"tenant", "role", "grant"}, args...)...); code == 0 || stderr == "" {
			t.Errorf("role grant %v: exit %d %q", args, code, stderr)
		}
	}
	if got := n.query(t, `select count(*) from admin_roles`); got != "2" {
		t.Fatalf("roles after bad grants: %s", got)
	}
	n.run(t, "account", "create", "--domain", "bob.test", "--username", "op", "--email", "op@mail.test", "--password", "a good password")
	n.run(t, "operator", "grant", "--email", "op@mail.test")
	aliceID := n.query(t, `select id from accounts where username = 'alice'`)
	aliceLogin := n.query(t, `select id from users where email = 'alice@mail.test'`)
	n.query(t, `insert into statuses (account_id, tenant_id, uri, content, visibility, published_at)
		select id, tenant_id, 'http://alice.test/s/1', '<p>buy my pills</p>', 'public', now() from accounts where username = 'troll' returning id`)
	reportID := n.query(t, `insert into reports (tenant_id, reporter_id, target_account_id, status_uris, comment)
		select o.tenant_id, o.id, t.id, '{http://alice.test/s/1}', 'spam everywhere'
		from accounts o, accounts t where o.username = 'alice' and t.username = 'troll' returning id`)
	// Public posts of alice and of the account to be silenced, on the
	// tenant's public timeline.
	for _, p := range [][2]string{{"alice", "hello from alice"}, {"noisy", "noisy post"}} {
		n.query(t, `with s as (insert into statuses (account_id, tenant_id, uri, content, visibility, published_at)
			select id, tenant_id, 'http://alice.test/s/'||username, $2, 'public', now() from accounts where username = $1 returning id, tenant_id)
			insert into tenant_timeline (tenant_id, status_id, local) select tenant_id, id, true from s returning status_id`, p[0], p[1])
	}
	public := "http://" + addr + "/api/v1/timelines/public?local=true"
	noisyReport := n.query(t, `insert into reports (tenant_id, reporter_id, target_account_id, status_uris, comment)
		select o.tenant_id, o.id, t.id, '{http://alice.test/s/noisy}', 'too loud'
		from accounts o, accounts t where o.username = 'alice' and t.username = 'noisy' returning id`)
	trollID := n.query(t, `select id from accounts where username = 'troll'`)
	noisyID := n.query(t, `select id from accounts where username = 'noisy'`)

	n.start(t, "serve")
	waitHTTP(t, "http://"+addr+"/healthz", "any.test", 200)
	finger := "http://" + addr + "/.well-known/webfinger?resource=acct:troll@alice.test"
	if resp, _ := portalGet(t, finger, "alice.test"); resp.StatusCode != 200 {
		t.Fatalf("webfinger before suspension: %d", resp.StatusCode)
	}
	if _, body := portalGet(t, public, "alice.test"); !strings.Contains(body, "noisy post") || !strings.Contains(body, "hello from alice") {
		t.Fatalf("public timeline before silencing: %s", body)
	}

	ctx := portalBrowser(t, addr)
	t.Cleanup(func() { chromedp.Cancel(ctx); time.Sleep(time.Second) })
	shot := newShots(t, ctx)
	base := "http://alice.test/admin"
	signIn := func(email string) {
		browse(t, ctx, "sign in as "+email,
			chromedp.Navigate(base+"/login"), chromedp.WaitVisible("#login", chromedp.ByQuery),
			chromedp.SetValue("#email", email, chromedp.ByQuery),
			chromedp.SetValue("#password", "a good password", chromedp.ByQuery),
			chromedp.Click("#login", chromedp.ByQuery))
	}

	browse(t, ctx, "open /admin signed out", chromedp.Navigate(base+"/"), chromedp.WaitVisible("#login", chromedp.ByQuery))
	shot.take("tenant-admin-sign-in")
	// Bob's admin has no role on alice.test.
	signIn("bob@mail.test")
	waitText(t, ctx, "#login-error", "no role on alice.test")
	shot.take("tenant-admin-other-tenant-refused")

	signIn("alice@mail.test")
	browse(t, ctx, "dashboard", chromedp.WaitVisible("#posts-chart", chromedp.ByQuery))
	waitText(t, ctx, "#accounts", "3") // alice's tenant only: bob is not counted
	waitText(t, ctx, "#posts", "3")
	waitText(t, ctx, "#open-reports", "2")
	if nav := waitText(t, ctx, "nav", "Accounts"); strings.Contains(nav, "Tenants") {
		t.Fatalf("a tenant admin sees instance pages: %q", nav)
	}
	shot.take("tenant-admin-dashboard")

	// Accounts: search, open, silence with a reason.
	browse(t, ctx, "search accounts",
		chromedp.Navigate(base+"/accounts?q=noisy"), chromedp.WaitVisible("#account-list", chromedp.ByQuery))
	if got := waitText(t, ctx, "#account-list", "@noisy@alice.test"); strings.Contains(got, "bob") {
		t.Fatalf("search shows %q", got)
	}
	shot.take("tenant-admin-accounts")
	browse(t, ctx, "open the account", chromedp.Click("#account-"+noisyID, chromedp.ByQuery), chromedp.WaitVisible("#silence", chromedp.ByQuery))
	shot.take("tenant-admin-account")
	browse(t, ctx, "silence it",
		chromedp.SetValue("#why", "floods the local timeline", chromedp.ByQuery),
		chromedp.Click("#silence", chromedp.ByQuery), chromedp.WaitVisible("#notice", chromedp.ByQuery))
	waitText(t, ctx, "#limits", "silenced")
	waitText(t, ctx, "#account-actions", "account.silence")
	shot.take("tenant-admin-account-silenced")
	if got := n.query(t, `select count(*) from account_limits where account_id = $1 and silenced_at is not null`, noisyID); got != "1" {
		t.Fatalf("silenced rows: %s", got)
	}
	if _, body := portalGet(t, public, "alice.test"); strings.Contains(body, "noisy post") || !strings.Contains(body, "hello from alice") {
		t.Fatalf("public timeline after silencing: %s", body)
	}

	// Reports: the post inline, assign, resolve by suspending the account.
	browse(t, ctx, "reports", chromedp.Navigate(base+"/reports"), chromedp.WaitVisible("#report-"+reportID, chromedp.ByQuery))
	waitText(t, ctx, "#report-"+reportID, "buy my pills")
	browse(t, ctx, "assign", chromedp.Click("#assign-"+reportID, chromedp.ByQuery), chromedp.WaitVisible("#notice", chromedp.ByQuery))
	waitText(t, ctx, "#assigned-"+reportID, "assigned to alice@mail.test")
	shot.take("tenant-admin-reports")
	browse(t, ctx, "resolve by suspending",
		chromedp.Click("#pick-"+reportID, chromedp.ByQuery),
		chromedp.SetValue("#report-action", "suspend", chromedp.ByQuery),
		// The page before already shows a #notice (from assigning): wait
		// for the resolved report to be gone, i.e. for the next page.
		chromedp.Click("#resolve-selected", chromedp.ByQuery), chromedp.WaitNotPresent("#report-"+reportID, chromedp.ByQuery),
		chromedp.WaitVisible("#notice", chromedp.ByQuery))
	// The other report: delete the reported (local) post, through the
	// outbox as its author would.
	browse(t, ctx, "resolve by deleting the post",
		chromedp.WaitVisible("#report-"+noisyReport, chromedp.ByQuery),
		chromedp.Click("#pick-"+noisyReport, chromedp.ByQuery),
		chromedp.SetValue("#report-action", "delete", chromedp.ByQuery),
		chromedp.Click("#resolve-selected", chromedp.ByQuery), chromedp.WaitVisible("#no-reports", chromedp.ByQuery))
	shot.take("tenant-admin-reports-resolved")
	if got := n.query(t, `select count(*) from statuses where uri = 'http://alice.test/s/noisy'`); got != "0" {
		t.Fatalf("reported post left: %s", got)
	}
	if got := n.query(t, `select action_taken from reports where id = $1 and resolved_at is not null`, reportID); got != "suspend" {
		t.Fatalf("report action: %q", got)
	}
	if resp, _ := portalGet(t, finger, "alice.test"); resp.StatusCode != 404 {
		t.Fatalf("suspended account still served: %d", resp.StatusCode)
	}
	browse(t, ctx, "the suspended account", chromedp.Navigate(base+"/account?id="+trollID), chromedp.WaitVisible("#limits", chromedp.ByQuery))
	waitText(t, ctx, "#limits", "suspended")
	waitText(t, ctx, "#account-reports", "resolved: suspend")
	shot.take("tenant-admin-account-suspended")

	// Roles: grant bob a moderator role here.
	browse(t, ctx, "roles", chromedp.Navigate(base+"/roles"), chromedp.WaitVisible("#grant", chromedp.ByQuery),
		chromedp.SetValue("#grant-email", "bob@mail.test", chromedp.ByQuery),
		chromedp.SetValue("#grant-role", "moderator", chromedp.ByQuery),
		chromedp.Click("#grant", chromedp.ByQuery), chromedp.WaitVisible("#notice", chromedp.ByQuery))
	waitText(t, ctx, "#role-list", "bob@mail.test")
	shot.take("tenant-admin-roles")

	// The audit log: this tenant's entries, filtered.
	browse(t, ctx, "audit", chromedp.Navigate(base+"/audit"), chromedp.WaitVisible("#audit-log", chromedp.ByQuery))
	log := waitText(t, ctx, "#audit-log", "report.resolve")
	for _, want := range []string{"account.silence", "account.suspend", "role.grant", "report.assign", "signin"} {
		if !strings.Contains(log, want) {
			t.Errorf("audit log lacks %q:\n%s", want, log)
		}
	}
	shot.take("tenant-admin-audit")
	browse(t, ctx, "filter the audit log",
		chromedp.Navigate(base+"/audit?action=account.silence&domain=alice.test&from="+time.Now().UTC().Format("2006-01-02")),
		chromedp.WaitVisible("#audit-log", chromedp.ByQuery))
	if got := waitText(t, ctx, "#audit-log", "@noisy@alice.test"); strings.Contains(got, "report.resolve") {
		t.Errorf("filtered log shows other actions:\n%s", got)
	}
	shot.take("tenant-admin-audit-filtered")

	// Two-factor sign-in: enrol, confirm with a code, sign in with one.
	browse(t, ctx, "2fa", chromedp.Navigate(base+"/2fa"), chromedp.WaitVisible("#begin", chromedp.ByQuery),
		chromedp.Click("#begin", chromedp.ByQuery), chromedp.WaitVisible("#totp-qr", chromedp.ByQuery))
	var secret string
	browse(t, ctx, "read the key", chromedp.Text("#totp-secret", &secret, chromedp.ByQuery))
	shot.take("tenant-admin-2fa-enrol")
	code, err := totp.GenerateCode(strings.TrimSpace(secret), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	browse(t, ctx, "confirm", chromedp.SetValue("#code", code, chromedp.ByQuery),
		chromedp.Click("#confirm", chromedp.ByQuery), chromedp.WaitVisible("#notice", chromedp.ByQuery))
	waitText(t, ctx, "#totp-state", "on")
	shot.take("tenant-admin-2fa-on")
	browse(t, ctx, "sign out", chromedp.Click("#logout", chromedp.ByQuery), chromedp.WaitVisible("#login", chromedp.ByQuery))
	signIn("alice@mail.test")
	browse(t, ctx, "code page", chromedp.WaitVisible("#verify", chromedp.ByQuery))
	shot.take("tenant-admin-2fa-code")
	// The confirming code is spent; the next time step's code is accepted
	// (one step of drift either way).
	code, _ = totp.GenerateCode(strings.TrimSpace(secret), time.Now().Add(30*time.Second))
	browse(t, ctx, "enter the code", chromedp.SetValue("#code", code, chromedp.ByQuery),
		chromedp.Click("#verify", chromedp.ByQuery), chromedp.WaitVisible("#posts-chart", chromedp.ByQuery))
	shot.take("tenant-admin-signed-in-with-code")
	if got := n.query(t, `select count(*) from audit_log where action = 'signin' and detail = 'with an authentication code'`); got != "1" {
		t.Fatalf("sign-ins with a code: %s", got)
	}

	// Alice lost her authenticator: an operator, on the operator host,
	// turns her two-factor off and gives her a new password.
	ops := "http://" + operatorHost
	browse(t, ctx, "operator signs in",
		chromedp.Navigate(ops+"/login"), chromedp.WaitVisible("#login", chromedp.ByQuery),
		chromedp.SetValue("#email", "op@mail.test", chromedp.ByQuery),
		chromedp.SetValue("#password", "a good password", chromedp.ByQuery),
		chromedp.Click("#login", chromedp.ByQuery), chromedp.WaitVisible("#posts-chart", chromedp.ByQuery))
	browse(t, ctx, "alice's account on the operator host",
		chromedp.Navigate(ops+"/account?id="+aliceID), chromedp.WaitVisible("#disable-2fa-"+aliceLogin, chromedp.ByQuery))
	shot.take("operator-account-logins")
	browse(t, ctx, "disable alice's 2FA", chromedp.Click("#disable-2fa-"+aliceLogin, chromedp.ByQuery), chromedp.WaitVisible("#notice", chromedp.ByQuery))
	waitText(t, ctx, "#logins", "off")
	browse(t, ctx, "reset alice's password", chromedp.Click("#reset-"+aliceLogin, chromedp.ByQuery), chromedp.WaitVisible("#new-password", chromedp.ByQuery))
	var shown string
	browse(t, ctx, "read the new password", chromedp.Text("#new-password code", &shown, chromedp.ByQuery))
	shot.take("operator-password-reset")
	// Her old session is gone; the new password signs in without a code.
	browse(t, ctx, "alice's old session", chromedp.Navigate(base+"/"), chromedp.WaitVisible("#login", chromedp.ByQuery),
		chromedp.SetValue("#email", "alice@mail.test", chromedp.ByQuery),
		chromedp.SetValue("#password", strings.TrimSpace(shown), chromedp.ByQuery),
		chromedp.Click("#login", chromedp.ByQuery), chromedp.WaitVisible("#posts-chart", chromedp.ByQuery))
	if got := n.query(t, `select count(*) from audit_log where action in ('login.disable_totp', 'login.reset_password') and user_email = 'op@mail.test'`); got != "2" {
		t.Fatalf("recovery audit entries: %s", got)
	}
	if out := n.run(t, "tenant", "role", "revoke", "--tenant", "alice.test", "--email", "bob@mail.test"); !strings.Contains(out, "no longer has a role on alice.test") {
		t.Fatalf("revoke: %q", out)
	}
	if got := n.query(t, `select count(*) from admin_roles r join users u on u.id = r.user_id where u.email = 'bob@mail.test'`); got != "1" {
		t.Fatalf("bob's roles after revoking alice.test's: %s", got)
	}
}
