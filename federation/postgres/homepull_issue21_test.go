package postgres_test

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/federation/social/timeline"
)

// Issue 21, posting: an author whose local followers pass a bound is read
// by their followers' home timelines instead of filed in them (migration
// 060). These tests use a bound of pullAbove followers.
const pullAbove = 30

// drainPulling runs the fan-out job's passes with the bound pullAbove
// until the queue is empty.
func (w *moreWorld) drainPulling() {
	w.t.Helper()
	f := &timeline.FanOut{Store: w.s, Batch: fanOutBatch, PullAbove: pullAbove}
	if _, err := f.Pass(context.Background()); err != nil {
		w.t.Fatal(err)
	}
	if n := w.queuedFanOuts(); n != 0 {
		w.t.Fatalf("%d fan-outs left after a pass", n)
	}
}

// homeOf is viewer's home timeline page p.
func (w *moreWorld) homeOf(viewer int64, p federation.Page) []int64 {
	w.t.Helper()
	ids, err := w.s.HomeTimeline(context.Background(), viewer, p)
	if err != nil {
		w.t.Fatal(err)
	}
	return ids
}

// feedRows counts the home-feed rows of status.
func (w *moreWorld) feedRows(status int64) int {
	w.t.Helper()
	var n int
	if err := w.db.QueryRow(context.Background(), `select count(*) from home_feeds where status_id = $1`, status).Scan(&n); err != nil {
		w.t.Fatal(err)
	}
	return n
}

