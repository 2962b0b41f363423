package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/domainblock"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/testenv"
)

// Domain blocks are scoped: a tenant's list and changes never reach the
// instance's rows or another tenant's; suspensions keep deliveries from
// being queued and fail pending ones; imports are undone exactly.
func TestDomainBlocksScopeImportUndo(t *testing.T) {
	db := testenv.DB(t)
	s := fedpg.New(db)
	ctx := context.Background()
	ta := newTenant(t, db, "a.example")
	tb := newTenant(t, db, "b.example")
	alice := mustCreate(t, s, newAccount(t, ta.ID, "a.example", "alice", "alice@a.example"))
	bob := mustCreate(t, s, newAccount(t, tb.ID, "b.example", "bob", "bob@b.example"))

	v0, err := s.DomainBlocksVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Tenant A silences spam.example by hand; the instance suspends evil.example.
	if created, err := s.SaveDomainBlock(ctx, domainblock.Block{TenantID: ta.ID, Domain: "Spam.Example", Severity: domainblock.Silence,
		PrivateComment: "ours"}); err != nil || !created {
		t.Fatalf("save tenant block: created=%v err=%v", created, err)
	}
	// A pending delivery of bob's to evil.example is failed by the suspension.
	ids, err := s.AddDeliveries(ctx, bob.ID, "https://b.example/act/1", []byte(`{}`), []string{"https://sub.evil.example:8443/inbox"}, false)
	if err != nil || len(ids) != 1 {
		t.Fatalf("add delivery before the block: %v %v", ids, err)
	}
	if _, err := s.SaveDomainBlock(ctx, domainblock.Block{Domain: "evil.example", Severity: domainblock.Suspend}); err != nil {
		t.Fatal(err)
	}
	if st := count(t, db, `select count(*) from deliveries where id = $1 and state = 'failed' and last_error like 'domain suspended%'`, ids[0]); st != 1 {
		t.Fatalf("pending delivery to a suspended subdomain not failed")
	}
	if v, _ := s.DomainBlocksVersion(ctx); v <= v0 {
		t.Fatalf("version did not move: %d → %d", v0, v)
	}
	// Nothing is queued for a suspended domain (or subdomain); other hosts are.
	ids, err = s.AddDeliveries(ctx, alice.ID, "https://a.example/act/2", []byte(`{}`),
		[]string{"https://evil.example/inbox", "https://x.evil.example/inbox", "https://good.example/inbox"}, false)
	if err != nil || len(ids) != 1 {
		t.Fatalf("deliveries queued = %v (%v), want only good.example's", ids, err)
	}

	// Scopes: each sees only its own.
	if bs, _ := s.ListDomainBlocks(ctx, 0, ""); len(bs) != 1 || bs[0].Domain != "evil.example" || bs[0].TenantID != 0 {
		t.Fatalf("instance blocks = %+v", bs)
	}
	tbBlocks, _ := s.ListDomainBlocks(ctx, tb.ID, "")
	if len(tbBlocks) != 0 {
		t.Fatalf("tenant B sees %+v", tbBlocks)
	}
	aBlocks, _ := s.ListDomainBlocks(ctx, ta.ID, "")
	if len(aBlocks) != 1 || aBlocks[0].Domain != "spam.example" {
		t.Fatalf("tenant A blocks = %+v", aBlocks)
	}
	inst, _ := s.ListDomainBlocks(ctx, 0, "")
	_, err = s.GetDomainBlock(ctx, tb.ID, aBlocks[0].ID)
	wantCode(t, err, errs.NotFound)
	_, err = s.DeleteDomainBlock(ctx, tb.ID, aBlocks[0].ID)
	wantCode(t, err, errs.NotFound)
	_, err = s.DeleteDomainBlock(ctx, ta.ID, inst[0].ID)
	wantCode(t, err, errs.NotFound)

	// The cache's policy: instance blocks for all, tenant blocks for theirs.
	all, _, err := s.AllDomainBlocks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := domainblock.NewPolicy(all)
	if !p.Check(tb.ID, "deep.sub.evil.example:443").Suspend || !p.Check(ta.ID, "spam.example").Silence || p.Check(tb.ID, "spam.example").Silence {
		t.Fatalf("policy wrong: %+v", all)
	}

	// Import into tenant A: one add, one change (spam.example), one unchanged.
	if _, err := s.SaveDomainBlock(ctx, domainblock.Block{TenantID: ta.ID, Domain: "same.example", Severity: domainblock.Suspend}); err != nil {
		t.Fatal(err)
	}
	list, err := domainblock.ParseList([]byte("#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n" +
		"new.example,suspend,false,false,spam,false\nspam.example,suspend,true,true,,false\nsame.example,suspend,false,false,,false\n"))
	if err != nil {
		t.Fatal(err)
	}
	changes, err := s.PreviewImport(ctx, ta.ID, list)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, c := range changes {
		kinds[c.New.Domain] = c.Kind
	}
	if kinds["new.example"] != domainblock.Add || kinds["spam.example"] != domainblock.Update || kinds["same.example"] != domainblock.Unchanged {
		t.Fatalf("preview = %v", kinds)
	}
	if n := count(t, db, `select count(*) from domain_blocks where domain = 'new.example'`); n != 0 {
		t.Fatal("preview changed something")
	}
	imp, err := s.ApplyImport(ctx, ta.ID, "test list", domainblock.By{UserID: 0, Email: "op@example"}, list)
	if err != nil || imp.Added != 1 || imp.Changed != 1 {
		t.Fatalf("import = %+v, %v", imp, err)
	}
	b, _ := s.ListDomainBlocks(ctx, ta.ID, "spam")
	if len(b) != 1 || b[0].Severity != domainblock.Suspend || !b[0].RejectMedia || b[0].PrivateComment != "ours" {
		t.Fatalf("changed block = %+v", b)
	}
	// Tenant B cannot undo A's import.
	_, err = s.UndoImport(ctx, tb.ID, imp.ID)
	wantCode(t, err, errs.NotFound)
	res, err := s.UndoImport(ctx, ta.ID, imp.ID)
	if err != nil || res.Removed != 1 || res.Restored != 1 || res.Skipped != 0 {
		t.Fatalf("undo = %+v, %v", res, err)
	}
	after, _ := s.ListDomainBlocks(ctx, ta.ID, "")
	got := map[string]domainblock.Block{}
	for _, b := range after {
		got[b.Domain] = b
	}
	if _, ok := got["new.example"]; ok || len(got) != 2 || got["spam.example"].Severity != domainblock.Silence ||
		got["spam.example"].RejectMedia || got["spam.example"].PrivateComment != "ours" {
		t.Fatalf("after undo: %+v", after)
	}
	_, err = s.UndoImport(ctx, ta.ID, imp.ID)
	wantCode(t, err, errs.Conflict)
	// The instance's blocks were never touched by the tenant's import.
	if bs, _ := s.ListDomainBlocks(ctx, 0, ""); len(bs) != 1 {
		t.Fatalf("instance blocks changed: %+v", bs)
	}
	imps, _ := s.Imports(ctx, tb.ID, 10)
	if len(imps) != 0 {
		t.Fatalf("tenant B sees imports %+v", imps)
	}

	// Retrying dead letters skips a suspended host and is scoped.
	dead, err := s.Deliveries(ctx, tb.ID, "failed", "", 10)
	if err != nil || len(dead) != 1 {
		t.Fatalf("tenant B dead letters = %+v %v", dead, err)
	}
	if d, _ := s.Deliveries(ctx, ta.ID, "failed", "", 10); len(d) != 0 {
		t.Fatalf("tenant A sees B's dead letters: %+v", d)
	}
	if ids, err := s.RetryDeliveries(ctx, 0, nil); err != nil || len(ids) != 0 {
		t.Fatalf("retried a delivery to a suspended host: %v %v", ids, err)
	}
	if n, err := s.DiscardDeliveries(ctx, ta.ID, nil); err != nil || n != 0 {
		t.Fatalf("tenant A discarded B's: %d %v", n, err)
	}
	if n, err := s.DiscardDeliveries(ctx, tb.ID, []int64{dead[0].ID}); err != nil || n != 1 {
		t.Fatalf("discard = %d %v", n, err)
	}
}

