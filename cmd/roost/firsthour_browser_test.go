package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/roost-social/roost/tenant/verify/dnstest"
)

// TestIssue20SignupToFirstPost is a newcomer's first hour in a browser:
// from the portal's front page to a published first post on a new
// subdomain, through the signed-in web app. It counts the clicks a
// person makes and sums the server's part of every page load (request
// start to response end, as the browser measured it), and reports both;
// it asserts the path works, never how long it took.
func TestIssue20SignupToFirstPost(t *testing.T) {
	t.Parallel()
	dns := dnstest.Start(t)
	_, addr := startPortal(t, dns)
	ctx := portalBrowser(t, addr)
	shot := newShots(t, ctx)

	clicks := 0
	var serverMS float64
	click := func(sel string) chromedp.Action {
		clicks++
		return chromedp.Click(sel, chromedp.ByQuery)
	}
	// serverTime adds the page's own load: time from sending the request
	// to the end of the response, which on loopback is the server's work.
	serverTime := func() {
		var ms float64
		browse(t, ctx, "read the navigation timing", chromedp.Evaluate(
			`(() => { const n = performance.getEntriesByType('navigation')[0]; return n ? n.responseEnd - n.requestStart : 0 })()`, &ms))
		serverMS += ms
	}

	browse(t, ctx, "open the portal", chromedp.Navigate("http://"+portalHost+"/"), chromedp.WaitVisible("#start", chromedp.ByQuery))
	serverTime()
	browse(t, ctx, "start a site",
		chromedp.SetValue("#name", "Carol's corner", chromedp.ByQuery),
		chromedp.SetValue("#email", "carol@mail.test", chromedp.ByQuery),
		chromedp.SetValue("#password", "carol's long password", chromedp.ByQuery),
		click("#rules"), click("#start"),
		chromedp.WaitVisible("#choose-subdomain", chromedp.ByQuery))
	serverTime()
	browse(t, ctx, "take a subdomain",
		chromedp.SetValue("#label", "carol", chromedp.ByQuery),
		click("#use-subdomain"),
		chromedp.WaitVisible("#create-account", chromedp.ByQuery))
	serverTime()
	browse(t, ctx, "create the account",
		chromedp.SetValue("#username", "carol", chromedp.ByQuery),
		chromedp.SetValue("#password", "carol's long password", chromedp.ByQuery),
		click("#create-account"),
		chromedp.WaitVisible("#done", chromedp.ByQuery))
	serverTime()
	waitText(t, ctx, "#handle", "@carol@carol.roost.test")
	shot.take("account-ready")

	// The portal's last page says where to go next; a person follows it
	// to the new site and signs in there.
	site := "http://carol.roost.test"
	browse(t, ctx, "follow the portal's link to the new site",
		click("#web-sign-in"),
		chromedp.WaitVisible("#email", chromedp.ByQuery))
	var at string
	browse(t, ctx, "read the address", chromedp.Location(&at))
	if at != site+"/auth/sign_in" {
		t.Errorf("the portal's link opened %s, want %s/auth/sign_in", at, site)
	}
	serverTime()
	browse(t, ctx, "submit the sign-in",
		chromedp.SetValue("#email", "carol@mail.test", chromedp.ByQuery),
		chromedp.SetValue("#password", "carol's long password", chromedp.ByQuery),
		click(`form[action="/auth/sign_in"] button[type=submit]`),
		chromedp.WaitVisible("#status", chromedp.ByQuery))
	serverTime()
	browse(t, ctx, "write and publish the first post",
		chromedp.SetValue("#status", "Hello from my own corner of the fediverse #introduction", chromedp.ByQuery),
		click(`form.compose button[type=submit]`),
		chromedp.WaitVisible("article.post", chromedp.ByQuery))
	serverTime()
	waitText(t, ctx, "article.post", "Hello from my own corner")
	shot.take("first-post")

	// Visible to the world: the public profile lists it.
	resp, body := portalGet(t, "http://"+addr+"/@carol", "carol.roost.test", "Accept", "text/html")
	if resp.StatusCode != 200 || !strings.Contains(body, "Hello from my own corner") {
		t.Fatalf("public profile after the first post: %d\n%s", resp.StatusCode, body)
	}
	line, _ := json.Marshal(map[string]any{"bench": "signup_to_first_post", "clicks": clicks, "server_ms": serverMS})
	t.Logf("%s", line)
}
