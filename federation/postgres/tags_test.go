package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// Issue 17: followed hashtags, featured hashtags and the timeline
// filters applied in the query, against a real PostgreSQL.

// home is the account's home feed page (40), newest first.
func (w *moreWorld) home(a *federation.Account) []int64 {
	w.t.Helper()
	ids, err := w.s.HomeTimeline(context.Background(), a.ID, federation.Page{Limit: 40})
	if err != nil {
		w.t.Fatal(err)
	}
	return ids
}

func (w *moreWorld) followTag(a *federation.Account, name string) {
	w.t.Helper()
	if err := w.s.FollowTag(context.Background(), a.ID, name); err != nil {
		w.t.Fatal(err)
	}
}

// oldRemotePost is remotePost for a post stored an hour ago (a fetched
// old post): filed in the tenant's timeline, it is no news.
func (w *moreWorld) oldRemotePost(author *federation.Account, tenant int64, tags ...string) *federation.Status {
	w.t.Helper()
	ctx := context.Background()
	w.n++
	st, err := w.s.UpsertRemoteStatus(ctx, &federation.Status{AccountID: author.ID,
		URI: fmt.Sprintf("%s/statuses/%d", author.Remote.URI, w.n), Content: "<p>old</p>", Visibility: federation.Public,
		Tags: tags, To: []string{federation.PublicCollection}, Published: time.Now().Add(-time.Hour)})
	if err != nil {
		w.t.Fatal(err)
	}
	w.exec(`update statuses set created_at = now() - interval '1 hour' where id = $1`, st.ID)
	if err := w.s.AddToHomeFeeds(ctx, st.ID, author.ID, tenant); err != nil {
		w.t.Fatal(err)
	}
	return st
}

