package main

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/mattn/go-mastodon"
)

// Issue 18: a person signs in to the web app of their domain in a real
// browser, reads home, posts an image (with alt text) and a poll, gets a
// post from someone they follow live (no reload), replies, favourites in
// place, reads notifications; then the app's screens on a phone-sized
// screen scroll only vertically.
func TestIssue18WebAppInBrowser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, addr := apiNode(t)
	alice := signIn(t, addr, "http://a.test", "alice@a.test", "read write follow")
	bob := signIn(t, addr, "http://a.test", "bob@a.test", "read write follow")
	bobAcct, err := bob.GetAccountCurrentUser(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.AccountFollow(ctx, bobAcct.ID); err != nil {
		t.Fatalf("follow: %v", err)
	}
	first, err := bob.PostStatus(ctx, &mastodon.Toot{Status: "Good morning from bob"})
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	photo := image.NewRGBA(image.Rect(0, 0, 320, 180))
	for x := range 320 {
		for y := range 180 {
			photo.Set(x, y, color.RGBA{uint8(x), uint8(y), 200, 255})
		}
	}
	var pic bytes.Buffer
	if err := png.Encode(&pic, photo); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "dusk.png")
	if err := os.WriteFile(file, pic.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	bctx := portalBrowser(t, addr)
	t.Cleanup(func() { chromedp.Cancel(bctx); time.Sleep(time.Second) })
	shot := newShots(t, bctx)

	// Signed out, home asks to sign in, and comes back.
	browse(t, bctx, "open home", chromedp.Navigate("http://a.test/home"))
	waitText(t, bctx, "h1", "Sign in")
	shot.take("web-sign-in")
	browse(t, bctx, "sign in", chromedp.SendKeys("#email", "alice@a.test", chromedp.ByQuery),
		chromedp.SendKeys("#password", testPassword, chromedp.ByQuery),
		chromedp.Submit("#password", chromedp.ByQuery))
	waitText(t, bctx, "h1", "Home")
	waitText(t, bctx, "#feed", "Good morning from bob")
	shot.take("web-home")

	// A post with an image and its alt text, from the compose page.
	browse(t, bctx, "compose", chromedp.Navigate("http://a.test/compose"))
	waitText(t, bctx, "h1", "New post")
	browse(t, bctx, "write with an image",
		chromedp.SendKeys("#status", "Dusk over the roost", chromedp.ByQuery),
		chromedp.Click("details.media-box summary", chromedp.ByQuery),
		chromedp.SetUploadFiles("#file0", []string{file}, chromedp.ByQuery),
		chromedp.SendKeys("#alt0", "a gradient of dusk colours", chromedp.ByQuery))
	shot.take("web-compose-image")
	browse(t, bctx, "post it", chromedp.Submit("#status", chromedp.ByQuery))
	waitText(t, bctx, "#feed", "Dusk over the roost")
	browse(t, bctx, "image shown", chromedp.WaitVisible(`#feed img[alt="a gradient of dusk colours"]`, chromedp.ByQuery))

	// A poll, from the compose box on home.
	browse(t, bctx, "write a poll",
		chromedp.SendKeys("#status", "Owls or larks?", chromedp.ByQuery),
		chromedp.Click("details.poll-box summary", chromedp.ByQuery),
		chromedp.SendKeys("#poll_0", "owls", chromedp.ByQuery),
		chromedp.SendKeys("#poll_1", "larks", chromedp.ByQuery),
		chromedp.Submit("#status", chromedp.ByQuery))
	waitText(t, bctx, "#feed", "Owls or larks?")
	waitText(t, bctx, "#feed .poll", "larks")
	shot.take("web-posted-image-and-poll")

	// A live update: bob posts; the page shows it without reloading.
	var marked bool
	browse(t, bctx, "mark the page", chromedp.Evaluate(`window.notReloaded = true; true`, &marked))
	time.Sleep(2 * time.Second) // let the stream connect: liveness only, nothing is timed
	if _, err := bob.PostStatus(ctx, &mastodon.Toot{Status: "Live from bob, just now"}); err != nil {
		t.Fatalf("live post: %v", err)
	}
	waitText(t, bctx, "#feed", "Live from bob, just now")
	browse(t, bctx, "same page", chromedp.Evaluate(`window.notReloaded === true`, &marked))
	if !marked {
		t.Fatal("the live update reloaded the page")
	}
	shot.take("web-live-update")

	// Favourite in place (the script, no reload), then reply.
	sel := `article[data-id="` + string(first.ID) + `"]`
	browse(t, bctx, "favourite", chromedp.Click(sel+` form[action$="/favourite"] button`, chromedp.ByQuery),
		chromedp.WaitVisible(sel+` form[action$="/favourite"] button[aria-pressed="true"]`, chromedp.ByQuery))
	deadline := time.Now().Add(30 * time.Second) // liveness bound
	for {
		st, err := bob.GetStatus(ctx, first.ID)
		if err == nil && st.FavouritesCount == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the favourite never reached the server: %v %+v", err, st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	browse(t, bctx, "reply", chromedp.Click(sel+` a[data-reply]`, chromedp.ByQuery))
	waitText(t, bctx, "h1", "Reply")
	browse(t, bctx, "write the reply", chromedp.SendKeys("#status", "Morning, bob!", chromedp.ByQuery))
	shot.take("web-reply")
	browse(t, bctx, "send the reply", chromedp.Submit("#status", chromedp.ByQuery))
	waitText(t, bctx, "#feed", "Morning, bob!")
	ctxt, err := bob.GetStatusContext(ctx, first.ID)
	if err != nil || len(ctxt.Descendants) != 1 || !strings.Contains(ctxt.Descendants[0].Content, "Morning, bob!") {
		t.Fatalf("the reply is not in the thread: %v %+v", err, ctxt)
	}

	// Bob favourites and boosts alice's picture and mentions her: her
	// notifications, grouped.
	me, err := alice.GetAccountCurrentUser(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mine, err := alice.GetAccountStatuses(ctx, me.ID, nil)
	if err != nil || len(mine) == 0 {
		t.Fatalf("alice's posts: %v", err)
	}
	dusk := mine[len(mine)-1].ID
	if _, err := bob.Favourite(ctx, dusk); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Reblog(ctx, dusk); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.PostStatus(ctx, &mastodon.Toot{Status: "@alice lovely picture"}); err != nil {
		t.Fatal(err)
	}
	browse(t, bctx, "thread", chromedp.Navigate("http://a.test/statuses/"+string(first.ID)))
	waitText(t, bctx, "main", "Morning, bob!")
	shot.take("web-thread")
	browse(t, bctx, "notifications", chromedp.Navigate("http://a.test/notifications"))
	waitText(t, bctx, "main", "favourited your post")
	waitText(t, bctx, "main", "lovely picture")
	shot.take("web-notifications")

	// A phone: no screen scrolls sideways.
	browse(t, bctx, "phone viewport", chromedp.EmulateViewport(390, 844))
	for _, p := range []string{"/home", "/notifications", "/compose", "/public/local", "/statuses/" + string(first.ID)} {
		var fits bool
		browse(t, bctx, "open "+p+" on a phone", chromedp.Navigate("http://a.test"+p), chromedp.WaitVisible("main", chromedp.ByQuery),
			chromedp.Evaluate(`document.documentElement.scrollWidth <= window.innerWidth`, &fits))
		shot.take("web-phone" + strings.NewReplacer("/", "-").Replace(p))
		if !fits {
			var sw, iw int
			chromedp.Run(bctx, chromedp.Evaluate(`document.documentElement.scrollWidth`, &sw),
				chromedp.Evaluate(`window.innerWidth`, &iw))
			t.Errorf("%s scrolls sideways at 390px: scrollWidth %d > innerWidth %d", p, sw, iw)
		}
	}
}
