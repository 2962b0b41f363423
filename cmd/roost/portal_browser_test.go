package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/roost-social/roost/tenant/verify/dnstest"
)

const (
	portalHost = "portal.roost.test"
	publicIPv4 = "198.51.100.7"
)

// startPortal runs `roost serve` with the portal on portalHost, domain
// checks answered by dns, and returns the node and its address.
func startPortal(t *testing.T, dns *dnstest.Server) (*node, string) {
	t.Helper()
	addr := freeAddr(t)
	n := startNode(t, "portal", addr, "")
	n.env = append(n.env,
		"ROOST_PORTAL_HOST="+portalHost,
		"ROOST_BASE_DOMAIN=roost.test",
		"ROOST_SIGNUPS=open",
		"ROOST_PUBLIC_IPV4="+publicIPv4,
		"ROOST_PUBLIC_HOSTNAME=edge.roost.test",
		"ROOST_DNS_SERVER="+dns.Addr,
	)
	n.start(t, "serve")
	waitHTTP(t, "http://"+addr+"/healthz", "any.test", 200)
	return n, addr
}

// portalGet sends a GET with a Host header, not following redirects.
func portalGet(t *testing.T, rawURL, host string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", rawURL, nil)
	req.Host = host
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// The portal answers only on its host, with strict headers, and refuses
// a form posted without its CSRF token; other hosts route as before.
func TestPortalHeadersCookiesAndCSRF(t *testing.T) {
	t.Parallel()
	_, addr := startPortal(t, dnstest.Start(t))
	base := "http://" + addr
	resp, body := portalGet(t, base+"/", portalHost)
	if resp.StatusCode != 200 || !strings.Contains(body, "Create your site") {
		t.Fatalf("front page: %d\n%s", resp.StatusCode, body)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "form-action 'self'") ||
		!strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q", csp)
	}
	if strings.Contains(body, "<script") || strings.Contains(body, "http://") || strings.Contains(body, "https://") {
		t.Error("the page loads something from elsewhere")
	}
	var csrf *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "roost_portal_csrf" {
			csrf = ck
		}
	}
	if csrf == nil || !csrf.HttpOnly || csrf.SameSite != http.SameSiteLaxMode {
		t.Fatalf("CSRF cookie %+v", csrf)
	}
	// A cross-site post has no token: refused, nothing created.
	form := url.Values{"name": {"X"}, "email": {"x@mail.test"}, "password": {"long enough password"}, "rules": {"yes"}}
	req, _ := http.NewRequest("POST", base+"/start", strings.NewReader(form.Encode()))
	req.Host = portalHost
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(csrf)
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusForbidden {
		t.Fatalf("post without the CSRF field: %d", r2.StatusCode)
	}
	// Signed-out pages send to the sign-in; unknown hosts stay unknown.
	if resp, _ := portalGet(t, base+"/site", portalHost); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("/site signed out: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := portalGet(t, base+"/", "nowhere.test"); resp.StatusCode != 404 {
		t.Fatalf("unknown host: %d", resp.StatusCode)
	}
	if resp, _ := portalGet(t, base+"/nope", portalHost); resp.StatusCode != 404 {
		t.Fatalf("unknown portal page: %d", resp.StatusCode)
	}
}

