package postgres

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

// adminFixture is two tenants with accounts, posts, a delivery queue and
// an open report, built in SQL.
func adminFixture(t *testing.T) (*AdminStore, *Store, []int64) {
	t.Helper()
	s, db := newStore(t)
	a := create(t, s, "Alice's", "alice.test", "social.alice.test")
	b := create(t, s, "Bob's", "bob.test", "")
	exec(t, db, `insert into users (email, password_hash) values ('op@mail.test', 'x')`)
	var acct, remote int64
	ctx := context.Background()
	if err := db.QueryRow(ctx, `insert into accounts (tenant_id, domain, username, private_key_pem) values ($1, 'alice.test', 'alice', 'k') returning id`, a.ID).Scan(&acct); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `insert into accounts (domain, username, uri) values ('remote.test', 'troll', 'https://remote.test/u/troll') returning id`).Scan(&remote); err != nil {
		t.Fatal(err)
	}
	exec(t, db, `insert into statuses (account_id, tenant_id, uri, content, visibility, published_at)
		values ($1, $2, 'https://alice.test/s/1', '<p>hello &amp; welcome</p>', 'public', now() - interval '2 days'),
		       ($1, $2, 'https://alice.test/s/2', 'again', 'public', now())`, acct, a.ID)
	exec(t, db, `insert into statuses (account_id, uri, content, visibility, published_at)
		values ($1, 'https://remote.test/s/9', 'bad post', 'public', now())`, remote)
	exec(t, db, `insert into deliveries (sender_id, activity_id, inbox_url, host, body, state, created_at)
		values ($1, 'a1', 'https://remote.test/inbox', 'remote.test', '{}', 'pending', now() - interval '10 minutes'),
		       ($1, 'a2', 'https://other.test/inbox', 'other.test', '{}', 'pending', now())`, acct)
	exec(t, db, `insert into deliveries (sender_id, activity_id, inbox_url, host, body, state, delivered_at)
		values ($1, 'a3', 'https://remote.test/inbox', 'remote.test', '{}', 'delivered', now())`, acct)
	exec(t, db, `insert into reports (tenant_id, reporter_id, target_account_id, status_uris, comment)
		values ($1, $2, $3, '{https://remote.test/s/9}', 'spam')`, a.ID, acct, remote)
	exec(t, db, `insert into reports (tenant_id, target_account_id, comment, uri)
		values ($1, $2, 'from a Flag', 'https://remote.test/flag/1')`, b.ID, remote)
	return NewAdminStore(db), s, []int64{a.ID, b.ID}
}

