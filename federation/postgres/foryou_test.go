package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/federation"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/internal/testenv"
)

// forYouWorld is a viewer on a tenant following remote authors, whose
// posts reach the viewer's home feed the way the inbox delivers them.
type forYouWorld struct {
	t      *testing.T
	db     *pgxpool.Pool
	s      *fedpg.Store
	tenant int64
	viewer *federation.Account
	n      int
}

func newForYouWorld(t *testing.T) *forYouWorld {
	t.Helper()
	db := testenv.DB(t)
	s := fedpg.New(db)
	tn := newTenant(t, db, "fy.example")
	v := mustCreate(t, s, newAccount(t, tn.ID, "fy.example", "viewer", "viewer@fy.example"))
	return &forYouWorld{t: t, db: db, s: s, tenant: tn.ID, viewer: v}
}

// author caches a remote actor the viewer follows.
func (w *forYouWorld) author(name string) *federation.Account {
	w.t.Helper()
	ctx := context.Background()
	uri := "https://remote.example/users/" + name
	a, err := w.s.UpsertRemoteActor(ctx, &federation.Account{Domain: "remote.example", Username: name,
		Remote: &federation.RemoteInfo{URI: uri, KeyID: uri + "#main-key", Inbox: uri + "/inbox", Type: "Person", FetchedAt: time.Now()}})
	if err != nil {
		w.t.Fatal(err)
	}
	if _, _, err := w.s.CreateFollow(ctx, w.viewer.ID, a.ID, uri+"#follow-by-viewer", "accepted"); err != nil {
		w.t.Fatal(err)
	}
	return a
}

// post receives a public post by author published age ago and delivers it
// to the viewer's home feed.
func (w *forYouWorld) post(author *federation.Account, age time.Duration) int64 {
	w.t.Helper()
	ctx := context.Background()
	w.n++
	st, err := w.s.UpsertRemoteStatus(ctx, &federation.Status{AccountID: author.ID,
		URI:     fmt.Sprintf("%s/statuses/%d", author.Remote.URI, w.n),
		Content: fmt.Sprintf("<p>post %d</p>", w.n), Visibility: federation.Public,
		To: []string{federation.PublicCollection}, Published: time.Now().Add(-age)})
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.s.AddToHomeFeeds(ctx, st.ID, author.ID, w.tenant); err != nil {
		w.t.Fatal(err)
	}
	return st.ID
}

func (w *forYouWorld) page(limit int) []federation.ForYouItem {
	w.t.Helper()
	items, err := w.s.ForYou(context.Background(), w.viewer.ID, limit)
	if err != nil {
		w.t.Fatal(err)
	}
	return items
}

func itemIDs(items []federation.ForYouItem) []int64 {
	var out []int64
	for _, it := range items {
		out = append(out, it.StatusID)
	}
	return out
}

func rankOf(items []federation.ForYouItem, id int64) int {
	return slices.IndexFunc(items, func(it federation.ForYouItem) bool { return it.StatusID == id })
}

// An author the viewer often likes ranks above an equally fresh one they
// never touch; what the viewer liked already is not served.
func TestForYouRanksByAffinity(t *testing.T) {
	t.Parallel()
	w := newForYouWorld(t)
	ctx := context.Background()
	liked, untouched := w.author("liked"), w.author("untouched")
	var likedBefore []int64
	for range 4 {
		likedBefore = append(likedBefore, w.post(liked, 30*time.Hour))
	}
	for _, id := range likedBefore {
		if err := w.s.Favourite(ctx, w.viewer.ID, id, ""); err != nil {
			t.Fatal(err)
		}
	}
	// Equally fresh: the untouched author's post is even a little newer.
	fromLiked := w.post(liked, 2*time.Hour)
	fromUntouched := w.post(untouched, 2*time.Hour-time.Minute)

	items := w.page(20)
	rl, ru := rankOf(items, fromLiked), rankOf(items, fromUntouched)
	if rl < 0 || ru < 0 || rl > ru {
		t.Fatalf("ranks: liked author %d, untouched author %d; want liked first: %+v", rl, ru, items)
	}
	if it := items[rl]; it.Favourites != 4 || it.Affinity <= 0 {
		t.Fatalf("liked author's item: %+v", it)
	}
	if it := items[ru]; it.Favourites != 0 || it.Affinity != 0 {
		t.Fatalf("untouched author's item: %+v", it)
	}
	for _, id := range likedBefore {
		if rankOf(items, id) >= 0 {
			t.Fatalf("status %d the viewer already favourited was served", id)
		}
	}
	// Each score is the documented sum of its components.
	wt := federation.DefaultForYou
	for _, it := range items {
		want := wt.Affinity*it.Affinity + wt.Freshness*it.Freshness + wt.Noise*it.Noise
		if d := it.Score - want; d > 1e-9 || d < -1e-9 || it.Noise < 0 || it.Noise >= 1 || it.Freshness <= 0 || it.Freshness > 1 {
			t.Fatalf("item %+v: score %v, want %v", it, it.Score, want)
		}
	}
}

