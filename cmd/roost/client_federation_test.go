package main

import (
	"context"
	"strings"
	"testing"

	"github.com/mattn/go-mastodon"
)

// The client API meets federation in the middle: what apps do on one node
// reaches another node over signed HTTP, and what arrives shows in apps.
func TestClientAPIFederatesBetweenTwoNodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	addrA, addrB := freeAddr(t), freeAddr(t)
	resolve := "a.test=" + addrA + ",b.test=" + addrB
	a := startNode(t, "ca", addrA, resolve)
	b := startNode(t, "cb", addrB, resolve)
	a.run(t, "tenant", "create", "--name", "A", "--domain", "a.test")
	a.run(t, "account", "create", "--domain", "a.test", "--username", "alice", "--email", "alice@a.test", "--password", testPassword)
	b.run(t, "tenant", "create", "--name", "B", "--domain", "b.test")
	b.run(t, "account", "create", "--domain", "b.test", "--username", "bob", "--email", "bob@b.test", "--password", testPassword)
	for _, n := range []*node{a, b} {
		n.start(t, "serve")
		n.start(t, "work")
	}
	waitHTTP(t, "http://"+addrA+"/users/alice", "a.test", 200)
	waitHTTP(t, "http://"+addrB+"/users/bob", "b.test", 200)
	alice := signIn(t, addrA, "http://a.test", "alice@a.test", "read write follow")
	bob := signIn(t, addrB, "http://b.test", "bob@b.test", "read write follow")

	// bob follows alice from his app: a search resolves her through
	// WebFinger, the follow is accepted over HTTP.
	found, err := bob.AccountsSearchResolve(ctx, "alice@a.test", 5, true)
	if err != nil || len(found) != 1 || found[0].Acct != "alice@a.test" {
		t.Fatalf("search resolving alice@a.test: %v %v", found, err)
	}
	if _, err := bob.AccountFollow(ctx, found[0].ID); err != nil {
		t.Fatal(err)
	}
	b.eventually(t, "accepted", `select f.state from follows f join accounts r on r.id = f.followee_id where r.uri = 'http://a.test/users/alice'`)
	aliceMe, _ := alice.GetAccountCurrentUser(ctx)
	eventuallyTrue(t, "alice sees her remote follower", func() bool {
		fs, err := alice.GetAccountFollowers(ctx, aliceMe.ID, nil)
		return err == nil && len(fs) == 1 && fs[0].Acct == "bob@b.test"
	})

	// A profile edit in alice's app reaches B as Update(Person).
	if _, err := alice.AccountUpdate(ctx, &mastodon.Profile{DisplayName: ptr("Alice from A")}); err != nil {
		t.Fatal(err)
	}
	b.eventually(t, "Alice from A", `select display_name from accounts where uri = 'http://a.test/users/alice'`)

	// alice posts from her app; bob's app shows it at home.
	post, err := alice.PostStatus(ctx, &mastodon.Toot{Status: "Hello B, from an app on A", Visibility: "public"})
	if err != nil {
		t.Fatal(err)
	}
	var remotePost *mastodon.Status
	eventuallyTrue(t, "alice's post in bob's home timeline", func() bool {
		home, err := bob.GetTimelineHome(ctx, nil)
		if err == nil && len(home) > 0 && home[0].URI == post.URI {
			remotePost = home[0]
			return true
		}
		return false
	})
	if remotePost.Account.Acct != "alice@a.test" || !strings.Contains(remotePost.Content, "Hello B") {
		t.Fatalf("remote post as bob sees it: %+v", remotePost)
	}

	// bob likes it and replies from his app; alice is notified on A.
	if _, err := bob.Favourite(ctx, remotePost.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.PostStatus(ctx, &mastodon.Toot{Status: "@alice@a.test welcome!", InReplyToID: remotePost.ID}); err != nil {
		t.Fatal(err)
	}
	eventuallyTrue(t, "alice notified of bob's like and reply", func() bool {
		ns, err := alice.GetNotifications(ctx, nil)
		if err != nil {
			return false
		}
		got := map[string]bool{}
		for _, n := range ns {
			if n.Account.Acct == "bob@b.test" {
				got[n.Type] = true
			}
		}
		return got["favourite"] && got["mention"] && got["follow"]
	})
	eventuallyTrue(t, "counters on A", func() bool {
		st, err := alice.GetStatus(ctx, post.ID)
		return err == nil && st.FavouritesCount == 1 && st.RepliesCount == 1
	})
	ctxA, err := alice.GetStatusContext(ctx, post.ID)
	if err != nil || len(ctxA.Descendants) != 1 || ctxA.Descendants[0].Account.Acct != "bob@b.test" {
		t.Fatalf("thread on A: %+v %v", ctxA, err)
	}

	// alice deletes the post: it disappears from bob's app.
	if err := alice.DeleteStatus(ctx, post.ID); err != nil {
		t.Fatal(err)
	}
	eventuallyTrue(t, "deleted post gone on B", func() bool {
		_, err := bob.GetStatus(ctx, remotePost.ID)
		return apiStatus(err) == 404
	})
}
