package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"
)

// Issue 18 (settings): in a real browser, a person signs in to the web
// app, adds a profile field pointing at a page that links back with
// rel=me and sees it verified, then sets up two-factor sign-in (key,
// code, recovery codes) and signs in again with a code.
func TestIssue18WebSettingsInBrowser(t *testing.T) {
	t.Parallel()
	// The person's own site, which links back to the profile.
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><title>Alice's site</title><a rel="me" href="http://a.test/@alice">me on a.test</a>`)
	}))
	t.Cleanup(site.Close)
	addr := freeAddr(t)
	n := startNode(t, "websettings", addr, "links.test=http://"+site.Listener.Addr().String())
	n.run(t, "tenant", "create", "--name", "A", "--domain", "a.test")
	n.run(t, "account", "create", "--domain", "a.test", "--username", "alice", "--email", "alice@a.test", "--password", testPassword)
	n.start(t, "serve")
	n.start(t, "work")
	waitHTTP(t, "http://"+addr+"/users/alice", "a.test", 200)

	bctx := portalBrowser(t, addr)
	t.Cleanup(func() { chromedp.Cancel(bctx); time.Sleep(time.Second) })
	shot := newShots(t, bctx)
	signInAs := func() {
		t.Helper()
		waitText(t, bctx, "h1", "Sign in")
		browse(t, bctx, "sign in", chromedp.SendKeys("#email", "alice@a.test", chromedp.ByQuery),
			chromedp.SendKeys("#password", testPassword, chromedp.ByQuery),
			chromedp.Submit("#password", chromedp.ByQuery))
	}

	// The profile page, after signing in.
	browse(t, bctx, "open the profile settings", chromedp.Navigate("http://a.test/settings/profile"))
	signInAs()
	waitText(t, bctx, "h1", "Profile")
	browse(t, bctx, "fill a link field",
		chromedp.SetValue("#display_name", "Alice of A", chromedp.ByQuery),
		chromedp.SendKeys("#field_name_0", "Site", chromedp.ByQuery),
		chromedp.SendKeys("#field_value_0", "http://links.test/", chromedp.ByQuery))
	shot.take("settings-profile-edit")
	browse(t, bctx, "save", chromedp.Click("#save-profile", chromedp.ByQuery))
	waitText(t, bctx, "#notice", "Saved")
	// rel=me is checked in the background: reload until it shows.
	deadline := time.Now().Add(60 * time.Second) // a liveness bound, not a timing check
	for {
		var n int
		browse(t, bctx, "verified?", chromedp.Evaluate(`document.querySelectorAll("#field-0-verified").length`, &n))
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the link field never showed verified")
		}
		time.Sleep(500 * time.Millisecond)
		browse(t, bctx, "reload", chromedp.Navigate("http://a.test/settings/profile"))
		waitText(t, bctx, "h1", "Profile")
	}
	waitText(t, bctx, "#field-0-verified", "Verified")
	shot.take("settings-profile-verified")

	// Two-factor sign-in: set up, confirm with a code, recovery codes.
	browse(t, bctx, "open two-factor", chromedp.Navigate("http://a.test/settings/otp_authentication"))
	waitText(t, bctx, "h1", "Two-factor sign-in")
	browse(t, bctx, "set up", chromedp.Click("#otp-begin", chromedp.ByQuery))
	var secret string
	waitText(t, bctx, "#otp-enrol", "authenticator app")
	browse(t, bctx, "the key", chromedp.Text("#otp-secret", &secret, chromedp.ByQuery), chromedp.WaitVisible("#otp-qr", chromedp.ByQuery))
	shot.take("settings-otp-enrol")
	now := time.Now()
	code, err := totp.GenerateCode(secret, now)
	if err != nil {
		t.Fatal(err)
	}
	browse(t, bctx, "confirm", chromedp.SendKeys("#code", code, chromedp.ByQuery), chromedp.Click("#otp-confirm", chromedp.ByQuery))
	waitText(t, bctx, "#recovery", "recovery codes")
	shot.take("settings-otp-recovery")

	// Signing in again asks for a code after the password.
	browse(t, bctx, "sign out", chromedp.Click("form.signout button", chromedp.ByQuery))
	waitText(t, bctx, "h1", "Sign in")
	browse(t, bctx, "open home", chromedp.Navigate("http://a.test/home"))
	signInAs()
	waitText(t, bctx, "h1", "Two-factor sign-in")
	shot.take("settings-otp-signin")
	next, err := totp.GenerateCode(secret, now.Add(30*time.Second)) // the confirming step is spent
	if err != nil {
		t.Fatal(err)
	}
	browse(t, bctx, "the code", chromedp.SendKeys("#code", next, chromedp.ByQuery), chromedp.Click("#otp-submit", chromedp.ByQuery))
	waitText(t, bctx, "h1", "Home")
	shot.take("settings-otp-signed-in")
}