// No author takes more than the cap's share of a page, however much they
// post.
func TestForYouVarietyCap(t *testing.T) {
	t.Parallel()
	w := newForYouWorld(t)
	loud := w.author("loud")
	for i := range 30 {
		w.post(loud, time.Duration(i)*time.Minute)
	}
	for i := range 12 {
		w.post(w.author(fmt.Sprintf("quiet%d", i)), 5*time.Hour)
	}
	for _, limit := range []int{10, 20} {
		items := w.page(limit)
		if len(items) == 0 {
			t.Fatalf("limit %d: empty page", limit)
		}
		per := map[int64]int{}
		for _, it := range items {
			per[it.AccountID]++
		}
		capN := federation.DefaultForYou.PerAuthor(limit)
		for a, n := range per {
			if n > capN {
				t.Fatalf("limit %d: author %d has %d posts on a page of %d, cap %d", limit, a, n, len(items), capN)
			}
		}
		if per[loud.ID] != capN {
			t.Fatalf("limit %d: the freshest author has %d posts, want the cap %d", limit, per[loud.ID], capN)
		}
	}
}

// Served posts drop out of later pages; an explanation of a served post
// is the score it was served with; old, own and unfollowed posts are
// never candidates, and the explanation says why.
func TestForYouServedPostsDrop(t *testing.T) {
	t.Parallel()
	w := newForYouWorld(t)
	ctx := context.Background()
	var all []int64
	for i := range 8 {
		a := w.author(fmt.Sprintf("a%d", i))
		all = append(all, w.post(a, time.Duration(i)*time.Hour), w.post(a, time.Duration(i)*time.Hour+time.Minute))
	}
	stale := w.post(w.author("stale"), 100*time.Hour)

	first := w.page(5)
	second := w.page(5)
	if len(first) != 5 || len(second) != 5 {
		t.Fatalf("pages of %d and %d, want 5 each", len(first), len(second))
	}
	for _, id := range itemIDs(second) {
		if slices.Contains(itemIDs(first), id) {
			t.Fatalf("status %d served twice: %v then %v", id, itemIDs(first), itemIDs(second))
		}
	}
	var served []int64
	for range 10 {
		p := w.page(5)
		if len(p) == 0 {
			break
		}
		served = append(served, itemIDs(p)...)
	}
	served = append(append(served, itemIDs(first)...), itemIDs(second)...)
	slices.Sort(served)
	want := slices.Clone(all)
	slices.Sort(want)
	if !slices.Equal(served, want) {
		t.Fatalf("served %v, want every recent post once: %v", served, want)
	}
	if p := w.page(5); len(p) != 0 {
		t.Fatalf("after everything was served: %v", itemIDs(p))
	}

	e, err := w.s.ExplainForYou(ctx, w.viewer.ID, first[0].StatusID)
	if err != nil {
		t.Fatal(err)
	}
	if !e.Served || e.Score != first[0].Score || e.Affinity != first[0].Affinity || e.Eligible ||
		!slices.Contains(e.Reasons, "served to you already") {
		t.Fatalf("explanation of a served post: %+v, served as %+v", e, first[0])
	}
	e, err = w.s.ExplainForYou(ctx, w.viewer.ID, stale)
	if err != nil {
		t.Fatal(err)
	}
	if e.Served || e.Eligible || len(e.Reasons) != 1 || e.Freshness >= 0.01 {
		t.Fatalf("explanation of an old post: %+v", e)
	}
	// A status the viewer may not see is not explained.
	other := mustCreate(t, w.s, newAccount(t, w.tenant, "fy.example", "other", "other@fy.example"))
	secret, err := w.s.UpsertRemoteStatus(ctx, &federation.Status{AccountID: w.author("secretive").ID,
		URI: "https://remote.example/users/secretive/statuses/dm", Visibility: federation.Direct, Published: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.ExplainForYou(ctx, other.ID, secret.ID); err == nil {
		t.Fatal("explained a direct message to someone it was not addressed to")
	}
}

// The home timeline leaves out muted (and blocked) authors, whatever the
// page, and keeps authors whose mute has expired.
func TestHomeTimelineHidesMutedAuthors(t *testing.T) {
	t.Parallel()
	w := newForYouWorld(t)
	ctx := context.Background()
	muted, expired, kept := w.author("muted"), w.author("expired"), w.author("kept")
	var want []int64
	for i := range 6 {
		w.post(muted, time.Duration(i)*time.Hour)
		want = append(want, w.post(expired, time.Duration(i)*time.Hour), w.post(kept, time.Duration(i)*time.Hour))
	}
	home := func() []int64 {
		var all []int64
		p := federation.Page{Limit: 4}
		for {
			ids, err := w.s.HomeTimeline(ctx, w.viewer.ID, p)
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) == 0 {
				return all
			}
			all = append(all, ids...)
			p.MaxID = ids[len(ids)-1]
		}
	}
	if got := home(); len(got) != 18 {
		t.Fatalf("home before muting: %d statuses, want 18", len(got))
	}
	if err := w.s.Mute(ctx, w.viewer.ID, muted.ID, true, nil); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-time.Minute)
	if err := w.s.Mute(ctx, w.viewer.ID, expired.ID, true, &past); err != nil {
		t.Fatal(err)
	}
	got := home()
	slices.Sort(want)
	slices.Reverse(want)
	if !slices.Equal(got, want) {
		t.Fatalf("home with a mute: %v, want %v", got, want)
	}
}

