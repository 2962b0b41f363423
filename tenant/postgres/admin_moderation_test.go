package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

// Tenant scoping of the dashboard's reads and actions: a tenant's numbers,
// accounts, reports and audit log are its own; another tenant's local
// accounts and reports cannot be seen or acted on; moderation of a shared
// remote account holds for the tenant that did it only.
func TestAdminStoreTenantScoping(t *testing.T) {
	t.Parallel()
	as, _, ids := adminFixture(t)
	a, b := ids[0], ids[1]
	ctx := context.Background()
	var alice, troll, bob int64
	as.db.QueryRow(ctx, `select id from accounts where username = 'alice'`).Scan(&alice)
	as.db.QueryRow(ctx, `select id from accounts where username = 'troll'`).Scan(&troll)
	if err := as.db.QueryRow(ctx, `insert into accounts (tenant_id, domain, username, private_key_pem) values ($1, 'bob.test', 'bob', 'k') returning id`, b).Scan(&bob); err != nil {
		t.Fatal(err)
	}
	if _, err := as.db.Exec(ctx, `insert into follows (follower_id, followee_id, state, uri) values ($1, $2, 'accepted', 'https://alice.test/f/1')`, alice, troll); err != nil {
		t.Fatal(err)
	}

	sa, err := as.Stats(ctx, a, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	sb, _ := as.Stats(ctx, b, time.Now())
	if sa.Accounts != 1 || sa.Posts != 2 || sa.OpenReports != 1 || sa.RemoteAccounts != 1 || sa.DeliveriesPending != 2 ||
		sb.Accounts != 1 || sb.Posts != 0 || sb.OpenReports != 1 || sb.RemoteAccounts != 0 || sb.DeliveriesPending != 0 ||
		len(sb.TenantsByStatus) != 1 || sb.SignupsPending != 0 {
		t.Errorf("tenant stats %+v / %+v", sa, sb)
	}

	names := func(tenantID int64, q string) map[string]bool {
		rs, err := as.Accounts(ctx, tenant.AccountFilter{TenantID: tenantID, Query: q})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]bool{}
		for _, r := range rs {
			m[r.Username] = true
		}
		return m
	}
	if m := names(a, ""); len(m) != 2 || !m["alice"] || !m["troll"] {
		t.Errorf("A sees %v", m)
	}
	if m := names(b, ""); len(m) != 2 || !m["bob"] || !m["troll"] {
		t.Errorf("B sees %v", m)
	}
	if m := names(0, ""); len(m) != 3 {
		t.Errorf("the instance sees %v", m)
	}
	if m := names(a, "@troll@remote"); len(m) != 1 || !m["troll"] {
		t.Errorf("search %v", m)
	}
	if _, err := as.Account(ctx, a, bob); !errs.Is(err, errs.NotFound) {
		t.Errorf("A reads B's account: %v", err)
	}
	op := tenant.Actor{Email: "mod@alice.test"}
	if err := as.ModerateAccount(ctx, op, a, bob, "suspend", ""); !errs.Is(err, errs.NotFound) {
		t.Errorf("A suspends B's account: %v", err)
	}
	if err := as.ModerateAccount(ctx, op, a, troll, "silence", "spam"); err != nil {
		t.Fatal(err)
	}
	if err := as.ModerateAccount(ctx, op, a, troll, "dance", ""); !errs.Is(err, errs.Invalid) {
		t.Errorf("unknown action: %v", err)
	}
	da, err := as.Account(ctx, a, troll)
	if err != nil {
		t.Fatal(err)
	}
	db, _ := as.Account(ctx, b, troll)
	if da.SilencedAt == nil || db.SilencedAt != nil || len(da.Actions) != 1 || da.Actions[0].Action != "account.silence" ||
		len(db.Actions) != 0 || len(da.Reports) != 1 || len(db.Reports) != 1 || da.Reports[0].TenantID != a {
		t.Errorf("A's silence: A %+v, B %+v", da, db)
	}

	// Reports: each tenant its own; a tenant cannot resolve another's.
	ra, _ := as.OpenReports(ctx, a, 0)
	rb, _ := as.OpenReports(ctx, b, 0)
	if len(ra) != 1 || len(rb) != 1 || ra[0].TenantID != a || rb[0].TenantID != b {
		t.Fatalf("reports A %+v B %+v", ra, rb)
	}
	if res, err := as.ResolveReports(ctx, op, a, []int64{rb[0].ID}, "suspend"); err != nil || res.Resolved != 0 {
		t.Errorf("A resolved B's report: %+v %v", res, err)
	}
	if err := as.AssignReport(ctx, op, a, rb[0].ID, ""); !errs.Is(err, errs.NotFound) {
		t.Errorf("A assigned B's report: %v", err)
	}
	if _, err := as.ResolveReports(ctx, op, a, []int64{ra[0].ID}, "explode"); !errs.Is(err, errs.Invalid) {
		t.Errorf("unknown report action: %v", err)
	}
	// Resolving with "delete" on a tenant hides the reported remote post
	// from that tenant's viewers (the row is every tenant's); with
	// "suspend" suspends at the report's tenant.
	if res, err := as.ResolveReports(ctx, op, a, []int64{ra[0].ID}, "delete"); err != nil || res.Resolved != 1 || len(res.Delete) != 0 ||
		res.Hidden != 1 || res.Deleted != 0 {
		t.Fatalf("resolve with delete: %+v %v", res, err)
	}
	var left, hidden int
	as.db.QueryRow(ctx, `select count(*) from statuses where uri = 'https://remote.test/s/9'`).Scan(&left)
	as.db.QueryRow(ctx, `select count(*) from tenant_hidden_statuses where tenant_id = $1`, a).Scan(&hidden)
	if left != 1 || hidden != 1 {
		t.Errorf("tenant's delete of a remote post: %d left, %d hidden", left, hidden)
	}
	if res, err := as.ResolveReports(ctx, tenant.Actor{Email: "op@mail.test"}, 0, []int64{rb[0].ID}, "suspend"); err != nil || res.Resolved != 1 {
		t.Fatalf("operator resolves B's report: %+v %v", res, err)
	}
	if d, _ := as.Account(ctx, b, troll); d.SuspendedAt == nil {
		t.Errorf("not suspended at B")
	}
	if d, _ := as.Account(ctx, a, troll); d.SuspendedAt != nil {
		t.Errorf("B's suspension shows on A")
	}

	// Audit: a tenant reads its own entries; filters by actor, action,
	// target domain and dates.
	ea, _ := as.Audit(ctx, tenant.AuditFilter{TenantID: a})
	eb, _ := as.Audit(ctx, tenant.AuditFilter{TenantID: b})
	for _, e := range ea {
		if e.TenantID == nil || *e.TenantID != a {
			t.Errorf("A's log shows %+v", e)
		}
	}
	if len(ea) != 2 || len(eb) != 2 { // A: the silence and its resolution; B: the resolution and the suspension
		t.Errorf("audit A %d B %d", len(ea), len(eb))
	}
	tomorrow := time.Now().Add(24 * time.Hour)
	yesterday := time.Now().Add(-24 * time.Hour)
	for _, c := range []struct {
		f    tenant.AuditFilter
		want int
	}{
		{tenant.AuditFilter{TenantID: a, Action: "account.silence"}, 1},
		{tenant.AuditFilter{TenantID: b, Action: "account.silence"}, 0},
		{tenant.AuditFilter{TenantID: b, Actor: "op@MAIL"}, 2},
		{tenant.AuditFilter{TenantID: a, Actor: "op@mail"}, 0},
		{tenant.AuditFilter{TenantID: a, TargetDomain: "remote.test"}, 1},
		{tenant.AuditFilter{TenantID: a, From: &tomorrow}, 0},
		{tenant.AuditFilter{TenantID: a, From: &yesterday, To: &tomorrow, Action: "report.resolve"}, 1},
	} {
		if es, err := as.Audit(ctx, c.f); err != nil || len(es) != c.want {
			t.Errorf("Audit(%+v) = %d %v, want %d", c.f, len(es), err, c.want)
		}
	}
}