// portalBrowser is a headless Debian chromium on a fresh profile, every host
// name mapped to the test server.
func portalBrowser(t *testing.T, addr string) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed; the README's test command installs it, or run: apt-get install -y chromium")
	}
	_, port, _ := net.SplitHostPort(addr)
	// The profile is removed by hand: chromium's helper processes may still
	// write to it for a moment after the browser is stopped, which would
	// fail t.TempDir's cleanup.
	profile, err := os.MkdirTemp("", "roost-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.UserDataDir(profile),
		// Every name to the node; IP literals (a test's own servers) as they are.
		chromedp.Flag("host-resolver-rules", "MAP * 127.0.0.1:"+port+", EXCLUDE 127.0.0.1"),
		// Plain http on purpose: no automatic upgrade attempts to https.
		chromedp.Flag("disable-features", "site-per-process,Translate,BlinkGenPropertyTrees,HttpsUpgrades,HttpsFirstBalancedModeAutoEnable"),
		chromedp.WindowSize(1100, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
		for i := 0; i < 20 && os.RemoveAll(profile) != nil; i++ {
			time.Sleep(100 * time.Millisecond)
		}
	})
	if err := chromedp.Run(ctx); err != nil { // starts the browser
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// shots saves full-page screenshots, numbered, in a directory outside
// the repository that is kept after the test.
type shots struct {
	t   *testing.T
	ctx context.Context
	dir string
	n   int
}

func newShots(t *testing.T, ctx context.Context) *shots {
	dir := os.Getenv("ROOST_TEST_ARTIFACTS")
	if dir == "" {
		dir = os.TempDir()
	}
	// Named after the test, so each browser test's pictures are told apart.
	d, err := os.MkdirTemp(dir, "roost-screenshots-"+t.Name()+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", d)
	return &shots{t: t, ctx: ctx, dir: d}
}

func (s *shots) take(name string) {
	s.t.Helper()
	var png []byte
	if err := chromedp.Run(s.ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		s.t.Fatalf("screenshot %s: %v", name, err)
	}
	s.n++
	p := filepath.Join(s.dir, fmt.Sprintf("%02d-%s.png", s.n, name))
	if err := os.WriteFile(p, png, 0o644); err != nil {
		s.t.Fatal(err)
	}
	s.t.Logf("screenshot: %s", p)
}

func browse(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action) {
	t.Helper()
	if err := chromedp.Run(ctx, actions...); err != nil {
		var loc, body string
		chromedp.Run(ctx, chromedp.Location(&loc), chromedp.Text("body", &body, chromedp.ByQuery))
		t.Fatalf("%s: %v\nat %s:\n%s", what, err, loc, body)
	}
}

// waitText waits until the element's text contains want (a liveness
// bound, not a timing check) and returns it.
func waitText(t *testing.T, ctx context.Context, sel, want string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var got string
	for time.Now().Before(deadline) {
		tctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err := chromedp.Run(tctx, chromedp.Text(sel, &got, chromedp.ByQuery, chromedp.NodeVisible))
		cancel()
		if err == nil && strings.Contains(got, want) {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
	var body string
	chromedp.Run(ctx, chromedp.Text("body", &body, chromedp.ByQuery))
	t.Fatalf("%s never showed %q (last %q); page:\n%s", sel, want, got, body)
	return ""
}

// A newcomer, in a real browser, from the portal's front page to a
// verified domain of their own and a first account: errors next to the
// fields, the exact DNS records with their status after "Check now", the
// test adding the records it was shown to its DNS server, sign-out and
// resume, the account form, and the app sign-in instructions. WebFinger
// on the new domain then finds the account.
func TestPortalSignupInBrowser(t *testing.T) {
	t.Parallel()
	dns := dnstest.Start(t)
	_, addr := startPortal(t, dns)
	ctx := portalBrowser(t, addr)
	shot := newShots(t, ctx)
	portal := "http://" + portalHost + "/"

	// The front page; a first try with mistakes shows each next to its field.
	browse(t, ctx, "open the portal", chromedp.Navigate(portal), chromedp.WaitVisible("#start", chromedp.ByQuery))
	shot.take("front-page")
	browse(t, ctx, "submit a form with mistakes",
		chromedp.SetValue("#name", "Alice's place", chromedp.ByQuery),
		chromedp.SetValue("#email", "alice-at-mail.test", chromedp.ByQuery),
		chromedp.SetValue("#password", "short", chromedp.ByQuery),
		chromedp.Click("#start", chromedp.ByQuery),
		chromedp.WaitVisible("#email-error", chromedp.ByQuery))
	waitText(t, ctx, "#email-error", "Enter a valid email address")
	waitText(t, ctx, "#password-error", "at least 8 characters")
	waitText(t, ctx, "#rules-error", "accept the rules")
	shot.take("errors-next-to-fields")

	browse(t, ctx, "create the site and login",
		chromedp.SetValue("#email", "alice@mail.test", chromedp.ByQuery),
		chromedp.SetValue("#password", "a long enough password", chromedp.ByQuery),
		chromedp.Click("#rules", chromedp.ByQuery),
		chromedp.Click("#start", chromedp.ByQuery),
		chromedp.WaitVisible("#choose-own", chromedp.ByQuery))
	shot.take("choose-domain")

	// The instance's own names are refused as "own domain", in words.
	browse(t, ctx, "claim a name of the instance",
		chromedp.SetValue("#domain", "alice.roost.test", chromedp.ByQuery),
		chromedp.Click("#use-own", chromedp.ByQuery),
		chromedp.WaitVisible("#domain-error", chromedp.ByQuery))
	waitText(t, ctx, "#domain-error", "belongs to this server")

	browse(t, ctx, "claim alice.test",
		chromedp.SetValue("#domain", "alice.test", chromedp.ByQuery),
		chromedp.Click("#use-own", chromedp.ByQuery),
		chromedp.WaitVisible("table.records", chromedp.ByQuery))
	var token, txtName, aName, aValue string
	browse(t, ctx, "read the records",
		chromedp.Text(`tr[data-type="TXT"] code.name`, &txtName, chromedp.ByQuery),
		chromedp.Text(`tr[data-type="TXT"] code.value`, &token, chromedp.ByQuery),
		chromedp.Text(`tr[data-type="A"] code.name`, &aName, chromedp.ByQuery),
		chromedp.Text(`tr[data-type="A"] code.value`, &aValue, chromedp.ByQuery))
	if txtName != "_roost-challenge.alice.test" || !strings.HasPrefix(token, "roost-") || aName != "alice.test" || aValue != publicIPv4 {
		t.Fatalf("records shown: TXT %q %q, A %q %q", txtName, token, aName, aValue)
	}
	waitText(t, ctx, `tr[data-type="TXT"] td.status`, "Not checked yet")
	shot.take("dns-records")

	browse(t, ctx, "check before any record exists", chromedp.Click("#check", chromedp.ByQuery))
	waitText(t, ctx, `tr[data-type="TXT"] td.status`, "No TXT record found at _roost-challenge.alice.test")
	waitText(t, ctx, `tr[data-type="A"] td.status`, "No A record found for alice.test")
	shot.take("check-nothing-found")

	// Half-finished: sign out, sign back in, and the signup resumes.
	browse(t, ctx, "sign out", chromedp.Click("button.link", chromedp.ByQuery), chromedp.WaitVisible("#start", chromedp.ByQuery))
	browse(t, ctx, "sign in again",
		chromedp.Navigate("http://"+portalHost+"/login"),
		chromedp.WaitVisible("#login", chromedp.ByQuery),
		chromedp.SetValue("#email", "alice@mail.test", chromedp.ByQuery),
		chromedp.SetValue("#password", "a long enough password", chromedp.ByQuery),
		chromedp.Click("#login", chromedp.ByQuery),
		chromedp.WaitVisible("table.records", chromedp.ByQuery))
	var resumedToken string
	browse(t, ctx, "read the token again", chromedp.Text(`tr[data-type="TXT"] code.value`, &resumedToken, chromedp.ByQuery))
	if resumedToken != token {
		t.Fatalf("resumed with token %q, was %q", resumedToken, token)
	}
	shot.take("resumed")

	// The TXT record right, the A record pointing elsewhere.
	dns.Add(t, `_roost-challenge.alice.test 300 IN TXT "`+token+`"`, "alice.test 300 IN A 203.0.113.9")
	browse(t, ctx, "check with a wrong A record", chromedp.Click("#check", chromedp.ByQuery))
	waitText(t, ctx, `tr[data-type="TXT"] td.status`, "TXT record found")
	waitText(t, ctx, `tr[data-type="A"] td.status`, "A record points to 203.0.113.9, expected "+publicIPv4)
	shot.take("check-wrong-address")

	dns.Remove("alice.test", "A")
	dns.Add(t, "alice.test 300 IN A "+publicIPv4)
	browse(t, ctx, "check with every record right",
		chromedp.Click("#check", chromedp.ByQuery),
		chromedp.WaitVisible("#create-account", chromedp.ByQuery))
	shot.take("domain-verified")

	browse(t, ctx, "create the first account",
		chromedp.SetValue("#username", "alice", chromedp.ByQuery),
		chromedp.SetValue("#password", "a long enough password", chromedp.ByQuery),
		chromedp.Click("#create-account", chromedp.ByQuery),
		chromedp.WaitVisible("#done", chromedp.ByQuery))
	waitText(t, ctx, "#handle", "@alice@alice.test")
	waitText(t, ctx, "#app-domain", "alice.test")
	shot.take("account-ready")

	// The account exists: WebFinger on the new domain answers, in the
	// browser and to a plain client.
	wf := "/.well-known/webfinger?resource=acct:alice@alice.test"
	browse(t, ctx, "webfinger in the browser", chromedp.Navigate("http://alice.test"+wf), chromedp.WaitVisible("body", chromedp.ByQuery))
	waitText(t, ctx, "body", `"subject":"acct:alice@alice.test"`)
	shot.take("webfinger")
	resp, body := portalGet(t, "http://"+addr+wf, "alice.test", "Accept", "application/jrd+json")
	var jrd struct {
		Subject string `json:"subject"`
		Links   []struct{ Rel, Href string }
	}
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &jrd) != nil || jrd.Subject != "acct:alice@alice.test" {
		t.Fatalf("webfinger: %d %s", resp.StatusCode, body)
	}
	for _, l := range jrd.Links {
		if l.Rel == "self" && l.Href != "http://alice.test/users/alice" {
			t.Fatalf("actor %s", l.Href)
		}
	}
}

// The operator's side: invite codes, the approval queue and flagged
// domains, through the CLI.
func TestPortalOperatorCommands(t *testing.T) {
	t.Parallel()
	n := startNode(t, "operator", freeAddr(t), "")
	out := n.run(t, "tenant", "invite", "--count", "2")
	if codes := strings.Fields(out); len(codes) != 2 || len(codes[0]) != 16 || codes[0] == codes[1] {
		t.Fatalf("invite codes %q", out)
	}
	if got := n.query(t, "select count(*) from invite_codes where used_at is null"); got != "2" {
		t.Fatalf("%s unused invites", got)
	}
	id := n.query(t, "insert into tenants (name, status) values ('Waiting', 'pending') returning id")
	n.query(t, "insert into domains (domain, tenant_id, verification_token, verified_at) values ('wait.test', $1, 'tok', now()) returning domain", id)
	out = n.run(t, "tenant", "list")
	if i := strings.Index(out, "Waiting"); i < 0 || !strings.HasPrefix(strings.TrimSpace(out[i+len("Waiting"):]), "pending") {
		t.Fatalf("list without the pending tenant:\n%s", out)
	}
	if out := n.run(t, "tenant", "approve", "--id", id); !strings.Contains(out, "approved") {
		t.Fatalf("approve: %q", out)
	}
	if got := n.query(t, "select status from tenants where id = $1", id); got != "active" {
		t.Fatalf("status after approval %s", got)
	}
	if code, _, stderr := roost(t, n.env, "tenant", "approve", "--id", id); code == 0 || !strings.Contains(stderr, "not waiting for approval") {
		t.Fatalf("approving twice: %d %q", code, stderr)
	}
	n.query(t, `insert into domain_claims (domain, kind, state, flagged_at) values ('wait.test', 'own', 'flagged', now()) returning domain`)
	if out := n.run(t, "tenant", "list"); !strings.Contains(out, "FLAGGED DOMAIN") || !strings.Contains(out, "wait.test") {
		t.Fatalf("list without the flagged domain:\n%s", out)
	}
}
