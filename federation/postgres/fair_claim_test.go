package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/internal/testenv"
)

// fairSender creates a tenant with one local account and returns the
// account id and tenant id.
func fairSender(t *testing.T, db *pgxpool.Pool, name string) (sender, tenantID int64) {
	t.Helper()
	ctx := context.Background()
	if err := db.QueryRow(ctx, `insert into tenants (name) values ($1) returning id`, name).Scan(&tenantID); err != nil {
		t.Fatal(err)
	}
	domain := name + ".test"
	if _, err := db.Exec(ctx, `insert into domains (domain, tenant_id, verification_token, verified_at) values ($1, $2, 't', now())`, domain, tenantID); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `insert into accounts (tenant_id, domain, username, private_key_pem) values ($1, $2, 'u', 'k') returning id`,
		tenantID, domain).Scan(&sender); err != nil {
		t.Fatal(err)
	}
	return sender, tenantID
}

func manyInboxes(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("https://r%d.%s/inbox", i, prefix)
	}
	return out
}

// Tenant A fans out 20,000 deliveries (express: a reply reaches every
// follower) before tenant B sends one direct message, and before B posts
// to one follower (bulk). Claimed in arrival order — as the delivery
// stream was read — B's rows came after A's 20,000. Claimed fairly, both
// of B's rows are in the first batch, and A still fills every batch.
func TestIssue20FairnessQuietTenantClaimedInFirstBatch(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	s := fedpg.New(db)
	a, _ := fairSender(t, db, "a")
	b, tenantB := fairSender(t, db, "b")
	if _, err := s.AddDeliveries(ctx, a, "https://a.test/reply/1", []byte(`{}`), manyInboxes("a", 20000), true); err != nil {
		t.Fatal(err)
	}
	dm, err := s.AddDeliveries(ctx, b, "https://b.test/dm/1", []byte(`{}`), []string{"https://far.example/inbox"}, true)
	if err != nil {
		t.Fatal(err)
	}
	post, err := s.AddDeliveries(ctx, b, "https://b.test/post/1", []byte(`{}`), []string{"https://near.example/inbox"}, false)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Add(time.Second) // every row is due
	const batch = 64
	ds, senders, cursor, err := s.ClaimDeliveries(ctx, 0, batch, now, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != batch {
		t.Fatalf("first claim: %d rows, want a full batch of %d", len(ds), batch)
	}
	pos := map[int64]int{}
	for i, d := range ds {
		pos[d.ID] = i
		if !d.Leased || senders[d.SenderID] == nil {
			t.Fatalf("row %d: leased %v, sender %v", d.ID, d.Leased, senders[d.SenderID])
		}
	}
	dmAt, ok1 := pos[dm[0]]
	postAt, ok2 := pos[post[0]]
	if !ok1 || !ok2 {
		t.Fatalf("B's direct message claimed %v, B's post claimed %v, in the first batch of %d beside A's 20,000", ok1, ok2, batch)
	}
	// Express first: B's direct message ranks with A's first row, ahead
	// of B's bulk post.
	if dmAt > 1 || postAt > 3 {
		t.Fatalf("B's direct message at %d, post at %d: want the first ranks", dmAt, postAt)
	}
	if senders[ds[dmAt].SenderID].TenantID != tenantB {
		t.Fatalf("the direct message's sender is not B's")
	}
	// The next batches are A's alone, full: a lone busy tenant keeps
	// its throughput, and no row is claimed twice.
	for range 3 {
		next, _, c, err := s.ClaimDeliveries(ctx, cursor, batch, now, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		cursor = c
		if len(next) != batch {
			t.Fatalf("a later claim: %d rows, want %d", len(next), batch)
		}
		for _, d := range next {
			if _, dup := pos[d.ID]; dup || d.SenderID != a {
				t.Fatalf("row %d (sender %d) claimed again or not A's", d.ID, d.SenderID)
			}
			pos[d.ID] = len(pos)
		}
	}
}

// More tenants with work than one claim visits: the cursor moves on, and
// every tenant's row is claimed within a few claims — none is starved by
// the tenants before it in id order.
func TestIssue20FairnessClaimVisitsEveryTenant(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	s := fedpg.New(db)
	const tenants = 300 // more than one claim visits (64)
	for i := range tenants {
		sender, _ := fairSender(t, db, fmt.Sprintf("t%d", i))
		_, err := s.AddDeliveries(ctx, sender, fmt.Sprintf("https://t%d.test/a", i), []byte(`{}`), manyInboxes("x", 3), false)
		if err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().Add(time.Second)
	seen := map[int64]bool{}
	var cursor int64
	for claim := 0; claim < 6 && len(seen) < tenants; claim++ {
		ds, _, next, err := s.ClaimDeliveries(ctx, cursor, 64, now, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		cursor = next
		for _, d := range ds {
			seen[d.SenderID] = true
		}
	}
	if len(seen) != tenants {
		t.Fatalf("after 6 claims of 64, %d of %d tenants had a row claimed", len(seen), tenants)
	}
}

// Tenant A receives a flood of 5,000 activities before tenant B receives
// one: claimed in id order (as before) B's item waited for A's 5,000;
// claimed fairly it is in the first batch, and A fills the rest of it.
func TestIssue20FairnessInboxFloodDoesNotDelayAnotherTenant(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	s := fedpg.New(db)
	_, tenantA := fairSender(t, db, "a")
	_, tenantB := fairSender(t, db, "b")
	if _, err := db.Exec(ctx, `insert into inbox_items (tenant_id, activity_id, actor_uri, activity)
		select $1, 'https://flood.example/act/' || g, 'https://flood.example/u', '{}' from generate_series(1, 5000) g`, tenantA); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enqueue(ctx, tenantB, "https://friend.example/act/1", "https://friend.example/u", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	items, cursor, err := s.ClaimInboxItems(ctx, 0, 64, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 64 {
		t.Fatalf("first claim: %d items, want 64", len(items))
	}
	var b int
	for _, it := range items {
		if it.TenantID == tenantB {
			b++
		}
	}
	if b != 1 {
		t.Fatalf("B's item claimed %d times in the first batch beside A's flood, want once", b)
	}
	// A lone tenant fills the next batch, and nothing is claimed twice.
	next, _, err := s.ClaimInboxItems(ctx, cursor, 64, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for _, it := range append(items, next...) {
		if seen[it.ID] {
			t.Fatalf("item %d claimed twice", it.ID)
		}
		seen[it.ID] = true
	}
	if len(next) != 64 {
		t.Fatalf("second claim: %d items, want 64", len(next))
	}
}

// A claim whose cursor is past every tenant with work wraps around: a
// lone tenant claimed one row at a time gets a row every time (a claim
// that came back empty once lost the stream entries that asked for it).
func TestIssue20FairnessClaimWrapsAroundTheCursor(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	s := fedpg.New(db)
	a, tenantA := fairSender(t, db, "a")
	if _, err := s.AddDeliveries(ctx, a, "https://a.test/p", []byte(`{}`), manyInboxes("a", 5), false); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `insert into inbox_items (tenant_id, activity_id, actor_uri, activity)
		select $1, 'https://r.example/act/' || g, 'https://r.example/u', '{}' from generate_series(1, 5) g`, tenantA); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Add(time.Second)
	var dc, ic int64
	for i := range 5 {
		ds, _, next, err := s.ClaimDeliveries(ctx, dc, 1, now, time.Minute)
		if err != nil || len(ds) != 1 {
			t.Fatalf("delivery claim %d from cursor %d: %d rows, %v", i, dc, len(ds), err)
		}
		items, nextItem, err := s.ClaimInboxItems(ctx, ic, 1, time.Minute)
		if err != nil || len(items) != 1 {
			t.Fatalf("inbox claim %d from cursor %d: %d items, %v", i, ic, len(items), err)
		}
		dc, ic = next, nextItem
	}
}
