package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/mattn/go-mastodon"
)

// Issue 18: a visitor signed in nowhere, in a real browser, opens the
// links a Mastodon app prints — a post's url, a hashtag, the author's
// profile, its RSS feed — and each is a real page, with the author's
// avatar shown (the pages' CSP allows the tenant's own media); then the
// same pages on a phone-sized screen scroll only vertically.
func TestIssue18PublicPagesInBrowser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, addr := apiNode(t)
	alice := signIn(t, addr, "http://a.test", "alice@a.test", "read write")
	bob := signIn(t, addr, "http://a.test", "bob@a.test", "read write")

	var pic bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 96, 96))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	if err := png.Encode(&pic, img); err != nil {
		t.Fatal(err)
	}
	avatar := "data:image/png;base64," + base64.StdEncoding.EncodeToString(pic.Bytes())
	if _, err := alice.AccountUpdate(ctx, &mastodon.Profile{Avatar: avatar}); err != nil {
		t.Fatalf("avatar: %v", err)
	}
	photo := image.NewRGBA(image.Rect(0, 0, 640, 360))
	for x := range 640 {
		for y := range 360 {
			photo.Set(x, y, color.RGBA{uint8(x), uint8(y), 160, 255})
		}
	}
	var photoPNG bytes.Buffer
	if err := png.Encode(&photoPNG, photo); err != nil {
		t.Fatal(err)
	}
	att, err := alice.UploadMediaFromMedia(ctx, &mastodon.Media{File: &photoPNG, Description: "a gradient of dusk colours"})
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	st, err := alice.PostStatus(ctx, &mastodon.Toot{Status: "Evening over the roost #RoostWeb " +
		"https://example.org/a/very/long/link/that/must/wrap/on/a/phone/screen/without/scrolling/sideways",
		MediaIDs: []mastodon.ID{att.ID}})
	if err != nil {
		t.Fatalf("post: %v", err)
	}
	if _, err := bob.PostStatus(ctx, &mastodon.Toot{Status: "Lovely light, alice", InReplyToID: st.ID}); err != nil {
		t.Fatalf("reply: %v", err)
	}
	if _, err := alice.PostStatus(ctx, &mastodon.Toot{Status: "only for my followers", Visibility: "private"}); err != nil {
		t.Fatalf("private post: %v", err)
	}
	if st.URL != "http://a.test/@alice/"+string(st.ID) {
		t.Fatalf("Status.url %q", st.URL)
	}

	bctx := portalBrowser(t, addr)
	t.Cleanup(func() { chromedp.Cancel(bctx); time.Sleep(time.Second) })
	shot := newShots(t, bctx)
	imageShown := func(sel string) {
		t.Helper()
		var ok bool
		deadline := time.Now().Add(30 * time.Second) // a liveness bound, not a timing check
		for !ok && time.Now().Before(deadline) {
			browse(t, bctx, "image "+sel, chromedp.Evaluate(`(() => { const i = document.querySelector(`+
				"`"+sel+"`"+`); return !!i && i.complete && i.naturalWidth > 0 })()`, &ok))
			if !ok {
				time.Sleep(100 * time.Millisecond)
			}
		}
		if !ok {
			t.Fatalf("%s is not shown (blocked or missing)", sel)
		}
	}

	// The post link the API printed: the post, its image with alt text,
	// the reply, the author's avatar.
	browse(t, bctx, "open the post", chromedp.Navigate(st.URL))
	waitText(t, bctx, "article.focus", "Evening over the roost")
	waitText(t, bctx, "main", "Lovely light, alice")
	imageShown(`article.focus img[alt="a gradient of dusk colours"]`)
	imageShown(`article.focus img.avatar`)
	shot.take("public-post")

	// Its hashtag.
	browse(t, bctx, "click the hashtag", chromedp.Click(`article.focus a[href$="/tags/roostweb"]`, chromedp.ByQuery))
	waitText(t, bctx, "h1", "#roostweb")
	waitText(t, bctx, "main", "Evening over the roost")
	shot.take("public-hashtag")

	// The author's profile, from the post's byline.
	browse(t, bctx, "open the profile", chromedp.Navigate("http://a.test/@alice"))
	waitText(t, bctx, "h1", "alice")
	waitText(t, bctx, "main", "Evening over the roost")
	imageShown(`img.avatar.big`)
	var body string
	browse(t, bctx, "profile text", chromedp.Text("main", &body, chromedp.ByQuery))
	if strings.Contains(body, "only for my followers") {
		t.Fatal("the profile shows a followers-only post to a visitor")
	}
	shot.take("public-profile")

	// Its RSS feed, linked from the page.
	var feed string
	browse(t, bctx, "feed link", chromedp.AttributeValue(`link[type="application/rss+xml"]`, "href", &feed, nil, chromedp.ByQuery))
	browse(t, bctx, "open the feed", chromedp.Navigate(feed))
	waitText(t, bctx, "body", "Evening over the roost")
	shot.take("public-rss")

	// A phone: no page scrolls sideways.
	browse(t, bctx, "phone viewport", chromedp.EmulateViewport(390, 844))
	for _, u := range []string{st.URL, "http://a.test/tags/roostweb", "http://a.test/@alice", "http://a.test/"} {
		var fits bool
		browse(t, bctx, "open "+u+" on a phone", chromedp.Navigate(u), chromedp.WaitVisible("main", chromedp.ByQuery),
			chromedp.Evaluate(`document.documentElement.scrollWidth <= window.innerWidth`, &fits))
		name := "phone-" + strings.NewReplacer("http://a.test", "", "/", "-", "@", "").Replace(u)
		shot.take(strings.TrimRight(name, "-"))
		if !fits {
			var sw, iw int
			chromedp.Run(bctx, chromedp.Evaluate(`document.documentElement.scrollWidth`, &sw),
				chromedp.Evaluate(`window.innerWidth`, &iw))
			t.Errorf("%s scrolls sideways at 390px: scrollWidth %d > innerWidth %d", u, sw, iw)
		}
	}
}
