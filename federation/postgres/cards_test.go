package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/card"
)

// linkAll empties the card queue at now, as the card job does.
func linkAll(t *testing.T, w *moreWorld, now time.Time) int {
	t.Helper()
	n, err := w.s.LinkStatuses(context.Background(), now, now.Add(-card.Refetch), 100, card.FirstLink)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func cardURLOf(t *testing.T, w *moreWorld, statusID int64) string {
	t.Helper()
	var u string
	err := w.db.QueryRow(context.Background(), `select coalesce((select c.url from status_cards sc
		join link_cards c on c.id = sc.card_id where sc.status_id = $1), '')`, statusID).Scan(&u)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Every write path queues a status's links: a remote post received, its
// edit, a local post; boosts and posts without a link are not queued.
func TestIssue17RemotePostsAndEditsQueueTheirLinks(t *testing.T) {
	t.Parallel()
	w := newMoreWorld(t)
	ctx := context.Background()
	now := time.Now()
	rv := w.remote("rv")
	remote := w.remotePost(rv, w.ta, `see <a href="https://news.example/a">news</a>`, "")
	local := w.localPost(w.alice, `<a href="https://blog.example/b">blog</a>`, federation.Public)
	w.localPost(w.bob, "no link at all", federation.Public)
	if n := linkAll(t, w, now); n != 2 {
		t.Fatalf("%d statuses queued, want the two with links", n)
	}
	if u := cardURLOf(t, w, remote.ID); u != "https://news.example/a" {
		t.Errorf("remote post's card: %q", u)
	}
	if u := cardURLOf(t, w, local.ID); u != "https://blog.example/b" {
		t.Errorf("local post's card: %q", u)
	}
	// The remote author edits the post: its new link is read again.
	remote.Content = `<p>moved to <a href="https://news.example/c">c</a></p>`
	edited := time.Now()
	remote.EditedAt = &edited
	if _, err := w.s.UpsertRemoteStatus(ctx, remote); err != nil {
		t.Fatal(err)
	}
	if n := linkAll(t, w, now); n != 1 {
		t.Fatalf("%d statuses queued after the edit, want 1", n)
	}
	if u := cardURLOf(t, w, remote.ID); u != "https://news.example/c" {
		t.Errorf("edited remote post's card: %q", u)
	}
	if n := linkAll(t, w, now); n != 0 {
		t.Fatalf("%d statuses queued twice", n)
	}
}

// Due cards are leased to one worker at a time; a dead worker's lease
// runs out and the card is claimed again, at most MaxAttempts times.
func TestIssue17CardClaimsLeaseSkipLockedAndBounded(t *testing.T) {
	t.Parallel()
	w := newMoreWorld(t)
	ctx := context.Background()
	now := time.Now()
	for i := range 10 {
		w.localPost(w.alice, fmt.Sprintf(`<a href="https://site%d.example/">x</a>`, i), federation.Public)
	}
	linkAll(t, w, now)
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			due, err := w.s.ClaimCardFetches(ctx, now, card.Lease, card.MaxAttempts, 3)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, c := range due {
				seen[c.ID]++
			}
		}()
	}
	wg.Wait()
	for id, n := range seen {
		if n != 1 {
			t.Errorf("card %d claimed %d times at once", id, n)
		}
	}
	if again, _ := w.s.ClaimCardFetches(ctx, now.Add(time.Minute), card.Lease, card.MaxAttempts, 100); len(again)+len(seen) != 10 {
		t.Fatalf("leased cards claimed again within the lease: %d + %d", len(seen), len(again))
	}
	// Nobody records an outcome: each lease runs out, up to MaxAttempts.
	at := now
	for i := 1; i < card.MaxAttempts; i++ {
		at = at.Add(card.Lease + time.Second)
		if due, err := w.s.ClaimCardFetches(ctx, at, card.Lease, card.MaxAttempts, 100); err != nil || len(due) != 10 || due[0].Attempts != i+1 {
			t.Fatalf("claim %d after the leases ran out: %d cards, %v", i+1, len(due), err)
		}
	}
	at = at.Add(card.Lease + time.Second)
	if due, err := w.s.ClaimCardFetches(ctx, at, card.Lease, card.MaxAttempts, 100); err != nil || len(due) != 0 {
		t.Fatalf("claimed past MaxAttempts: %d, %v", len(due), err)
	}
	var failed int
	if err := w.db.QueryRow(ctx, `select count(*) from link_cards where state = 'failed'`).Scan(&failed); err != nil || failed != 10 {
		t.Fatalf("%d cards failed after their last lease ran out, want 10 (%v)", failed, err)
	}
}