func TestAdminStoreStatsFromRealTables(t *testing.T) {
	t.Parallel()
	as, _, _ := adminFixture(t)
	st, err := as.Stats(context.Background(), 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if st.TenantsByStatus["active"] != 2 || st.Accounts != 1 || st.RemoteAccounts != 1 || st.Posts != 2 {
		t.Errorf("counts %+v", st)
	}
	if st.ActiveDay != 1 || st.ActiveMonth != 1 {
		t.Errorf("active %d/%d", st.ActiveDay, st.ActiveMonth)
	}
	if st.DeliveriesPending != 2 || st.DeliveredHour != 1 || st.OldestPending == nil || time.Since(*st.OldestPending) < 9*time.Minute {
		t.Errorf("deliveries %+v", st)
	}
	if st.DeliveredMinute != 1 || st.FailedMinute != 0 || st.InboxMinute != 0 || st.StorageBytes != 0 {
		t.Errorf("live rates and storage %+v", st)
	}
	if st.OpenReports != 2 {
		t.Errorf("open reports %d", st.OpenReports)
	}
	if len(st.PostsPerDay) != 30 {
		t.Fatalf("%d days", len(st.PostsPerDay))
	}
	var sum int64
	for _, d := range st.PostsPerDay {
		sum += d.N
	}
	if sum != 2 || st.PostsPerDay[29].N != 1 {
		t.Errorf("posts per day %+v", st.PostsPerDay)
	}
}

func TestAdminStoreTenantsSearchAndDetail(t *testing.T) {
	t.Parallel()
	as, _, ids := adminFixture(t)
	ctx := context.Background()
	for _, c := range []struct {
		f    tenant.TenantFilter
		want int
	}{
		{tenant.TenantFilter{}, 2},
		{tenant.TenantFilter{Query: "ALICE"}, 1},
		{tenant.TenantFilter{Query: "social.alice"}, 1},
		{tenant.TenantFilter{Query: "%"}, 0},
		{tenant.TenantFilter{Status: "pending"}, 0},
		{tenant.TenantFilter{Status: "active", Query: "bob.test"}, 1},
	} {
		ts, err := as.Tenants(ctx, c.f)
		if err != nil || len(ts) != c.want {
			t.Errorf("Tenants(%+v) = %d, %v; want %d", c.f, len(ts), err, c.want)
		}
	}
	d, err := as.Tenant(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if d.Accounts != 1 || d.Posts != 2 || d.OpenReports != 1 || len(d.DomainList) != 1 ||
		d.DomainList[0].ServiceDomain != "social.alice.test" || d.DomainList[0].VerifiedAt == nil {
		t.Errorf("detail %+v", d)
	}
	if _, err := as.Tenant(ctx, 99999); !errs.Is(err, errs.NotFound) {
		t.Errorf("missing tenant: %v", err)
	}
}

func TestAdminStoreSuspendApproveAudited(t *testing.T) {
	t.Parallel()
	as, s, ids := adminFixture(t)
	ctx := context.Background()
	op := tenant.Actor{Email: "op@mail.test"}
	if err := as.db.QueryRow(ctx, `select id from users where email = 'op@mail.test'`).Scan(&op.UserID); err != nil {
		t.Fatal(err)
	}
	hosts, err := as.SetTenantStatus(ctx, op, ids[0], "active", "suspended", "tenant.suspend")
	if err != nil {
		t.Fatal(err)
	}
	if len(hosts) != 2 || hosts[0] != "alice.test" || hosts[1] != "social.alice.test" {
		t.Errorf("hosts %v", hosts)
	}
	if site, err := s.SiteByHost(ctx, "alice.test"); err != nil || site.Status != tenant.Suspended {
		t.Errorf("site after suspension %+v %v", site, err)
	}
	if _, err := as.SetTenantStatus(ctx, op, ids[0], "pending", "active", "tenant.approve"); !errs.Is(err, errs.Invalid) {
		t.Errorf("approving a suspended tenant: %v", err)
	}
	if _, err := as.SetTenantStatus(ctx, op, ids[0], "suspended", "active", "tenant.unsuspend"); err != nil {
		t.Fatal(err)
	}
	es, err := as.Audit(ctx, tenant.AuditFilter{})
	if err != nil || len(es) != 2 {
		t.Fatalf("audit %+v %v", es, err)
	}
	if es[0].Action != "tenant.unsuspend" || es[1].Action != "tenant.suspend" || es[1].UserEmail != "op@mail.test" ||
		es[1].TenantID == nil || *es[1].TenantID != ids[0] || es[1].Target != "tenant "+strconv.FormatInt(ids[0], 10) {
		t.Errorf("entries %+v", es)
	}
	if es, _ := as.Audit(ctx, tenant.AuditFilter{Action: "tenant.suspend"}); len(es) != 1 {
		t.Errorf("filtered audit %+v", es)
	}
}

func TestAdminStoreReportsResolvedInBulk(t *testing.T) {
	t.Parallel()
	as, _, _ := adminFixture(t)
	ctx := context.Background()
	rs, err := as.OpenReports(ctx, 0, 0)
	if err != nil || len(rs) != 2 {
		t.Fatalf("open %+v %v", rs, err)
	}
	// Newest first: the inbound Flag has no reporter and no posts.
	if rs[0].Reporter != nil || rs[0].URI == "" || rs[1].Reporter == nil || rs[1].Reporter.Username != "alice" ||
		rs[1].Target.Username != "troll" || rs[1].Target.Local || len(rs[1].Posts) != 1 || rs[1].Posts[0].Content != "bad post" {
		t.Errorf("reports %+v", rs)
	}
	res, err := as.ResolveReports(ctx, tenant.Actor{Email: "op@mail.test"}, 0, []int64{rs[0].ID, rs[1].ID, 424242}, "none")
	if err != nil || res.Resolved != 2 {
		t.Fatalf("resolved %+v %v", res, err)
	}
	if res, _ := as.ResolveReports(ctx, tenant.Actor{}, 0, []int64{rs[0].ID}, "none"); res.Resolved != 0 {
		t.Errorf("resolved again: %d", res.Resolved)
	}
	if rs, _ := as.OpenReports(ctx, 0, 0); len(rs) != 0 {
		t.Errorf("still open %+v", rs)
	}
	if es, _ := as.Audit(ctx, tenant.AuditFilter{Action: "report.resolve"}); len(es) != 2 {
		t.Errorf("audit %+v", es)
	}
}

func TestAdminStoreOperatorSessions(t *testing.T) {
	t.Parallel()
	as, _, _ := adminFixture(t)
	ctx := context.Background()
	u, err := as.GrantOperator(ctx, "OP@mail.test", true)
	if err != nil || !u.IsOperator {
		t.Fatalf("grant %+v %v", u, err)
	}
	if _, err := as.GrantOperator(ctx, "nobody@mail.test", true); !errs.Is(err, errs.NotFound) {
		t.Errorf("granting a missing login: %v", err)
	}
	got, hash, err := as.UserByEmail(ctx, "op@MAIL.test", 0)
	if err != nil || got.ID != u.ID || hash != "x" {
		t.Fatalf("by email %+v %q %v", got, hash, err)
	}
	tok := make([]byte, 32)
	now := time.Now()
	if err := as.CreateSession(ctx, u.ID, 0, tok, now.Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}
	if su, err := as.SessionUser(ctx, tok, 0, now); err != nil || su.User.ID != u.ID || !su.User.IsOperator || su.Pending {
		t.Fatalf("session %+v %v", su, err)
	}
	if _, err := as.SessionUser(ctx, tok, 0, now.Add(2*time.Hour)); !errs.Is(err, errs.NotFound) {
		t.Errorf("expired session: %v", err)
	}
	as.DeleteSession(ctx, tok)
	if _, err := as.SessionUser(ctx, tok, 0, now); !errs.Is(err, errs.NotFound) {
		t.Errorf("deleted session: %v", err)
	}
	if es, _ := as.Audit(ctx, tenant.AuditFilter{Action: "operator.grant"}); len(es) != 1 || es[0].Target != "op@mail.test" {
		t.Errorf("grant audit %+v", es)
	}
}
