package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// An operator, in a real browser against real `roost serve` and `roost
// work` processes: imports a block list from a Mastodon CSV file, reads
// the preview of what it would change, confirms, sees the blocks, undoes
// the whole import and sees them gone; adds a block by hand; looks at
// the remote hosts, one host's page and the delivery queue with its dead
// letter, and retries it. Every page is kept as a screenshot.
func TestAdminFederationInBrowser(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	// A block list published elsewhere, for the subscription.
	lists := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/csv")
		io.WriteString(w, "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\nlisted.example,suspend,false,false,From the list,false\n")
	}))
	t.Cleanup(lists.Close)
	n := startNode(t, "fedadmin", addr, "lists.test="+lists.Listener.Addr().String())
	n.env = append(n.env, "ROOST_OPERATOR_HOST="+operatorHost)
	n.run(t, "tenant", "create", "--name", "Operators", "--domain", "ops.test")
	n.run(t, "account", "create", "--domain", "ops.test", "--username", "op", "--email", "op@mail.test", "--password", "operator password")
	n.run(t, "operator", "grant", "--email", "op@mail.test")
	// A remote host we delivered to and gave up on: a dead letter. One
	// block exists already, so the import changes it.
	n.query(t, `insert into remote_hosts (host, software, version, consecutive_failures, last_error, last_failure_at)
		values ('far.example', 'mastodon', '4.3.1', 7, 'status 502', now()) returning host`)
	n.query(t, `insert into deliveries (sender_id, activity_id, inbox_url, host, body, state, attempts, last_status, last_error)
		select id, 'http://ops.test/users/op#x', 'https://far.example/inbox', 'far.example', '{}', 'failed', 9, 502, 'status 502'
		from accounts where username = 'op' returning id`)
	n.query(t, `insert into domain_blocks (domain, severity) values ('loud.example', 'silence') returning id`)
	n.start(t, "serve")
	n.start(t, "work")
	waitHTTP(t, "http://"+addr+"/healthz", "any.test", 200)

	csv := filepath.Join(t.TempDir(), "blocklist.csv")
	if err := os.WriteFile(csv, []byte("#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n"+
		"spam.example,suspend,false,false,Spam farm,false\n"+
		"loud.example,suspend,true,true,Escalated,false\n"+
		"pics.example,noop,true,false,,true\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx := portalBrowser(t, addr)
	t.Cleanup(func() { chromedp.Cancel(ctx); time.Sleep(time.Second) })
	shot := newShots(t, ctx)
	base := "http://" + operatorHost
	browse(t, ctx, "sign in",
		chromedp.Navigate(base+"/login"), chromedp.WaitVisible("#login", chromedp.ByQuery),
		chromedp.SetValue("#email", "op@mail.test", chromedp.ByQuery),
		chromedp.SetValue("#password", "operator password", chromedp.ByQuery),
		chromedp.Click("#login", chromedp.ByQuery), chromedp.WaitVisible("#logout", chromedp.ByQuery))

	browse(t, ctx, "blocks page",
		chromedp.Navigate(base+"/federation/blocks"), chromedp.WaitVisible("#import-form", chromedp.ByQuery))
	waitText(t, ctx, "#block-list", "loud.example")
	shot.take("federation-blocks")
	browse(t, ctx, "upload the CSV and preview",
		chromedp.SetUploadFiles("#file", []string{csv}, chromedp.ByQuery),
		chromedp.Click("#preview-import", chromedp.ByQuery), chromedp.WaitVisible("#preview-summary", chromedp.ByQuery))
	waitText(t, ctx, "#preview-added", "2")
	waitText(t, ctx, "#preview-changed", "1")
	waitText(t, ctx, "#preview-unchanged", "0")
	preview := waitText(t, ctx, "#preview-list", "spam.example")
	if !strings.Contains(preview, "silence") || !strings.Contains(preview, "not blocked") {
		t.Fatalf("preview does not show the before state:\n%s", preview)
	}
	shot.take("federation-import-preview")
	if got := n.query(t, `select count(*) from domain_blocks`); got != "1" {
		t.Fatalf("the preview applied something: %s blocks", got)
	}
	browse(t, ctx, "confirm the import",
		chromedp.Click("#confirm-import", chromedp.ByQuery), chromedp.WaitVisible("#notice", chromedp.ByQuery))
	waitText(t, ctx, "#notice", "2 added, 1 changed")
	list := waitText(t, ctx, "#block-list", "spam.example")
	if !strings.Contains(list, "pics.example") || !strings.Contains(list, "Escalated") {
		t.Fatalf("blocks after the import:\n%s", list)
	}
	shot.take("federation-blocks-imported")
	if got := n.query(t, `select severity || ' ' || reject_media from domain_blocks where domain = 'loud.example'`); got != "suspend true" {
		t.Fatalf("loud.example after the import: %s", got)
	}

	browse(t, ctx, "undo the import",
		chromedp.Click("#import-list button.deny", chromedp.ByQuery), chromedp.WaitVisible("#notice", chromedp.ByQuery))
	waitText(t, ctx, "#notice", "2 removed, 1 restored")
	list = waitText(t, ctx, "#block-list", "loud.example")
	if strings.Contains(list, "spam.example") || strings.Contains(list, "pics.example") || !strings.Contains(list, "silence") {
		t.Fatalf("blocks after the undo:\n%s", list)
	}
	waitText(t, ctx, "#import-list", "undone")
	shot.take("federation-import-undone")
	if got := n.query(t, `select string_agg(domain || ' ' || severity || ' ' || reject_media, ',') from domain_blocks`); got != "loud.example silence false" {
		t.Fatalf("blocks after the undo: %s", got)
	}

	browse(t, ctx, "block a domain by hand",
		chromedp.SetValue("#domain", "Bad.Example", chromedp.ByQuery),
		chromedp.SetValue("#severity", "suspend", chromedp.ByQuery),
		chromedp.SetValue("#public_comment", "harassment", chromedp.ByQuery),
		chromedp.Click("#save-block", chromedp.ByQuery), chromedp.WaitVisible("#notice", chromedp.ByQuery))
	waitText(t, ctx, "#block-list", "bad.example")
	shot.take("federation-block-added")

	// A subscription: roost work fetches the list through the safe client
	// and applies it as an import.
	browse(t, ctx, "subscribe to a block list",
		chromedp.SetValue("#subscription-url", "http://lists.test/blocklist.csv", chromedp.ByQuery),
		chromedp.Click("#subscribe", chromedp.ByQuery), chromedp.WaitVisible("#notice", chromedp.ByQuery))
	waitText(t, ctx, "#subscription-list", "lists.test")
	for deadline := time.Now().Add(60 * time.Second); ; {
		var imports string
		browse(t, ctx, "reload the blocks page", chromedp.Navigate(base+"/federation/blocks"),
			chromedp.WaitVisible("#import-list", chromedp.ByQuery), chromedp.Text("#import-list", &imports, chromedp.ByQuery))
		if strings.Contains(imports, "subscription http://lists.test/blocklist.csv") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the subscribed list was never imported:\n%s", imports)
		}
		time.Sleep(time.Second)
	}
	waitText(t, ctx, "#block-list", "listed.example")
	shot.take("federation-subscription-imported")

	browse(t, ctx, "remote hosts",
		chromedp.Navigate(base+"/federation"), chromedp.WaitVisible("#host-list", chromedp.ByQuery))
	hosts := waitText(t, ctx, "#host-list", "far.example")
	if !strings.Contains(hosts, "mastodon 4.3.1") || !strings.Contains(hosts, "status 502") {
		t.Fatalf("hosts page:\n%s", hosts)
	}
	shot.take("federation-hosts")
	browse(t, ctx, "one host",
		chromedp.Navigate(base+"/federation/host?h=far.example"), chromedp.WaitVisible("#host-name", chromedp.ByQuery))
	waitText(t, ctx, "#host-software", "mastodon 4.3.1")
	shot.take("federation-host")

	browse(t, ctx, "queue", chromedp.Navigate(base+"/queue"), chromedp.WaitVisible("#lanes", chromedp.ByQuery))
	waitText(t, ctx, "#dead-letter-list", "far.example")
	waitText(t, ctx, "#count-failed", "1")
	// roost work beats in Redis: at least one worker alive.
	for deadline := time.Now().Add(30 * time.Second); ; {
		var alive string
		chromedp.Run(ctx, chromedp.Text("#workers-alive", &alive, chromedp.ByQuery))
		if alive != "0" && alive != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no worker alive on the queue page")
		}
		time.Sleep(500 * time.Millisecond)
		chromedp.Run(ctx, chromedp.Reload(), chromedp.WaitVisible("#lanes", chromedp.ByQuery))
	}
	shot.take("queue")
	browse(t, ctx, "retry all dead letters",
		chromedp.Click("#retry-all", chromedp.ByQuery), chromedp.WaitVisible("#notice", chromedp.ByQuery))
	waitText(t, ctx, "#notice", "Queued again: 1")
	shot.take("queue-retried")

	browse(t, ctx, "audit log", chromedp.Navigate(base+"/audit"), chromedp.WaitVisible("#audit-log", chromedp.ByQuery))
	log := waitText(t, ctx, "#audit-log", "blocklist.undo")
	for _, want := range []string{"blocklist.import", "domain_block.create", "bad.example", "delivery.retry"} {
		if !strings.Contains(log, want) {
			t.Errorf("audit log lacks %q:\n%s", want, log)
		}
	}
	shot.take("federation-audit")
}
