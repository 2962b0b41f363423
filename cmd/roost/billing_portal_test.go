package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/roost-social/roost/billing/stripe/stripemock"
)

// portalSession is one browser-free visitor of the portal: cookies kept,
// redirects not followed, every request with the portal's Host.
type portalSession struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

func newPortalSession(t *testing.T, addr string) *portalSession {
	jar, _ := cookiejar.New(nil)
	return &portalSession{t: t, base: "http://" + addr, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (s *portalSession) do(method, path string, form url.Values) (int, string, string) {
	s.t.Helper()
	var body io.Reader
	if form != nil {
		form.Set("csrf", s.csrf)
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, s.base+path, body)
	req.Host = portalHost
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := s.c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := csrfField.FindSubmatch(b); m != nil {
		s.csrf = string(m[1])
	}
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// stripeRecorder forwards to stripe-mock and keeps each request's form.
type stripeRecorder struct {
	mu   sync.Mutex
	reqs []url.Values
	path []string
}

func (r *stripeRecorder) start(t *testing.T, target string) string {
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(b))
		f, _ := url.ParseQuery(string(b))
		r.mu.Lock()
		r.reqs, r.path = append(r.reqs, f), append(r.path, req.Method+" "+req.URL.Path+" "+req.Header.Get("Idempotency-Key"))
		r.mu.Unlock()
		rp.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func (r *stripeRecorder) all() ([]string, []url.Values) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.path...), append([]url.Values(nil), r.reqs...)
}

// Plans in the signup portal, through a real `roost serve` and Stripe's
// own mock: a newcomer chooses a paid plan before the domain step and is
// sent to a Checkout URL made by stripe-mock (the request carrying the
// plan's price, the tenant and an idempotency key); another chooses the
// free plan and is active at once, with no call to Stripe; going over the
// free plan's accounts warns and cuts nothing; the public open books
// show the operator's costs against the income.
func TestBillingPortalPlansCheckoutFreePlanAndBooks(t *testing.T) {
	t.Parallel()
	rec := &stripeRecorder{}
	stripeURL := rec.start(t, stripemock.Start(t))
	addr := freeAddr(t)
	n := startNode(t, "billing-portal", addr, "")
	n.env = append(n.env, "ROOST_PORTAL_HOST="+portalHost, "ROOST_BASE_DOMAIN=roost.test", "ROOST_SIGNUPS=open",
		"ROOST_STRIPE_SECRET_KEY=sk_test_portal", "ROOST_STRIPE_API_URL="+stripeURL, "ROOST_BOOKS_CURRENCY=usd")
	free := strings.TrimSpace(n.run(t, "billing", "plan", "add", "--name", "Just me", "--kind", "free", "--max-accounts", "1", "--domains", "subdomain"))
	paid := strings.TrimSpace(n.run(t, "billing", "plan", "add", "--name", "Family", "--kind", "paid", "--price", "8",
		"--max-accounts", "6", "--storage-gb", "5", "--stripe-price", "price_family"))
	// Bad input: a clear error and nothing stored.
	if code, _, stderr := roost(t, n.env, "billing", "plan", "add", "--name", "Oops", "--kind", "paid"); code == 0 || !strings.Contains(stderr, "a paid plan needs a price") {
		t.Fatalf("plan without price: %d %s", code, stderr)
	}
	if out := n.run(t, "billing", "plan", "list"); !strings.Contains(out, free+"\tJust me\tfree") || !strings.Contains(out, paid+"\tFamily\tpaid\t8.00 USD / month") || strings.Contains(out, "Oops") {
		t.Fatalf("plan list: %q", out)
	}
	n.start(t, "serve")
	waitHTTP(t, "http://"+addr+"/healthz", "any.test", 200)

	signup := func(name, email string) *portalSession {
		s := newPortalSession(t, addr)
		s.do("GET", "/", nil)
		code, loc, body := s.do("POST", "/start", url.Values{"name": {name}, "email": {email}, "password": {"a long password"}, "rules": {"yes"}})
		if code != 303 || loc != "/site" {
			t.Fatalf("start: %d %s %.300s", code, loc, body)
		}
		// Plans are on offer: chosen before the domain step.
		if code, loc, _ := s.do("GET", "/site", nil); code != 303 || loc != "/plans" {
			t.Fatalf("site before a plan: %d %s", code, loc)
		}
		code, _, body = s.do("GET", "/plans", nil)
		if code != 200 || !strings.Contains(body, "Family") || !strings.Contains(body, "8.00 USD / month") || !strings.Contains(body, "up to 6 accounts, 5.0 GB of media") {
			t.Fatalf("plans page: %d %.2000s", code, body)
		}
		return s
	}

	// A paying newcomer.
	payer := signup("The Payers", "payer@mail.test")
	payerID := n.query(t, `select tenant_id from signups s join users u on u.id = s.user_id where u.email = 'payer@mail.test'`)
	if code, _, body := payer.do("POST", "/plans/choose", url.Values{"plan": {"999999"}}); code != 422 || !strings.Contains(body, "Choose one of the plans on offer") {
		t.Fatalf("unknown plan: %d", code)
	}
	if got := n.query(t, `select coalesce(plan_id::text, 'none') from tenants where id = $1`, payerID); got != "none" {
		t.Fatalf("bad choice recorded: %s", got)
	}
	if code, loc, body := payer.do("POST", "/plans/choose", url.Values{"plan": {paid}}); code != 303 || loc != "/site" {
		t.Fatalf("choose paid: %d %s %s", code, loc, body[strings.Index(body, "</style>"):])
	}
	if got := n.query(t, `select plan_id from tenants where id = $1`, payerID); got != paid {
		t.Fatalf("plan on tenant: %s", got)
	}
	if code, _, body := payer.do("GET", "/site", nil); code != 200 || !strings.Contains(body, "Choose your domain") || !strings.Contains(body, `id="current-plan">Family`) {
		t.Fatalf("site after choosing: %d %.1500s", code, body)
	}
	if got := n.query(t, `select count(*) from tenant_billing where tenant_id = $1`, payerID); got != "0" {
		t.Fatalf("a paid plan is active before payment: %s", got)
	}
	code, _, body := payer.do("GET", "/plans", nil)
	if code != 200 || !strings.Contains(body, `id="pay"`) || !strings.Contains(body, "not paid yet") {
		t.Fatalf("plans after choosing: %d %.2000s", code, body)
	}
	code, checkoutURL, _ := payer.do("POST", "/plans/pay", url.Values{})
	if code != 303 || !strings.HasPrefix(checkoutURL, "https://") {
		t.Fatalf("pay: %d %q", code, checkoutURL)
	}
	paths, forms := rec.all()
	if len(paths) != 1 || !strings.HasPrefix(paths[0], "POST /v1/checkout/sessions roost-checkout-"+payerID+"-"+paid+"-") {
		t.Fatalf("stripe requests %v", paths)
	}
	f := forms[0]
	for k, v := range map[string]string{"mode": "subscription", "line_items[0][price]": "price_family", "client_reference_id": payerID,
		"customer_email": "payer@mail.test", "subscription_data[metadata][tenant_id]": payerID,
		"success_url": "http://" + portalHost + "/plans?checkout=done", "cancel_url": "http://" + portalHost + "/plans?checkout=canceled"} {
		if f.Get(k) != v {
			t.Errorf("checkout %s = %q, want %q", k, f.Get(k), v)
		}
	}
	if code, _, body := payer.do("GET", "/plans?checkout=done", nil); code != 200 || !strings.Contains(body, "being confirmed") {
		t.Fatalf("return from checkout: %d", code)
	}

	// A newcomer on the free plan: active at once, no provider involved.
	solo := signup("Solo", "solo@mail.test")
	soloID := n.query(t, `select tenant_id from signups s join users u on u.id = s.user_id where u.email = 'solo@mail.test'`)
	if code, loc, _ := solo.do("POST", "/plans/choose", url.Values{"plan": {free}}); code != 303 || loc != "/site" {
		t.Fatalf("choose free: %d %s", code, loc)
	}
	if got := n.query(t, `select state || ' ' || provider from tenant_billing where tenant_id = $1`, soloID); got != "active manual" {
		t.Fatalf("free plan: %s", got)
	}
	if paths, _ := rec.all(); len(paths) != 1 {
		t.Fatalf("the free plan called Stripe: %v", paths)
	}
	if code, _, body := solo.do("GET", "/plans", nil); code != 200 || strings.Contains(body, `id="pay"`) || !strings.Contains(body, `id="billing-state">active`) {
		t.Fatalf("free plans page: %d %.1500s", code, body)
	}
	// Its subdomain, two accounts on a one-account plan: a warning, and
	// both accounts work.
	// The free plan includes a subdomain only: an own domain is refused
	// next to its field, nothing claimed.
	if code, _, body := solo.do("POST", "/site/own", url.Values{"domain": {"solo.example"}}); code != 422 || !strings.Contains(body, "The Just me plan includes a subdomain only") {
		t.Fatalf("own domain on a subdomain plan: %d", code)
	}
	if got := n.query(t, `select count(*) from domain_claims where domain = 'solo.example'`); got != "0" {
		t.Fatalf("claims: %s", got)
	}
	if code, loc, body := solo.do("POST", "/site/subdomain", url.Values{"label": {"solo"}}); code != 303 || loc != "/site" {
		t.Fatalf("subdomain: %d %s %.500s", code, loc, body)
	}
	n.run(t, "account", "create", "--domain", "solo.roost.test", "--username", "me", "--email", "solo@mail.test", "--password", "a long password")
	n.run(t, "account", "create", "--domain", "solo.roost.test", "--username", "also", "--email", "solo@mail.test", "--password", "a long password")
	today := n.query(t, `select to_char(now() at time zone 'UTC', 'YYYY-MM-DD')`)
	if out := n.run(t, "billing", "meter", "--day", today); !strings.Contains(out, "metered") {
		t.Fatalf("meter: %q", out)
	}
	n.run(t, "billing", "meter", "--day", today) // again: the same rows
	if got := n.query(t, `select count(*) || ' ' || max(accounts) from usage_daily where tenant_id = $1`, soloID); got != "1 2" {
		t.Fatalf("usage rows: %s", got)
	}
	for _, page := range []string{"/plans", "/site"} {
		code, _, body := solo.do("GET", page, nil)
		if code != 200 || !strings.Contains(body, "Your site has 2 accounts; the Just me plan includes 1") || !strings.Contains(body, `id="usage-accounts">2<`) {
			t.Fatalf("%s over quota: %d %.3000s", page, code, body)
		}
	}
	waitHTTP(t, "http://"+addr+"/users/also", "solo.roost.test", 200) // nothing cut
	if code, _, body := payer.do("GET", "/plans", nil); strings.Contains(body, "Your site has") || code != 200 {
		t.Fatal("another tenant's warning shown")
	}

	// The open books: the operator's costs, Stripe and manual income.
	month := n.query(t, `select to_char(now() at time zone 'UTC', 'YYYY-MM')`)
	n.run(t, "billing", "cost", "add", "--month", month, "--category", "hosting", "--amount", "40")
	n.run(t, "billing", "cost", "add", "--month", month, "--category", "email", "--amount", "2.50", "--note", "transactional mail")
	if code, _, stderr := roost(t, n.env, "billing", "cost", "add", "--month", month, "--category", "yachts", "--amount", "1"); code == 0 || !strings.Contains(stderr, "category") {
		t.Fatalf("bad category: %d %s", code, stderr)
	}
	n.run(t, "billing", "reserve", "--amount", "100")
	n.run(t, "billing", "mark-paid", "--tenant", payerID, "--until", "2099-01-01", "--amount", "8.00")
	anon := newPortalSession(t, addr)
	code, _, body = anon.do("GET", "/books", nil)
	if code != 200 {
		t.Fatalf("books: %d", code)
	}
	// 42.50 costs, 8.00 income, 2 accounts metered → 21.25 per member;
	// balance 100 + 8 - 42.50 = 65.50; runway 65.50 / 34.50 = 1.9 months.
	for _, want := range []string{`id="balance">65.50 USD`, `id="burn">34.50 USD`, `id="runway">1.9 months`,
		`class="costs">42.50 USD`, "hosting: 40.00 USD", "email: 2.50 USD", `class="income">8.00 USD`,
		`class="members">1 paying sites, 2 accounts`, `class="per-member">21.25 USD`, `<svg class="chart"`, `class="cost"`} {
		if !strings.Contains(body, want) {
			t.Errorf("books page lacks %q", want)
		}
	}
	if strings.Contains(body, "<script") || !strings.Contains(body, "") {
		t.Error("script on the books page")
	}
	if t.Failed() {
		t.Logf("%s", body)
	}
}
