package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// webSignIn fills in the web app's sign-in page the browser is on.
func webSignIn(t *testing.T, bctx context.Context, email string) {
	t.Helper()
	waitText(t, bctx, "h1", "Sign in")
	browse(t, bctx, "sign in as "+email, chromedp.SendKeys("#email", email, chromedp.ByQuery),
		chromedp.SendKeys("#password", testPassword, chromedp.ByQuery),
		chromedp.Submit("#password", chromedp.ByQuery))
}

// reloadUntil opens url until sel's text contains want: for what arrives
// in the background (a liveness bound, not a timing check).
func reloadUntil(t *testing.T, bctx context.Context, url, sel, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var got string
		browse(t, bctx, "open "+url, chromedp.Navigate(url), chromedp.WaitVisible("main", chromedp.ByQuery))
		tctx, cancel := context.WithTimeout(bctx, 3*time.Second)
		err := chromedp.Run(tctx, chromedp.Text(sel, &got, chromedp.ByQuery))
		cancel()
		if err == nil && strings.Contains(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s at %s never showed %q (last %q, %v)", sel, url, want, got, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// Issue 18: a person signed in to the web app of a.test (node A) searches
// an account of another Roost node (b.test, node B, its own database and
// processes, over real signed HTTP), opens its profile inside the app,
// follows it from there; B receives the Follow and accepts it, A records
// the Accept, and the remote account's next post shows on the person's
// home screen.
func TestIssue18FollowRemoteAccountInBrowser(t *testing.T) {
	t.Parallel()
	addrA, addrB := freeAddr(t), freeAddr(t)
	resolve := "a.test=" + addrA + ",b.test=" + addrB
	a := startNode(t, "wra", addrA, resolve)
	b := startNode(t, "wrb", addrB, resolve)
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
	b.run(t, "post", "--account", "bob@b.test", "--text", "Hello from node B")

	// The browser reaches node A only: everything about b.test goes
	// through A's server-side lookups and deliveries.
	bctx := portalBrowser(t, addrA)
	t.Cleanup(func() { chromedp.Cancel(bctx); time.Sleep(time.Second) })
	shot := newShots(t, bctx)

	browse(t, bctx, "open search", chromedp.Navigate("http://a.test/search"))
	webSignIn(t, bctx, "alice@a.test")
	waitText(t, bctx, "h1", "Search")
	// The page loaded (its scripts ran) before typing: on a loaded
	// machine the search box was replaced between chromedp finding it and
	// typing into it ("Could not find node with given id").
	browse(t, bctx, "search bob@b.test", chromedp.Poll(`document.readyState === "complete"`, nil),
		chromedp.WaitVisible("#q", chromedp.ByQuery), chromedp.SendKeys("#q", "bob@b.test", chromedp.ByQuery),
		chromedp.Submit("#q", chromedp.ByQuery))
	waitText(t, bctx, "section[aria-labelledby=people-h]", "@bob@b.test")
	shot.take("web-remote-search")

	// The profile inside the app, then follow from it.
	browse(t, bctx, "open the remote profile", chromedp.Click(".person a.name", chromedp.ByQuery))
	waitText(t, bctx, "#profile .handle", "@bob@b.test")
	// Issue 18 (left 3): before any delivery, the profile shows bob's
	// count and post as read from his outbox on B.
	waitText(t, bctx, "#profile", "1 posts")
	waitText(t, bctx, "#feed", "Hello from node B")
	shot.take("web-remote-profile")
	var profileURL string
	browse(t, bctx, "where", chromedp.Location(&profileURL))
	browse(t, bctx, "follow", chromedp.Click("#follow", chromedp.ByQuery))
	waitText(t, bctx, "#profile .handle", "@bob@b.test")

	// B: the Follow arrived signed by alice's key, was recorded and
	// accepted; A: the Accept came back.
	b.eventually(t, "accepted", `select f.state from follows f join accounts r on r.id = f.follower_id
		join accounts l on l.id = f.followee_id where r.uri = 'http://a.test/users/alice' and l.username = 'bob'`)
	a.eventually(t, "accepted", `select f.state from follows f join accounts r on r.id = f.followee_id
		where r.uri = 'http://b.test/users/bob'`)
	reloadUntil(t, bctx, profileURL, "#relationship", "You follow this account.")
	waitText(t, bctx, "#follow", "Unfollow")
	shot.take("web-remote-following")

	// bob posts on B; alice sees it at home on A.
	b.run(t, "post", "--account", "bob@b.test", "--text", "Fresh from node B for my new follower")
	reloadUntil(t, bctx, "http://a.test/home", "#feed", "Fresh from node B for my new follower")
	waitText(t, bctx, "#feed", "@bob@b.test")
	shot.take("web-remote-post-at-home")
}

// Issue 18: a person moves their account to another tenant from the web
// app's settings: signed in on the new account (b.test), they add the old
// one as an alias; signed in on the old one (a.test), they move from the
// migration page. The old profile page then says where it went, and its
// followers (on its own and on another tenant) now follow the new account.
func TestIssue18MoveFromSettingsInBrowser(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	n := startNode(t, "wmove", addr, "")
	n.run(t, "tenant", "create", "--name", "A", "--domain", "a.test")
	n.run(t, "tenant", "create", "--name", "B", "--domain", "b.test")
	for _, acc := range [][2]string{{"a.test", "alice"}, {"a.test", "bob"}, {"b.test", "alice"}, {"b.test", "carol"}} {
		n.run(t, "account", "create", "--domain", acc[0], "--username", acc[1], "--email", acc[1]+"@"+acc[0], "--password", testPassword)
	}
	n.start(t, "serve")
	n.start(t, "work")
	waitHTTP(t, "http://"+addr+"/users/alice", "a.test", 200)
	n.run(t, "follow", "--account", "bob@a.test", "--target", "alice@a.test")
	n.run(t, "follow", "--account", "carol@b.test", "--target", "alice@a.test")
	// alice's followers on a domain, with their follows' states.
	const followersOf = `select coalesce(string_agg(f.username || '@' || f.domain || ' ' || fo.state, ',' order by f.username), 'none')
		from follows fo join accounts f on f.id = fo.follower_id join accounts l on l.id = fo.followee_id
		where l.username = 'alice' and l.domain = $1`
	n.eventually(t, "bob@a.test accepted,carol@b.test accepted", followersOf, "a.test")

	bctx := portalBrowser(t, addr)
	t.Cleanup(func() { chromedp.Cancel(bctx); time.Sleep(time.Second) })
	shot := newShots(t, bctx)

	// On the new account: the old one becomes an alias.
	browse(t, bctx, "open aliases on b.test", chromedp.Navigate("http://b.test/settings/aliases"))
	webSignIn(t, bctx, "alice@b.test")
	waitText(t, bctx, "h1", "Account aliases")
	browse(t, bctx, "name the old account", chromedp.SendKeys("#acct", "alice@a.test", chromedp.ByQuery))
	browse(t, bctx, "add the alias", chromedp.Click("#alias-add", chromedp.ByQuery))
	waitText(t, bctx, ".alias", "http://a.test/users/alice")
	shot.take("web-move-alias-added")

	// On the old account: move from the migration page. Without the
	// box ticked, the browser itself refuses (required).
	browse(t, bctx, "open migration on a.test", chromedp.Navigate("http://a.test/settings/migration"))
	webSignIn(t, bctx, "alice@a.test")
	waitText(t, bctx, "h1", "Move to another account")
	browse(t, bctx, "name the new account", chromedp.SendKeys("#acct", "alice@b.test", chromedp.ByQuery),
		chromedp.Click(`input[name="understood"]`, chromedp.ByQuery))
	shot.take("web-move-form")
	browse(t, bctx, "move", chromedp.Click("#move", chromedp.ByQuery))
	waitText(t, bctx, "#moved-to", "http://b.test/users/alice")
	shot.take("web-move-done")

	// The old public profile says where the account went, linking there.
	browse(t, bctx, "old profile", chromedp.Navigate("http://a.test/@alice"))
	waitText(t, bctx, ".moved", "This account has moved to")
	var href string
	var ok bool
	browse(t, bctx, "moved link", chromedp.AttributeValue(".moved a", "href", &href, &ok, chromedp.ByQuery))
	if href != "http://b.test/@alice" {
		t.Errorf("the moved notice links to %q", href)
	}
	shot.take("web-move-old-profile")

	// The followers, on a.test and on b.test, follow the new account.
	n.eventually(t, "bob@a.test accepted,carol@b.test accepted", followersOf, "b.test")
	n.eventually(t, "none", followersOf, "a.test")
	reloadUntil(t, bctx, "http://b.test/@alice", ".counts", "2 followers")
	shot.take("web-move-new-profile")
}