func TestIssue21LargeAudienceIsReadNotFiled(t *testing.T) {
	w := newMoreWorld(t)
	ctx := context.Background()
	fans := w.seedFollowers(w.ta, "a.example", "fa", w.bob, pullAbove+10, true)
	noBoosts := w.seedFollowers(w.ta, "a.example", "fn", w.bob, 3, false)
	onB := w.seedFollowers(w.tb, "b.example", "fb", w.bob, 2, true)
	w.follow(w.alice, w.bob)
	everyone := slices.Concat(fans, noBoosts, onB, []int64{w.alice.ID})
	last := fans[len(fans)-1]

	// The first post meets the bound: its first followers have it at
	// commit, the job marks bob as read and files no more rows, and every
	// follower's home has it.
	first := w.post(w.bob, "first", federation.Public, nil, false)
	w.drainPulling()
	if got, err := w.s.PulledFollowees(ctx, last); err != nil || !slices.Equal(got, []int64{w.bob.ID}) {
		t.Fatalf("pulled followees of a follower = %v, %v; want bob", got, err)
	}
	if rows := w.feedRows(first.ID); rows != 1+fedpg.HomeFanOutInline {
		t.Errorf("home-feed rows of the post that marked its author = %d, want %d (author and inline followers)",
			rows, 1+fedpg.HomeFanOutInline)
	}
	for _, f := range everyone {
		if !slices.Contains(w.homeOf(f, federation.Page{Limit: 40}), first.ID) {
			t.Fatalf("follower %d's home misses the post", f)
		}
	}

	// From now on a post files one row (the author's), queues only its
	// tenant timelines, and is in every follower's home at commit.
	second := w.post(w.bob, "second", federation.Public, nil, false)
	if rows := w.feedRows(second.ID); rows != 1 {
		t.Errorf("home-feed rows of a read author's post = %d, want 1 (the author's)", rows)
	}
	for _, f := range everyone {
		if !slices.Contains(w.homeOf(f, federation.Page{Limit: 40}), second.ID) {
			t.Fatalf("follower %d's home misses the post at commit", f)
		}
	}
	if slices.Contains(w.home(w.carol), second.ID) {
		t.Error("a non-follower's home has the read author's post")
	}
	w.drainPulling()
	if rows := w.feedRows(second.ID); rows != 1 {
		t.Errorf("home-feed rows after the job = %d, want 1", rows)
	}
	var onBTimeline bool
	if err := w.db.QueryRow(ctx, `select exists (select 1 from tenant_timeline where tenant_id = $1 and status_id = $2 and not local)`,
		w.tb, second.ID).Scan(&onBTimeline); err != nil || !onBTimeline {
		t.Errorf("a public post of a read author is not on its followers' other tenant's timeline: %v", err)
	}

	// Followers-only reaches followers only; direct only those mentioned.
	private := w.post(w.bob, "private", federation.Private, nil, false)
	direct := w.localPost(w.bob, "direct", federation.Direct, w.alice)
	if !slices.Contains(w.home(w.alice), private.ID) || !slices.Contains(w.homeOf(last, federation.Page{Limit: 40}), private.ID) {
		t.Error("followers miss a followers-only post of a read author")
	}
	if slices.Contains(w.home(w.carol), private.ID) {
		t.Error("a non-follower sees a followers-only post")
	}
	if !slices.Contains(w.home(w.alice), direct.ID) {
		t.Error("the mentioned follower misses a direct post")
	}
	if slices.Contains(w.homeOf(last, federation.Page{Limit: 40}), direct.ID) {
		t.Error("a follower not mentioned sees a direct post of a read author")
	}

	// A boost reaches only the followers who take the author's boosts.
	orig := w.post(w.carol, "worth a boost", federation.Public, nil, false)
	boost, err := w.s.Reblog(ctx, &federation.Status{AccountID: w.bob.ID, TenantID: w.ta, URI: "https://a.example/boost/pull",
		Visibility: federation.Public, Published: time.Now()}, orig.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.s.AddToHomeFeeds(ctx, boost.ID, w.bob.ID, w.ta); err != nil {
		t.Fatal(err)
	}
	w.drainPulling()
	if !slices.Contains(w.homeOf(last, federation.Page{Limit: 40}), boost.ID) {
		t.Error("a follower who takes boosts misses the read author's boost")
	}
	if slices.Contains(w.homeOf(noBoosts[0], federation.Page{Limit: 40}), boost.ID) {
		t.Error("a follower who turned boosts off sees the read author's boost")
	}

	// Hides apply as to feed rows: a mute hides, an unmute shows again.
	if err := w.s.Mute(ctx, w.alice.ID, w.bob.ID, false, nil); err != nil {
		t.Fatal(err)
	}
	for _, id := range w.home(w.alice) {
		if id == second.ID || id == private.ID || id == boost.ID {
			t.Errorf("a muted read author's post %d is in the muter's home", id)
		}
	}
	if err := w.s.Unmute(ctx, w.alice.ID, w.bob.ID); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(w.home(w.alice), second.ID) {
		t.Error("unmuted, the read author's post is still missing")
	}

	// Paging reads the merge exactly: every page of the whole timeline,
	// by max_id, since_id and min_id, is its slice.
	own := w.post(w.alice, "alice's own", federation.Public, nil, false)
	all := w.homeOf(w.alice.ID, federation.Page{Limit: 40})
	if !slices.Contains(all, own.ID) || !slices.IsSortedFunc(all, func(a, b int64) int { return int(b - a) }) {
		t.Fatalf("alice's home = %v: not newest first with her own post", all)
	}
	for i := range all {
		if got := w.homeOf(w.alice.ID, federation.Page{Limit: 2, MaxID: all[i]}); !slices.Equal(got, all[i+1:min(i+3, len(all))]) {
			t.Errorf("max_id %d: %v, want %v", all[i], got, all[i+1:min(i+3, len(all))])
		}
		if got := w.homeOf(w.alice.ID, federation.Page{Limit: 2, MinID: all[i]}); !slices.Equal(got, all[max(i-2, 0):i]) {
			t.Errorf("min_id %d: %v, want %v", all[i], got, all[max(i-2, 0):i])
		}
		if got := w.homeOf(w.alice.ID, federation.Page{Limit: 40, SinceID: all[i]}); !slices.Equal(got, all[:i]) {
			t.Errorf("since_id %d: %v, want %v", all[i], got, all[:i])
		}
	}

	// The one-round-trip page reads the same page and names bob.
	hp, err := w.s.HomePage(ctx, w.alice.ID, federation.Page{Limit: 40})
	if err != nil || !slices.Equal(hp.IDs, all) || !slices.Equal(hp.Pulled, []int64{w.bob.ID}) {
		t.Errorf("HomePage: %v %v %v; want %v and bob", hp.IDs, hp.Pulled, err, all)
	}

	// Lists and For you read it too.
	l, err := w.s.SaveList(ctx, w.alice.ID, federation.List{Title: "bob", RepliesPolicy: federation.RepliesList})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.s.AddListMembers(ctx, w.alice.ID, l.ID, []int64{w.bob.ID}); err != nil {
		t.Fatal(err)
	}
	onList, err := w.s.ListTimeline(ctx, w.alice.ID, l, federation.Page{Limit: 40})
	if err != nil || !slices.Contains(onList, second.ID) || !slices.Contains(onList, private.ID) {
		t.Errorf("alice's list of bob = %v, %v; want the read author's posts", onList, err)
	}
	forYou, err := w.s.ForYou(ctx, w.alice.ID, 40)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(forYou, func(it federation.ForYouItem) bool { return it.StatusID == second.ID }) {
		t.Errorf("For you misses the read author's post: %+v", forYou)
	}

	// Following a read author files none of their posts (their earlier
	// ones are read, from the first).
	w.follow(w.carol, w.bob)
	var carolRows int
	if err := w.db.QueryRow(ctx, `select count(*) from home_feeds h join statuses s on s.id = h.status_id
		where h.account_id = $1 and s.account_id = $2`, w.carol.ID, w.bob.ID).Scan(&carolRows); err != nil || carolRows != 0 {
		t.Errorf("following a read author filed %d of their posts (%v), want none", carolRows, err)
	}
	if got := w.home(w.carol); !slices.Contains(got, first.ID) || !slices.Contains(got, private.ID) {
		t.Errorf("a new follower's home misses the read author's earlier posts: %v", got)
	}

	// Unfollowing ends it; a read author's deleted post leaves every home.
	if _, err := w.s.DeleteFollow(ctx, last, w.bob.ID); err != nil {
		t.Fatal(err)
	}
	if got := w.homeOf(last, federation.Page{Limit: 40}); slices.Contains(got, second.ID) {
		t.Errorf("after unfollowing, the home still reads the author: %v", got)
	}
	if _, err := w.s.DeleteStatusByURI(ctx, second.URI, w.bob.ID); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(w.home(w.alice), second.ID) {
		t.Error("a deleted post is still read")
	}
}

// An author under the bound is still filed, and the bound is counted in
// local followers only; a remote author is always filed.
func TestIssue21AuthorUnderTheBoundIsFiled(t *testing.T) {
	w := newMoreWorld(t)
	fans := w.seedFollowers(w.ta, "a.example", "fa", w.bob, pullAbove, true)
	w.exec(`insert into follows (follower_id, followee_id, state, uri)
		select a.id, $1, 'accepted', a.uri || '/follow' from accounts a where a.id = $2`, w.bob.ID, w.remote("far").ID)
	st := w.post(w.bob, "to a few", federation.Public, nil, false)
	w.drainPulling()
	if got, err := w.s.PulledFollowees(context.Background(), fans[0]); err != nil || len(got) != 0 {
		t.Fatalf("an author with %d local followers was marked: %v %v", pullAbove, got, err)
	}
	sameIDs(t, "followers filed", w.holders(st.ID, fans), fans)

	// A remote author is never read, whatever their audience: each
	// tenant's followers get what that tenant's inbox received.
	loud := w.remote("loud")
	onA := w.seedFollowers(w.ta, "a.example", "la", loud, 2*pullAbove, true)
	onB := w.seedFollowers(w.tb, "b.example", "lb", loud, 5, true)
	rp := w.remotePost(loud, w.ta, "received by tenant A", "")
	w.drainPulling()
	if got, err := w.s.PulledFollowees(context.Background(), onA[0]); err != nil || len(got) != 0 {
		t.Fatalf("a remote author was marked as read: %v %v", got, err)
	}
	sameIDs(t, "tenant A's followers of a remote author", w.holders(rp.ID, onA), onA)
	sameIDs(t, "tenant B's followers of a remote author (B received nothing)", w.holders(rp.ID, onB), nil)
	if slices.Contains(w.homeOf(onB[0], federation.Page{Limit: 40}), rp.ID) {
		t.Error("a post only tenant A received is on a tenant B follower's home")
	}
}

// The database announces what a read author changes: a new post to the
// pages (P) and the streams (the author's channel) of its followers;
// marking, following and unfollowing to the followers' streams.
func TestIssue21ReadAuthorAnnouncements(t *testing.T) {
	w := newMoreWorld(t)
	ctx := context.Background()
	fans := w.seedFollowers(w.ta, "a.example", "fa", w.bob, pullAbove+1, true)
	w.post(w.bob, "marks", federation.Public, nil, false)

	pc, err := w.db.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conn := pc.Hijack()
	defer func() { _ = conn.Close(ctx) }() // the listener's own connection
	for _, ch := range []string{"roost_cache", "roost_stream"} {
		if _, err := conn.Exec(ctx, "listen "+ch); err != nil {
			t.Fatal(err)
		}
	}
	heard := func(until string) []string {
		t.Helper()
		var got []string
		for {
			wctx, cancel := context.WithTimeout(ctx, time.Minute)
			n, err := conn.WaitForNotification(wctx)
			cancel()
			if err != nil {
				t.Fatalf("waiting for %q: %v (heard %v)", until, err, got)
			}
			got = append(got, n.Channel+" "+n.Payload)
			if strings.Contains(n.Payload, until) {
				return got
			}
		}
	}
	marker := func(name string) string {
		w.exec(`select pg_notify('roost_cache', $1)`, name)
		return name
	}

	// Marking: every page goes, every follower's stream starts reading.
	w.drainPulling()
	got := heard(marker("after-marking"))
	if !slices.Contains(got, "roost_cache g 0") {
		t.Errorf("marking did not drop every page: %v", got)
	}
	pulled := map[int64]bool{}
	for _, p := range got {
		var e struct {
			E  string  `json:"e"`
			ID int64   `json:"id"`
			U  []int64 `json:"u"`
		}
		if rest, ok := strings.CutPrefix(p, "roost_stream "); ok && json.Unmarshal([]byte(rest), &e) == nil && e.E == "pull" && e.ID == w.bob.ID {
			for _, u := range e.U {
				pulled[u] = true
			}
		}
	}
	for _, f := range fans {
		if !pulled[f] {
			t.Fatalf("follower %d was not told to read bob (told %d)", f, len(pulled))
		}
	}

	// A post: its followers' pages and the author's channel.
	st := w.post(w.bob, "news", federation.Public, nil, false)
	got = heard(marker("after-post"))
	wantStream := `roost_stream {"a": [` + strconv.FormatInt(w.bob.ID, 10) + `], "e": "update", "id": ` + strconv.FormatInt(st.ID, 10) + `}`
	if !slices.Contains(got, "roost_cache P "+strconv.FormatInt(w.bob.ID, 10)) || !slices.Contains(got, wantStream) {
		t.Errorf("a read author's post announced %v; want P %d and %s", got, w.bob.ID, wantStream)
	}
	// A direct one is not announced to the followers.
	w.localPost(w.bob, "psst", federation.Direct, w.alice)
	if got = heard(marker("after-direct")); slices.Contains(got, "roost_cache P "+strconv.FormatInt(w.bob.ID, 10)) {
		t.Errorf("a direct post was announced to the followers: %v", got)
	}

	// Following and unfollowing a read author.
	w.follow(w.alice, w.bob)
	got = heard(marker("after-follow"))
	wantPull := `roost_stream {"e": "pull", "u": [` + strconv.FormatInt(w.alice.ID, 10) + `], "id": ` + strconv.FormatInt(w.bob.ID, 10) + `}`
	if !slices.Contains(got, wantPull) {
		t.Errorf("following a read author announced %v; want %s", got, wantPull)
	}
	if _, err := w.s.DeleteFollow(ctx, w.alice.ID, w.bob.ID); err != nil {
		t.Fatal(err)
	}
	got = heard(marker("after-unfollow"))
	if want := strings.Replace(wantPull, `"pull"`, `"unpull"`, 1); !slices.Contains(got, want) {
		t.Errorf("unfollowing a read author announced %v; want %s", got, want)
	}
}