// Roles are stored per tenant with their permission sets; a session
// made on one tenant's /admin is none on another's; revoking ends the
// sessions; TOTP steps are spent once.
func TestAdminStoreRolesSessionsTOTP(t *testing.T) {
	t.Parallel()
	as, _, ids := adminFixture(t)
	a, b := ids[0], ids[1]
	ctx := context.Background()
	cli := tenant.Actor{}
	g, err := as.GrantRole(ctx, cli, "OP@mail.test", a, "moderator", 13)
	if err != nil || g.Perms != 13 {
		t.Fatalf("grant %+v %v", g, err)
	}
	if _, err := as.GrantRole(ctx, cli, "nobody@mail.test", a, "moderator", 13); !errs.Is(err, errs.NotFound) {
		t.Errorf("grant to nobody: %v", err)
	}
	u, _, err := as.UserByEmail(ctx, "op@mail.test", a)
	if err != nil || u.Role != "moderator" || u.Perms != 13 {
		t.Fatalf("on A %+v %v", u, err)
	}
	if u, _, _ := as.UserByEmail(ctx, "op@mail.test", b); u.Role != "" || u.Perms != 0 {
		t.Errorf("on B %+v", u)
	}
	tok := make([]byte, 32)
	tok[0] = 7
	now := time.Now()
	if err := as.CreateSession(ctx, u.ID, a, tok, now.Add(time.Hour), true); err != nil {
		t.Fatal(err)
	}
	if s, err := as.SessionUser(ctx, tok, a, now); err != nil || !s.Pending || s.User.Role != "moderator" {
		t.Fatalf("session on A %+v %v", s, err)
	}
	for _, other := range []int64{0, b} {
		if _, err := as.SessionUser(ctx, tok, other, now); !errs.Is(err, errs.NotFound) {
			t.Errorf("A's session on %d: %v", other, err)
		}
	}
	if err := as.CompleteSession(ctx, tok, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if s, _ := as.SessionUser(ctx, tok, a, now); s == nil || s.Pending {
		t.Errorf("completed session %+v", s)
	}
	if rs, _ := as.Roles(ctx, b); len(rs) != 0 {
		t.Errorf("B's roles %+v", rs)
	}
	if rs, _ := as.Roles(ctx, a); len(rs) != 1 || rs[0].Email != "op@mail.test" {
		t.Errorf("A's roles %+v", rs)
	}
	if err := as.RevokeRole(ctx, cli, u.ID, a); err != nil {
		t.Fatal(err)
	}
	if _, err := as.SessionUser(ctx, tok, a, now); !errs.Is(err, errs.NotFound) {
		t.Errorf("session after revocation: %v", err)
	}
	if es, _ := as.Audit(ctx, tenant.AuditFilter{TenantID: a, Action: "role.revoke"}); len(es) != 1 {
		t.Errorf("revoke audit %+v", es)
	}

	if err := as.SetPendingTOTP(ctx, u.ID, "JBSWY3DPEHPK3PXP"); err != nil {
		t.Fatal(err)
	}
	if ok, err := as.UseTOTPStep(ctx, cli, u.ID, 100, true); err != nil || !ok {
		t.Fatalf("confirm %v %v", ok, err)
	}
	if secret, pending, _ := as.TOTP(ctx, u.ID); secret != "JBSWY3DPEHPK3PXP" || pending != "" {
		t.Errorf("after confirm %q %q", secret, pending)
	}
	if u, _, _ := as.UserByEmail(ctx, "op@mail.test", 0); !u.TOTPEnabled {
		t.Errorf("TOTP not on")
	}
	for step, want := range map[int64]bool{100: false, 99: false} {
		if ok, _ := as.UseTOTPStep(ctx, cli, u.ID, step, false); ok != want {
			t.Errorf("step %d: %v", step, ok)
		}
	}
	if ok, _ := as.UseTOTPStep(ctx, cli, u.ID, 101, false); !ok {
		t.Errorf("next step refused")
	}
	if err := as.DisableTOTP(ctx, tenant.Actor{Email: "op@mail.test"}, 7, u.ID); !errs.Is(err, errs.Forbidden) {
		t.Errorf("a tenant's dashboard disables a login's TOTP: %v", err)
	}
	if err := as.DisableTOTP(ctx, tenant.Actor{Email: "op@mail.test"}, 0, u.ID); err != nil {
		t.Fatal(err)
	}
	if u, _, _ := as.UserByEmail(ctx, "op@mail.test", 0); u.TOTPEnabled {
		t.Errorf("TOTP still on")
	}
}

// Moderation takes effect: a local account suspended at its tenant's
// scope cannot sign in through OAuth and its tokens are revoked; unsuspended
// it can again; "sensitive" marks its posts.
func TestAdminStoreSuspensionStopsSignIn(t *testing.T) {
	t.Parallel()
	as, _, ids := adminFixture(t)
	a := ids[0]
	ctx := context.Background()
	hash, err := tenant.HashPassword("alice password")
	if err != nil {
		t.Fatal(err)
	}
	var alice, uid, app int64
	as.db.QueryRow(ctx, `select id from accounts where username = 'alice'`).Scan(&alice)
	if err := as.db.QueryRow(ctx, `insert into users (email, password_hash) values ('alice@mail.test', $1) returning id`, hash).Scan(&uid); err != nil {
		t.Fatal(err)
	}
	exec(t, as.db, `insert into user_accounts (user_id, account_id) values ($1, $2)`, uid, alice)
	if err := as.db.QueryRow(ctx, `insert into oauth_apps (tenant_id, client_id, client_secret_hash, name, redirect_uris, scopes)
		values ($1, 'c', '\x00', 'app', '{urn:ietf:wg:oauth:2.0:oob}', 'read') returning id`, a).Scan(&app); err != nil {
		t.Fatal(err)
	}
	exec(t, as.db, `insert into oauth_tokens (tenant_id, app_id, account_id, token_hash, scopes) values ($1, $2, $3, '\x01', 'read')`, a, app, alice)
	logins := NewOAuthStore(as.db)
	if id, _, err := logins.Login(ctx, a, "alice.test", "alice@mail.test", "alice password"); err != nil || id != alice {
		t.Fatalf("sign-in before: %d %v", id, err)
	}
	mod := tenant.Actor{Email: "mod@alice.test"}
	if err := as.ModerateAccount(ctx, mod, a, alice, "suspend", ""); err != nil {
		t.Fatal(err)
	}
	if _, _, err := logins.Login(ctx, a, "alice.test", "alice@mail.test", "alice password"); err == nil {
		t.Fatal("a suspended account signed in")
	}
	var live int
	as.db.QueryRow(ctx, `select count(*) from oauth_tokens where account_id = $1 and revoked_at is null`, alice).Scan(&live)
	if live != 0 {
		t.Errorf("%d tokens still live", live)
	}
	if err := as.ModerateAccount(ctx, mod, a, alice, "unsuspend", ""); err != nil {
		t.Fatal(err)
	}
	if id, _, err := logins.Login(ctx, a, "alice.test", "alice@mail.test", "alice password"); err != nil || id != alice {
		t.Fatalf("sign-in after unsuspension: %d %v", id, err)
	}
	if err := as.ModerateAccount(ctx, mod, a, alice, "sensitive", ""); err != nil {
		t.Fatal(err)
	}
	var plain int
	as.db.QueryRow(ctx, `select count(*) from statuses where account_id = $1 and not sensitive`, alice).Scan(&plain)
	if plain != 0 {
		t.Errorf("%d posts not marked sensitive", plain)
	}
}