// A fast home feed does not push the posts of the authors the viewer
// interacts with most out of reach: they are ranked even when more than
// Pool newer posts arrived after them.
func TestForYouReachesClosestAuthorsPastThePool(t *testing.T) {
	t.Parallel()
	w := newForYouWorld(t)
	ctx := context.Background()
	close, loud := w.author("close"), w.author("loud")
	for range 2 {
		if err := w.s.Favourite(ctx, w.viewer.ID, w.post(close, 30*time.Hour), ""); err != nil {
			t.Fatal(err)
		}
	}
	old := w.post(close, 3*time.Hour)
	// More than a pool of newer posts, delivered after it.
	n := federation.DefaultForYou.Pool + 50
	if _, err := w.db.Exec(ctx, `
		with s as (
			insert into statuses (account_id, uri, content, visibility, published_at)
			select $1, 'https://remote.example/users/loud/bulk/' || i, '<p>loud</p>', 'public',
				now() - make_interval(secs => i)
			from generate_series(1, $2::int) i returning id)
		insert into home_feeds (account_id, status_id) select $3, id from s`, loud.ID, n, w.viewer.ID); err != nil {
		t.Fatal(err)
	}
	e, err := w.s.ExplainForYou(ctx, w.viewer.ID, old)
	if err != nil || !e.Eligible {
		t.Fatalf("explanation before: %+v %v", e, err)
	}
	items := w.page(20)
	if len(items) == 0 || items[0].StatusID != old {
		t.Fatalf("first page %v, want the close author's post %d first", itemIDs(items), old)
	}
}