func TestRemoteHostStateAndCounts(t *testing.T) {
	db := testenv.DB(t)
	s := fedpg.New(db)
	ctx := context.Background()
	ta := newTenant(t, db, "a.example")
	alice := mustCreate(t, s, newAccount(t, ta.ID, "a.example", "alice", "alice@a.example"))
	if _, err := s.AddDeliveries(ctx, alice.ID, "https://a.example/act/1", []byte(`{}`), []string{"https://far.example:8443/inbox"}, false); err != nil {
		t.Fatal(err)
	}
	hosts, err := s.DueNodeInfo(ctx, timeNow(), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	_ = hosts
	if err := s.RecordHostStates(ctx, []domainblock.HostState{{Host: "far.example:8443", Delivered: false, Error: "status 500",
		ConsecutiveFailures: 5, BreakerUntil: timeNow().Add(60e9), At: timeNow()}}); err != nil {
		t.Fatal(err)
	}
	h, err := s.RemoteHost(ctx, 0, "far.example")
	if err != nil {
		t.Fatal(err)
	}
	if h.Pending != 1 || h.ConsecutiveFailures != 5 || h.BreakerUntil == nil || h.LastError != "status 500" {
		t.Fatalf("host = %+v", h)
	}
	if err := s.RecordNodeInfo(ctx, "far.example", "mastodon", "4.3.0", "", timeNow(), timeNow().Add(3600e9)); err != nil {
		t.Fatal(err)
	}
	hs, err := s.RemoteHosts(ctx, ta.ID, "far", 10)
	if err != nil || len(hs) != 1 || hs[0].Software != "mastodon" || hs[0].Pending != 1 {
		t.Fatalf("hosts = %+v %v", hs, err)
	}
	c, err := s.QueueCounts(ctx, 0, timeNow())
	if err != nil || c.Pending != 1 {
		t.Fatalf("counts = %+v %v", c, err)
	}
}

func timeNow() time.Time { return time.Now() }

// A silenced domain's posts stay out of the public timeline of the
// tenant that silenced it (and of every tenant when the instance did),
// while its other tenants and the home feed are unchanged.
func TestSilencedDomainLeavesPublicTimeline(t *testing.T) {
	w := newMoreWorld(t)
	ctx := context.Background()
	dave := w.remote("dave")
	w.follow(w.alice, dave)
	w.follow(w.carol, dave)
	stA := w.remotePost(dave, w.ta, "hello A", "")
	stB := w.remotePost(dave, w.tb, "hello B", "")
	public := func(tenant int64) []int64 {
		ids, err := w.s.PublicTimeline(ctx, tenant, 0, true, true, federation.Page{Limit: 20})
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if len(public(w.ta)) != 1 || len(public(w.tb)) != 1 {
		t.Fatalf("before: %v %v", public(w.ta), public(w.tb))
	}
	// Tenant A silences the parent domain: its own timeline drops dave's post.
	if _, err := w.s.SaveDomainBlock(ctx, domainblock.Block{TenantID: w.ta, Domain: "example", Severity: domainblock.Silence}); err != nil {
		t.Fatal(err)
	}
	if got := public(w.ta); len(got) != 0 {
		t.Fatalf("tenant A's public timeline keeps a silenced post: %v (%d)", got, stA.ID)
	}
	if got := public(w.tb); len(got) != 1 || got[0] != stB.ID {
		t.Fatalf("tenant B's public timeline lost dave's post: %v", got)
	}
	home, err := w.s.HomeTimeline(ctx, w.alice.ID, federation.Page{Limit: 20})
	if err != nil || len(home) != 1 {
		t.Fatalf("alice's home feed (she follows dave): %v %v", home, err)
	}
}