// A card is fetched again only when a post links it after Refetch; until
// then every post shares the card as fetched, and a refetch keeps showing
// the old card.
func TestIssue17CardRefetchedAfterFourteenDays(t *testing.T) {
	t.Parallel()
	w := newMoreWorld(t)
	ctx := context.Background()
	now := time.Now()
	first := w.localPost(w.alice, `<a href="https://news.example/">x</a>`, federation.Public)
	linkAll(t, w, now)
	due, err := w.s.ClaimCardFetches(ctx, now, card.Lease, card.MaxAttempts, 10)
	if err != nil || len(due) != 1 {
		t.Fatalf("claim: %v %v", due, err)
	}
	if old, err := w.s.SaveCard(ctx, &federation.Card{ID: due[0].ID, Title: "News", Type: "link", ImageKey: "cards/1/a.png"}, now); err != nil || old != "" {
		t.Fatal(old, err)
	}
	claimAt := func(at time.Time) int {
		linkAll(t, w, at)
		due, err := w.s.ClaimCardFetches(ctx, at, card.Lease, card.MaxAttempts, 10)
		if err != nil {
			t.Fatal(err)
		}
		return len(due)
	}
	w.localPost(w.carol, `<a href="https://NEWS.example:443/#top">x</a>`, federation.Public)
	if n := claimAt(now.Add(card.Refetch - time.Hour)); n != 0 {
		t.Fatalf("fresh card fetched again: %d", n)
	}
	w.localPost(w.bob, `<a href="https://news.example/">x</a>`, federation.Public)
	if n := claimAt(now.Add(card.Refetch + time.Hour)); n != 1 {
		t.Fatalf("stale card not fetched again: %d", n)
	}
	cards, err := w.s.CardsOfStatuses(ctx, []int64{first.ID})
	if err != nil || cards[first.ID] == nil || cards[first.ID].Title != "News" {
		t.Fatalf("the old card during its refetch: %+v %v", cards, err)
	}
	// The refetch's new thumbnail replaces the old one, named for removal.
	if old, err := w.s.SaveCard(ctx, &federation.Card{ID: due[0].ID, Title: "News 2", Type: "link", ImageKey: "cards/2/b.png"},
		now.Add(card.Refetch+time.Hour)); err != nil || old != "cards/1/a.png" {
		t.Fatalf("refetched card replaced %q (%v)", old, err)
	}
	var rows int
	if err := w.db.QueryRow(ctx, `select count(*) from link_cards`).Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("%d card rows for one URL across tenants (%v)", rows, err)
	}
}

// Cards no post links any more are deleted once Refetch has passed since
// their last fetch, returning their images; linked cards stay.
func TestIssue17UnlinkedCardsPruned(t *testing.T) {
	t.Parallel()
	w := newMoreWorld(t)
	ctx := context.Background()
	now := time.Now()
	gone := w.localPost(w.alice, `<a href="https://gone.example/">x</a>`, federation.Public)
	w.localPost(w.bob, `<a href="https://kept.example/">x</a>`, federation.Public)
	linkAll(t, w, now)
	due, err := w.s.ClaimCardFetches(ctx, now, card.Lease, card.MaxAttempts, 10)
	if err != nil || len(due) != 2 {
		t.Fatalf("claim: %v %v", due, err)
	}
	for _, c := range due {
		if _, err := w.s.SaveCard(ctx, &federation.Card{ID: c.ID, Title: "t", Type: "link", ImageKey: fmt.Sprintf("cards/%d/p.png", c.ID)}, now); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.db.Exec(ctx, `delete from statuses where id = $1`, gone.ID); err != nil {
		t.Fatal(err)
	}
	if n, keys, err := w.s.PruneCards(ctx, now.Add(-time.Minute), 10); err != nil || n != 0 || len(keys) != 0 {
		t.Fatalf("pruned a card fetched after the cut-off: %d %v %v", n, keys, err)
	}
	n, keys, err := w.s.PruneCards(ctx, now.Add(time.Minute), 10)
	if err != nil || n != 1 || len(keys) != 1 || !strings.HasPrefix(keys[0], "cards/") {
		t.Fatalf("pruned %d cards, images %v (%v); want the unlinked one", n, keys, err)
	}
	var left string
	if err := w.db.QueryRow(ctx, `select string_agg(url, ',') from link_cards`).Scan(&left); err != nil || left != "https://kept.example/" {
		t.Fatalf("cards left: %q (%v)", left, err)
	}
}
