package main

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/mattn/go-mastodon"
)

// Issue 21, posting: an author past ROOST_HOME_PULL_FOLLOWERS is read by
// their followers' home timelines instead of filed in them (migration
// 060). Real processes (serve and work), go-mastodon's clients: the work
// process's fan-out job marks the author from the configured bound; the
// followers' home timelines show the author's posts without feed rows,
// and their user streams hear them through the author's channel (the
// relay, Redis, the hub), once each, from follows made while connected
// too, and no longer after an unfollow.
func TestIssue21ReadAuthorWithGoMastodon(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := freeAddr(t)
	n := startNode(t, "api", addr, "")
	n.env = append(n.env, "ROOST_HOME_PULL_FOLLOWERS=20")
	n.run(t, "tenant", "create", "--name", "A", "--domain", "a.test")
	for _, u := range []string{"alice", "bob", "dave"} {
		n.run(t, "account", "create", "--domain", "a.test", "--username", u, "--email", u+"@a.test", "--password", testPassword)
	}
	n.start(t, "serve")
	n.start(t, "work")
	waitHTTP(t, "http://"+addr+"/users/alice", "a.test", 200)
	db, err := pgxpool.New(ctx, n.db)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	alice := signIn(t, addr, "http://a.test", "alice@a.test", "read write follow")
	bob := signIn(t, addr, "http://a.test", "bob@a.test", "read write follow")
	dave := signIn(t, addr, "http://a.test", "dave@a.test", "read write follow")
	me, err := alice.GetAccountCurrentUser(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.AccountFollow(ctx, me.ID); err != nil {
		t.Fatal(err)
	}
	// Twenty more local followers: 21, past the bound of 20 (a post's own
	// transaction reaches its first 20 followers; the job, which marks,
	// meets only larger audiences).
	if _, err := db.Exec(ctx, `with f as (
			insert into accounts (tenant_id, domain, username, public_key_pem, private_key_pem)
			select a.tenant_id, 'a.test', 'fan' || i, '', 'unused' from accounts a, generate_series(1, 20) i
			where a.id = $1 returning id)
		insert into follows (follower_id, followee_id, state, uri) select id, $1, 'accepted', 'http://a.test/follows/' || id from f`,
		string(me.ID)); err != nil {
		t.Fatal(err)
	}
	post := func(c *mastodon.Client, text string) *mastodon.Status {
		t.Helper()
		s, err := c.PostStatus(ctx, &mastodon.Toot{Status: text, Visibility: "public"})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	// alice's next post meets the bound: the job marks her.
	post(alice, "the post that marks")
	deadline := time.Now().Add(time.Minute)
	for {
		var read bool
		if err := db.QueryRow(ctx, `select exists (select 1 from home_pull_authors where account_id = $1)`, string(me.ID)).Scan(&read); err != nil {
			t.Fatal(err)
		}
		if read {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the fan-out job never marked an author past ROOST_HOME_PULL_FOLLOWERS")
		}
		time.Sleep(50 * time.Millisecond)
	}

	open := func(ch chan mastodon.Event, err error) *eventLog {
		t.Helper()
		if err != nil {
			t.Fatalf("open stream: %v", err)
		}
		return record(ch)
	}
	bobWS := open(wsClient(bob, addr).StreamingWSUser(ctx))
	bobSSE := open(streamingClient(bob, addr).StreamingUser(ctx))
	daveWS := open(wsClient(dave, addr).StreamingWSUser(ctx))
	// The streams connect in the background: alice posts until bob's hear
	// one (through her channel: she is read); dave posts until his hears
	// his own (a feed row).
	for i := 0; !bobWS.has(anyUpdate) || !bobSSE.has(anyUpdate) || !daveWS.has(anyUpdate); i++ {
		if i == 100 {
			t.Fatalf("streams never connected: bob %s / %s, dave %s", bobWS, bobSSE, daveWS)
		}
		post(alice, fmt.Sprintf("warming up %d", i))
		post(dave, fmt.Sprintf("dave warming up %d", i))
		time.Sleep(300 * time.Millisecond)
	}

	// A read author's post: no feed row for bob, on his home timeline and
	// his streams all the same.
	p := post(alice, "read, not filed")
	var rows int
	if err := db.QueryRow(ctx, `select count(*) from home_feeds where status_id = $1`, string(p.ID)).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 1 {
		t.Errorf("home-feed rows of a read author's post = %d, want 1 (her own)", rows)
	}
	for _, l := range []*eventLog{bobWS, bobSSE} {
		waitEvent(t, "update of a read author's post", l, isUpdate(p.ID))
	}
	home, err := bob.GetTimelineHome(ctx, &mastodon.Pagination{Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(home, func(s *mastodon.Status) bool { return s.ID == p.ID }) {
		t.Errorf("bob's home timeline misses the read author's post: %d statuses", len(home))
	}

	// Mentioned too (a feed row and the channel): heard once.
	m := post(alice, "@bob read and mentioned")
	end := post(alice, "after the mention")
	for _, l := range []*eventLog{bobWS, bobSSE} {
		waitEvent(t, "the post after the mention", l, isUpdate(end.ID))
		waitEvent(t, "the mention's update", l, isUpdate(m.ID))
		if got := l.count(isUpdate(m.ID)); got != 1 {
			t.Errorf("a read author's post mentioning the follower was streamed %d times, want 1: %s", got, l)
		}
	}

	// Edits and deletes reach the followers' streams.
	if _, err := alice.UpdateStatus(ctx, &mastodon.Toot{Status: "read, not filed (edited)"}, p.ID); err != nil {
		t.Fatal(err)
	}
	if err := alice.DeleteStatus(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	for _, l := range []*eventLog{bobWS, bobSSE} {
		waitEvent(t, "status.update", l, func(e mastodon.Event) bool {
			u, ok := e.(*mastodon.UpdateEditEvent)
			return ok && u.Status.ID == p.ID
		})
		waitEvent(t, "delete", l, func(e mastodon.Event) bool {
			d, ok := e.(*mastodon.DeleteEvent)
			return ok && d.ID == p.ID
		})
	}

	// dave, connected, does not follow alice: he hears none of her posts;
	// following her while connected, he hears the next.
	before := post(alice, "before dave follows")
	if _, err := dave.AccountFollow(ctx, me.ID); err != nil {
		t.Fatal(err)
	}
	var after *mastodon.Status
	for i := 0; after == nil || !daveWS.has(isUpdate(after.ID)); i++ {
		// The follow's pull reaches dave's stream after its commit; a
		// post from then on is heard.
		if i == 100 {
			t.Fatalf("dave never heard alice after following her: %s", daveWS)
		}
		after = post(alice, fmt.Sprintf("after dave follows %d", i))
		time.Sleep(300 * time.Millisecond)
	}
	if daveWS.has(isUpdate(before.ID)) {
		t.Error("dave heard a read author's post from before he followed her")
	}

	// bob unfollows: her posts stop, his own still come.
	if _, err := bob.AccountUnfollow(ctx, me.ID); err != nil {
		t.Fatal(err)
	}
	gone := post(alice, "after bob unfollows")
	own := post(bob, "bob's own, after")
	for _, l := range []*eventLog{bobWS, bobSSE} {
		waitEvent(t, "bob's own post", l, isUpdate(own.ID))
		if l.has(isUpdate(gone.ID)) {
			t.Errorf("bob heard a read author's post after unfollowing her: %s", l)
		}
	}
}
