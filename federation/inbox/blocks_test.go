package inbox_test

import (
	"context"
	"strings"
	"testing"

	"github.com/roost-social/roost/federation/domainblock"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/internal/errs"
)

// A suspended domain's deliveries are refused with 403 before its key is
// fetched and nothing is queued; the block is per tenant, and lifting it
// lets the same delivery in.
func TestSuspendedDomainRefusedBeforeKeyFetch(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	store := fedpg.New(f.db)
	cache := &domainblock.Cache{Source: store}
	if err := cache.Load(ctx); err != nil {
		t.Fatal(err)
	}
	f.svc.Blocks = cache
	// The tenant (id 1) suspends the parent domain of remote.test.
	if _, err := store.SaveDomainBlock(ctx, domainblock.Block{TenantID: 1, Domain: "test", Severity: domainblock.Suspend}); err != nil {
		t.Fatal(err)
	}
	if err := cache.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	req := f.post(t, "a.example", eve+"#main-key", keyA, follow(eve, eve+"#follows/1"))
	err := f.svc.Receive(ctx, req)
	wantCode(t, err, errs.Forbidden)
	if n := f.remote.requests.Load(); n != 0 {
		t.Fatalf("%d key fetches for a suspended domain, want 0", n)
	}
	if n := f.items(t); n != 0 {
		t.Fatalf("%d inbox items queued from a suspended domain", n)
	}
	// Another tenant's inbox is not affected by tenant 1's block.
	other := req
	other.TenantID = 2
	if _, err := f.db.Exec(ctx, `insert into tenants (id, name) overriding system value values (2, 'B')`); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Receive(ctx, other); err != nil {
		t.Fatalf("tenant 2 refused a domain only tenant 1 blocks: %v", err)
	}
	// Lifting the block lets tenant 1's delivery in.
	bs, _ := store.ListDomainBlocks(ctx, 1, "")
	if _, err := store.DeleteDomainBlock(ctx, 1, bs[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := cache.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Receive(ctx, req); err != nil {
		t.Fatalf("after lifting the block: %v", err)
	}
	if n := f.items(t); n != 2 {
		t.Fatalf("%d inbox items, want 2 (one per tenant)", n)
	}
}

// The processor applies the blocks in force when it runs: Flags from a
// domain rejecting reports are ignored, attachments from one rejecting
// media are not kept, and items queued before a suspension are dropped.
func TestProcessorAppliesDomainBlocks(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	cache := &domainblock.Cache{Source: w.store}
	w.proc.Blocks = cache
	if _, err := w.store.SaveDomainBlock(ctx, domainblock.Block{TenantID: w.tenantID, Domain: "remote.test",
		Severity: domainblock.Noop, RejectMedia: true, RejectReports: true}); err != nil {
		t.Fatal(err)
	}
	if err := cache.Load(ctx); err != nil {
		t.Fatal(err)
	}
	w.store.CreateFollow(ctx, w.alice.ID, w.eve.ID, "https://a.example/f/1", "accepted")
	n := note("https://remote.test/users/eve/statuses/1", "https://remote.test/users/eve", "<p>look</p>",
		[]string{"https://www.w3.org/ns/activitystreams#Public"}, nil)
	n["attachment"] = []any{map[string]any{"type": "Document", "mediaType": "image/png", "url": "https://remote.test/m/1.png"}}
	if r := w.deliver(t, w.eve, map[string]any{"type": "Create", "object": n}); r != "" {
		t.Fatal(r)
	}
	// A tenant's own reject-media block hides the media from that tenant's
	// viewers when rendered (api/mastodon); the post is stored once for the
	// instance, so its attachments stay for the other tenants.
	if got := w.one(t, `select jsonb_array_length(attachments) from statuses where uri = $1`, n["id"]); got != "1" {
		t.Fatalf("a tenant's reject-media block stripped the instance's copy: %s attachments", got)
	}
	// The instance rejecting the domain's media: never stored.
	if _, err := w.store.SaveDomainBlock(ctx, domainblock.Block{Domain: "remote.test",
		Severity: domainblock.Noop, RejectMedia: true}); err != nil {
		t.Fatal(err)
	}
	if err := cache.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	n2 := note("https://remote.test/users/eve/statuses/2", "https://remote.test/users/eve", "<p>again</p>",
		[]string{"https://www.w3.org/ns/activitystreams#Public"}, nil)
	n2["attachment"] = n["attachment"]
	if r := w.deliver(t, w.eve, map[string]any{"type": "Create", "object": n2}); r != "" {
		t.Fatal(r)
	}
	if got := w.one(t, `select jsonb_array_length(attachments) from statuses where uri = $1`, n2["id"]); got != "0" {
		t.Fatalf("attachments kept from a domain whose media the instance rejects: %s", got)
	}
	if r := w.deliver(t, w.mal, map[string]any{"type": "Flag", "object": []any{aliceURI}, "content": "x", "id": "https://remote.test/flags/1"}); !strings.Contains(r, "reports") {
		t.Fatalf("Flag outcome %q, want ignored", r)
	}
	if got := w.one(t, `select count(*) from reports`); got != "0" {
		t.Fatalf("a report was stored: %s", got)
	}
	// Suspended now: a Follow already queued is dropped when processed.
	if _, err := w.store.SaveDomainBlock(ctx, domainblock.Block{TenantID: w.tenantID, Domain: "remote.test", Severity: domainblock.Suspend}); err != nil {
		t.Fatal(err)
	}
	if err := cache.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if r := w.deliver(t, w.mal, map[string]any{"type": "Follow", "object": aliceURI, "id": "https://remote.test/f/9"}); !strings.Contains(r, "suspended") {
		t.Fatalf("Follow outcome %q, want dropped", r)
	}
	if got := w.one(t, `select count(*) from follows where follower_id = $1`, w.mal.ID); got != "0" {
		t.Fatalf("a follow from a suspended domain was stored")
	}
}