func TestIssue17FollowedTagFillsHomeWithinTheTenant(t *testing.T) {
	w := newMoreWorld(t)
	stranger, muted, blocked := w.remote("stranger"), w.remote("muted"), w.remote("blocked")
	w.followTag(w.alice, "cats")
	w.followTag(w.carol, "cats")
	ctx := context.Background()
	if err := w.s.Mute(ctx, w.alice.ID, muted.ID, false, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.s.Block(ctx, w.alice.ID, blocked.ID, ""); err != nil {
		t.Fatal(err)
	}

	remoteA := w.remotePost(stranger, w.ta, "a cat", "", "cats")    // received by tenant A
	remoteB := w.remotePost(stranger, w.tb, "b cat", "", "cats")    // received by tenant B
	dogs := w.remotePost(stranger, w.ta, "a dog", "", "dogs")       // another tag
	fromMuted := w.remotePost(muted, w.ta, "muted cat", "", "cats") // muted by alice
	fromBlocked := w.remotePost(blocked, w.ta, "blocked cat", "", "cats")
	old := w.oldRemotePost(stranger, w.ta, "cats")
	bobPublic := w.post(w.bob, "bob #cats", federation.Public, []string{"cats"}, false)
	bobUnlisted := w.post(w.bob, "bob #cats", federation.Unlisted, []string{"cats"}, false)
	bobPrivate := w.post(w.bob, "bob #cats", federation.Private, []string{"cats"}, false)
	bobDirect := w.post(w.bob, "bob #cats", federation.Direct, []string{"cats"}, false)

	home := w.home(w.alice)
	for _, want := range []*federation.Status{remoteA, bobPublic} {
		if !slices.Contains(home, want.ID) {
			t.Errorf("alice's home %v misses %d", home, want.ID)
		}
	}
	for _, not := range []*federation.Status{remoteB, dogs, fromMuted, fromBlocked, old, bobUnlisted, bobPrivate, bobDirect} {
		if slices.Contains(home, not.ID) {
			t.Errorf("alice's home %v holds %d", home, not.ID)
		}
	}
	// Carol (tenant B) follows #cats too: she gets what tenant B received,
	// never tenant A's posts (public or followers-only) it never saw.
	carol := w.home(w.carol)
	if !slices.Contains(carol, remoteB.ID) {
		t.Errorf("carol's home %v misses %d", carol, remoteB.ID)
	}
	for _, not := range []*federation.Status{remoteA, bobPublic, bobUnlisted, bobPrivate, bobDirect} {
		if slices.Contains(carol, not.ID) {
			t.Errorf("carol's home %v holds tenant A's %d", carol, not.ID)
		}
	}
}

func TestIssue17FollowedTagRespectsModeration(t *testing.T) {
	w := newMoreWorld(t)
	silenced, friend, hidden := w.remote("silenced"), w.remote("friend"), w.remote("hidden")
	w.followTag(w.alice, "cats")
	if err := w.s.BlockDomain(context.Background(), w.alice.ID, "remote.example"); err != nil {
		t.Fatal(err)
	}
	// alice hides remote.example: nothing from it, even by tag.
	if p := w.remotePost(hidden, w.ta, "cat", "", "cats"); slices.Contains(w.home(w.alice), p.ID) {
		t.Error("a post from a domain alice blocks reached her home by tag")
	}
	w.exec(`delete from account_domain_blocks`)
	// Silenced for tenant A: left out, unless alice follows the author.
	w.exec(`insert into account_limits (account_id, tenant_id, silenced_at) values ($1, $2, now()), ($3, $2, now())`,
		silenced.ID, w.ta, friend.ID)
	w.follow(w.alice, friend)
	quiet := w.remotePost(silenced, w.ta, "cat", "", "cats")
	followed := w.remotePost(friend, w.ta, "cat", "", "cats")
	home := w.home(w.alice)
	if slices.Contains(home, quiet.ID) {
		t.Error("a silenced account's post reached alice's home by tag")
	}
	if !slices.Contains(home, followed.ID) {
		t.Error("a followed (silenced) account's post left alice's home")
	}
}

func TestIssue17UnfollowTagUnmergesOnlyTagPosts(t *testing.T) {
	w := newMoreWorld(t)
	stranger, friend := w.remote("stranger"), w.remote("friend")
	w.follow(w.alice, friend)
	w.followTag(w.alice, "cats")
	w.followTag(w.alice, "kittens")
	onlyCats := w.remotePost(stranger, w.ta, "cat", "", "cats")
	both := w.remotePost(stranger, w.ta, "cat", "", "cats", "kittens")
	byFriend := w.remotePost(friend, w.ta, "cat", "", "cats")
	if err := w.s.UnfollowTag(context.Background(), w.alice.ID, "cats"); err != nil {
		t.Fatal(err)
	}
	if err := w.s.UnfollowTag(context.Background(), w.alice.ID, "cats"); err != nil { // idempotent
		t.Fatal(err)
	}
	home := w.home(w.alice)
	if slices.Contains(home, onlyCats.ID) {
		t.Error("unfollowing #cats left its post at home")
	}
	if !slices.Contains(home, both.ID) || !slices.Contains(home, byFriend.ID) {
		t.Errorf("unfollowing #cats took out posts there for another reason: %v", home)
	}
	if later := w.remotePost(stranger, w.ta, "cat", "", "cats"); slices.Contains(w.home(w.alice), later.ID) {
		t.Error("an unfollowed tag still fills home")
	}
}

func TestIssue17FollowedAndFeaturedTagStore(t *testing.T) {
	w := newMoreWorld(t)
	ctx := context.Background()
	for _, n := range []string{"a", "b", "c"} {
		w.followTag(w.alice, n)
	}
	w.followTag(w.alice, "b") // idempotent
	names, cursors, err := w.s.FollowedTags(ctx, w.alice.ID, federation.Page{Limit: 2})
	if err != nil || !slices.Equal(names, []string{"c", "b"}) || len(cursors) != 2 {
		t.Fatalf("first page: %v %v %v", names, cursors, err)
	}
	names, _, err = w.s.FollowedTags(ctx, w.alice.ID, federation.Page{Limit: 2, MaxID: cursors[1]})
	if err != nil || !slices.Equal(names, []string{"a"}) {
		t.Fatalf("second page: %v %v", names, err)
	}
	if names, _, _ := w.s.FollowedTags(ctx, w.carol.ID, federation.Page{Limit: 40}); len(names) != 0 {
		t.Errorf("carol sees alice's followed tags: %v", names)
	}

	w.post(w.alice, "#b", federation.Public, []string{"b"}, false)
	w.post(w.alice, "#b", federation.Unlisted, []string{"b"}, false)
	w.post(w.alice, "#b", federation.Private, []string{"b"}, false) // not counted: not public
	f, err := w.s.FeatureTag(ctx, w.alice.ID, "b")
	if err != nil || f.Name != "b" || f.StatusesCount != 2 || f.LastStatusAt == nil {
		t.Fatalf("feature: %+v %v", f, err)
	}
	if again, err := w.s.FeatureTag(ctx, w.alice.ID, "b"); err != nil || again.ID != f.ID {
		t.Fatalf("feature again: %+v %v", again, err)
	}
	states, err := w.s.TagStates(ctx, w.alice.ID, []string{"b", "zzz", "a"})
	if err != nil || len(states) != 3 || !states[0].Following || !states[0].Featuring || states[0].ID == 0 ||
		states[1].ID != 0 || states[1].Following || !states[2].Following || states[2].Featuring {
		t.Fatalf("states: %+v %v", states, err)
	}
	if states, _ := w.s.TagStates(ctx, w.carol.ID, []string{"b"}); states[0].Following || states[0].Featuring {
		t.Errorf("carol sees alice's state: %+v", states)
	}
	// Another account's featured tag is not found, and stays.
	if err := w.s.UnfeatureTag(ctx, w.carol.ID, f.ID); errs.CodeOf(err) != errs.NotFound {
		t.Errorf("carol unfeatures alice's tag: %v", err)
	}
	if tags, _ := w.s.FeaturedTags(ctx, w.alice.ID); len(tags) != 1 {
		t.Errorf("alice's featured tags: %+v", tags)
	}
	for i := 0; i < federation.MaxFeaturedTags-1; i++ {
		if _, err := w.s.FeatureTag(ctx, w.alice.ID, fmt.Sprintf("t%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.s.FeatureTag(ctx, w.alice.ID, "onemore"); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("feature past the limit: %v", err)
	}
	if err := w.s.UnfeatureTag(ctx, w.alice.ID, f.ID); err != nil {
		t.Fatal(err)
	}
	if sugg, err := w.s.TagSuggestions(ctx, w.alice.ID, 10); err != nil || !slices.Equal(sugg, []string{"b"}) {
		t.Errorf("suggestions: %v %v", sugg, err)
	}
}

// timelinePosts are tenant A's public posts for the filter tests: local
// ones by bob, remote ones received by tenant A, one with media.
type timelinePosts struct {
	catsLocal, catsDogsRemote, catsMedia, dogsOnly, birds *federation.Status
}

func (w *moreWorld) timelinePosts() timelinePosts {
	stranger := w.remote("stranger")
	var p timelinePosts
	p.catsLocal = w.post(w.bob, "#cats", federation.Public, []string{"cats"}, false)
	p.catsDogsRemote = w.remotePost(stranger, w.ta, "cats and dogs", "", "cats", "dogs")
	p.catsMedia = w.post(w.bob, "#cats pic", federation.Public, []string{"cats"}, false)
	w.exec(`update statuses set attachments = '[{"url": "https://a.example/m.png", "type": "image"}]' where id = $1`, p.catsMedia.ID)
	p.dogsOnly = w.remotePost(stranger, w.ta, "dogs", "", "dogs")
	p.birds = w.post(w.bob, "#birds", federation.Public, []string{"birds"}, false)
	// Newer posts that every filter below leaves out, so a filter applied
	// after the LIMIT would return an empty first page.
	for i := 0; i < 5; i++ {
		w.post(w.bob, "plain", federation.Public, []string{"other"}, false)
	}
	return p
}

func TestIssue17TagTimelineFiltersBeforeLimit(t *testing.T) {
	w := newMoreWorld(t)
	p := w.timelinePosts()
	ctx := context.Background()
	cases := []struct {
		name string
		tag  string
		f    federation.TimelineFilter
		want []int64
	}{
		{"tag", "cats", federation.TimelineFilter{}, []int64{p.catsMedia.ID, p.catsDogsRemote.ID, p.catsLocal.ID}},
		{"any", "cats", federation.TimelineFilter{Any: []string{"birds"}}, []int64{p.birds.ID, p.catsMedia.ID, p.catsDogsRemote.ID, p.catsLocal.ID}},
		{"all", "cats", federation.TimelineFilter{All: []string{"dogs"}}, []int64{p.catsDogsRemote.ID}},
		{"none", "cats", federation.TimelineFilter{None: []string{"dogs"}}, []int64{p.catsMedia.ID, p.catsLocal.ID}},
		{"only media", "cats", federation.TimelineFilter{OnlyMedia: true}, []int64{p.catsMedia.ID}},
		{"local", "cats", federation.TimelineFilter{Local: true}, []int64{p.catsMedia.ID, p.catsLocal.ID}},
		{"remote", "cats", federation.TimelineFilter{Remote: true}, []int64{p.catsDogsRemote.ID}},
		{"dogs none cats", "dogs", federation.TimelineFilter{None: []string{"cats"}}, []int64{p.dogsOnly.ID}},
	}
	for _, c := range cases {
		var got []int64
		pg := federation.Page{Limit: 1}
		for len(got) < 10 {
			ids, err := w.s.TagTimeline(ctx, w.ta, w.alice.ID, c.tag, c.f, pg)
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) == 0 {
				break
			}
			got = append(got, ids...)
			pg.MaxID = ids[len(ids)-1]
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	// Tenant B never received any of them.
	if ids, _ := w.s.TagTimeline(ctx, w.tb, w.carol.ID, "cats", federation.TimelineFilter{}, federation.Page{Limit: 40}); len(ids) != 0 {
		t.Errorf("tenant B's #cats: %v", ids)
	}
}

func TestIssue17PublicTimelineOnlyMediaBeforeLimit(t *testing.T) {
	w := newMoreWorld(t)
	p := w.timelinePosts()
	ids, err := w.s.PublicStatuses(context.Background(), w.ta, w.alice.ID,
		federation.TimelineFilter{Local: true, Remote: true, OnlyMedia: true}, federation.Page{Limit: 1})
	if err != nil || !slices.Equal(ids, []int64{p.catsMedia.ID}) {
		t.Errorf("only_media first page: %v %v", ids, err)
	}
}

func TestIssue17TagTimelineLeavesSilencedOut(t *testing.T) {
	w := newMoreWorld(t)
	loud, quiet := w.remote("loud"), w.remote("quiet")
	w.exec(`insert into account_limits (account_id, tenant_id, silenced_at) values ($1, $2, now())`, quiet.ID, w.ta)
	shown := w.remotePost(loud, w.ta, "cat", "", "cats")
	w.remotePost(quiet, w.ta, "cat", "", "cats")
	ids, err := w.s.TagTimeline(context.Background(), w.ta, w.alice.ID, "cats", federation.TimelineFilter{}, federation.Page{Limit: 40})
	if err != nil || !slices.Equal(ids, []int64{shown.ID}) {
		t.Errorf("#cats with a silenced author: %v %v", ids, err)
	}
}

func TestIssue17PublicTimelinesHideBlockedMutedBeforeLimit(t *testing.T) {
	w := newMoreWorld(t)
	ctx := context.Background()
	other, blocked, muted := w.remote("other"), w.remote("blocked"), w.remote("muted")
	if err := w.s.Block(ctx, w.alice.ID, blocked.ID, ""); err != nil {
		t.Fatal(err)
	}
	if err := w.s.Mute(ctx, w.alice.ID, muted.ID, false, nil); err != nil {
		t.Fatal(err)
	}
	local := w.post(w.bob, "#cats", federation.Public, []string{"cats"}, false)
	shown := w.remotePost(other, w.ta, "cat", "", "cats")
	for i := 0; i < 3; i++ { // newer than what alice sees: a filter after the LIMIT would leave her page empty
		w.remotePost(blocked, w.ta, "cat", "", "cats")
		w.remotePost(muted, w.ta, "cat", "", "cats")
	}
	one := federation.Page{Limit: 1}
	all := federation.TimelineFilter{Local: true, Remote: true}
	pub, err := w.s.PublicStatuses(ctx, w.ta, w.alice.ID, all, one)
	if err != nil || !slices.Equal(pub, []int64{shown.ID}) {
		t.Errorf("public page 1 for alice: %v %v", pub, err)
	}
	tag, err := w.s.TagTimeline(ctx, w.ta, w.alice.ID, "cats", federation.TimelineFilter{}, one)
	if err != nil || !slices.Equal(tag, []int64{shown.ID}) {
		t.Errorf("#cats page 1 for alice: %v %v", tag, err)
	}
	if anon, _ := w.s.PublicStatuses(ctx, w.ta, federation.SignedOut(w.ta), all, one); slices.Equal(anon, []int64{shown.ID}) {
		t.Error("the signed-out public lost posts alice blocks")
	}
	// alice hides remote.example: only tenant A's own posts are left.
	if err := w.s.BlockDomain(ctx, w.alice.ID, "remote.example"); err != nil {
		t.Fatal(err)
	}
	if pub, _ := w.s.PublicStatuses(ctx, w.ta, w.alice.ID, all, one); !slices.Equal(pub, []int64{local.ID}) {
		t.Errorf("public page 1 with remote.example hidden: %v", pub)
	}
}
