package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// In a real browser (strict CSP, no script): a newcomer is asked for a
// plan before the domain step and takes the donation plan, which hosts
// the site at once; the public open books draw their chart as server-made
// SVG.
func TestBillingPlansAndBooksInBrowser(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	n := startNode(t, "billing-browser", addr, "")
	n.env = append(n.env, "ROOST_PORTAL_HOST="+portalHost, "ROOST_BASE_DOMAIN=roost.test", "ROOST_SIGNUPS=open")
	n.run(t, "billing", "plan", "add", "--name", "Free", "--kind", "free", "--max-accounts", "1", "--domains", "subdomain")
	donation := strings.TrimSpace(n.run(t, "billing", "plan", "add", "--name", "Chip in", "--kind", "donation", "--price", "5"))
	n.run(t, "billing", "plan", "add", "--name", "Family", "--kind", "paid", "--price", "8", "--max-accounts", "6")
	month := n.query(t, `select to_char(now() at time zone 'UTC', 'YYYY-MM')`)
	last := n.query(t, `select to_char((now() at time zone 'UTC') - interval '1 month', 'YYYY-MM')`)
	n.run(t, "billing", "cost", "add", "--month", last, "--category", "hosting", "--amount", "40")
	n.run(t, "billing", "cost", "add", "--month", month, "--category", "hosting", "--amount", "40")
	n.run(t, "billing", "cost", "add", "--month", month, "--category", "moderation", "--amount", "15", "--note", "stipend")
	n.run(t, "billing", "reserve", "--amount", "300")
	n.start(t, "serve")
	waitHTTP(t, "http://"+addr+"/healthz", "any.test", 200)

	ctx := portalBrowser(t, addr)
	shot := newShots(t, ctx)
	browse(t, ctx, "sign up",
		chromedp.Navigate("http://"+portalHost+"/"), chromedp.WaitVisible("#start", chromedp.ByQuery),
		chromedp.SetValue("#name", "Chippers", chromedp.ByQuery),
		chromedp.SetValue("#email", "chip@mail.test", chromedp.ByQuery),
		chromedp.SetValue("#password", "a long enough password", chromedp.ByQuery),
		chromedp.Click("#rules", chromedp.ByQuery),
		chromedp.Click("#start", chromedp.ByQuery),
		chromedp.WaitVisible("#plans", chromedp.ByQuery))
	waitText(t, ctx, "#plans", "pay what you want (suggested 5.00 USD / month)")
	waitText(t, ctx, "#plans", "8.00 USD / month")
	shot.take("choose-plan")
	browse(t, ctx, "choose the donation plan",
		chromedp.Click("#choose-"+donation, chromedp.ByQuery),
		chromedp.WaitVisible("#choose-subdomain", chromedp.ByQuery))
	waitText(t, ctx, "#current-plan", "Chip in")
	waitText(t, ctx, "#billing-state", "comped")
	shot.take("domain-step-with-plan")
	if got := n.query(t, `select b.state from tenant_billing b join tenants t on t.id = b.tenant_id where t.name = 'Chippers'`); got != "comped" {
		t.Fatalf("donation plan: %s", got)
	}

	browse(t, ctx, "open books", chromedp.Navigate("http://"+portalHost+"/books"), chromedp.WaitVisible("#chart", chromedp.ByQuery))
	waitText(t, ctx, "#balance", "205.00 USD")
	waitText(t, ctx, "#books", "moderation: 15.00 USD")
	var bars, height int
	browse(t, ctx, "measure the chart",
		chromedp.Evaluate(`document.querySelectorAll('#chart rect.cost').length`, &bars),
		chromedp.Evaluate(`Math.round(document.querySelector('#chart').getBoundingClientRect().height)`, &height))
	if bars != 12 || height < 50 {
		t.Fatalf("chart: %d bars, %d px high", bars, height)
	}
	shot.take("open-books")
}
