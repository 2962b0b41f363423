package main

import (
	"archive/zip"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Issue 18 (settings: export, import, delete the account; redraft with
// media): in a real browser, alice posts an image with alt text and
// deletes-and-redrafts it (the image stays attached), requests an
// archive and downloads link appears once roost work built it, imports
// an archive and sees its result, then deletes her account: a wrong
// password is refused, the right one signs her out and her actor answers
// 410 Gone.
func TestIssue18AccountSettingsInBrowser(t *testing.T) {
	t.Parallel()
	_, addr := apiNode(t)
	dir := t.TempDir()
	pic := filepath.Join(dir, "dot.png")
	if err := os.WriteFile(pic, testPNG(t, 64, 48), 0o644); err != nil {
		t.Fatal(err)
	}
	archivePath := filepath.Join(dir, "archive.zip")
	writeTestArchive(t, archivePath)

	bctx := portalBrowser(t, addr)
	t.Cleanup(func() { chromedp.Cancel(bctx); time.Sleep(time.Second) })
	shot := newShots(t, bctx)
	browse(t, bctx, "open compose", chromedp.Navigate("http://a.test/compose"))
	waitText(t, bctx, "h1", "Sign in")
	browse(t, bctx, "sign in", chromedp.SendKeys("#email", "alice@a.test", chromedp.ByQuery),
		chromedp.SendKeys("#password", testPassword, chromedp.ByQuery),
		chromedp.Submit("#password", chromedp.ByQuery))
	waitText(t, bctx, "h1", "New post")

	// Delete and redraft keeps the image and its alt text.
	browse(t, bctx, "write with an image",
		chromedp.SendKeys("#status", "A dot to redraft", chromedp.ByQuery),
		chromedp.Click("details.media-box summary", chromedp.ByQuery),
		chromedp.SetUploadFiles("#file0", []string{pic}, chromedp.ByQuery),
		chromedp.SendKeys("#alt0", "a small gradient", chromedp.ByQuery),
		chromedp.Submit("#status", chromedp.ByQuery))
	waitText(t, bctx, "#feed", "A dot to redraft")
	var ok bool
	// The form sits in the post's menu; submitted as its button would.
	browse(t, bctx, "redraft", chromedp.Evaluate(`document.querySelector('#feed form[action$="/redraft"]').submit(); true`, &ok))
	waitText(t, bctx, "h1", "Redraft")
	waitText(t, bctx, "fieldset", "a small gradient")
	shot.take("web-redraft-media")

	// Export: requested, then built by roost work, with its download.
	browse(t, bctx, "open export", chromedp.Navigate("http://a.test/settings/export"))
	waitText(t, bctx, "h1", "Export")
	browse(t, bctx, "request", chromedp.Click("#export-request", chromedp.ByQuery))
	waitText(t, bctx, "#notice", "Export requested")
	shot.take("settings-export-requested")
	waitSelector(t, bctx, "http://a.test/settings/export", "h1", "Export", `a[id^="download-"]`)
	shot.take("settings-export-ready")

	// Import: an archive uploaded, queued, then imported by roost work.
	browse(t, bctx, "open import", chromedp.Navigate("http://a.test/settings/import"))
	waitText(t, bctx, "h1", "Import")
	browse(t, bctx, "upload", chromedp.SetUploadFiles("#file", []string{archivePath}, chromedp.ByQuery),
		chromedp.Click("#import-submit", chromedp.ByQuery))
	waitText(t, bctx, "#notice", "Import queued")
	shot.take("settings-import-queued")
	waitSelector(t, bctx, "http://a.test/settings/import", "h1", "Import", ".state-done")
	shot.take("settings-import-done")

	// Delete the account: the wrong password first.
	browse(t, bctx, "open delete", chromedp.Navigate("http://a.test/settings/delete"))
	waitText(t, bctx, "h1", "Delete account")
	shot.take("settings-delete")
	browse(t, bctx, "wrong password", chromedp.SendKeys("#password", "not the password", chromedp.ByQuery),
		chromedp.Click(`input[name="understood"]`, chromedp.ByQuery), chromedp.Click("#delete-account", chromedp.ByQuery))
	waitText(t, bctx, "#form-error", "The password is wrong")
	shot.take("settings-delete-wrong-password")
	browse(t, bctx, "right password", chromedp.SendKeys("#password", testPassword, chromedp.ByQuery),
		chromedp.Click(`input[name="understood"]`, chromedp.ByQuery), chromedp.Click("#delete-account", chromedp.ByQuery))
	waitText(t, bctx, "#deleted", "is deleted")
	shot.take("settings-deleted")
	if code, _, _ := getAP(t, addr, "a.test", "/users/alice", true); code != 410 {
		t.Errorf("the deleted actor: %d", code)
	}
	browse(t, bctx, "home again", chromedp.Navigate("http://a.test/home"))
	waitText(t, bctx, "h1", "Sign in")
	waitHTTP(t, "http://"+addr+"/users/bob", "a.test", 200)
}

// waitSelector reloads page until sel exists (work done in the
// background; a liveness bound, not a timing check).
func waitSelector(t *testing.T, ctx context.Context, page, h1, title, sel string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		var n int
		browse(t, ctx, "look for "+sel, chromedp.Evaluate(`document.querySelectorAll(`+strconv.Quote(sel)+`).length`, &n))
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never showed %s", page, sel)
		}
		time.Sleep(time.Second)
		browse(t, ctx, "reload", chromedp.Navigate(page))
		waitText(t, ctx, h1, title)
	}
}

// writeTestArchive writes a small archive another server could have
// exported: an actor and an outbox with one public note.
func writeTestArchive(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, body := range map[string]string{
		"actor.json": `{"id":"https://old.test/users/alice","type":"Person"}`,
		"outbox.json": `{"type":"OrderedCollection","orderedItems":[{"type":"Create","object":{"id":"https://old.test/users/alice/statuses/1",` +
			`"type":"Note","attributedTo":"https://old.test/users/alice","content":"<p>from my old server</p>",` +
			`"to":["https://www.w3.org/ns/activitystreams#Public"],"published":"2024-01-01T00:00:00Z"}}]}`,
	} {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
