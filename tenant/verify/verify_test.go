package verify_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-social/roost/federation/fetch"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/verify"
	"github.com/roost-social/roost/tenant/verify/dnstest"
)

var (
	ourIPv4 = netip.MustParseAddr("198.51.100.7")
	ourIPv6 = netip.MustParseAddr("2001:db8::7")
	t0      = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
)

// clock is an injected, settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// memStore is verify.Store in memory.
type memStore struct {
	mu       sync.Mutex
	claims   map[string]*verify.Claim
	verified map[string]time.Time
	expired  []string
}

func newMemStore(cs ...verify.Claim) *memStore {
	s := &memStore{claims: map[string]*verify.Claim{}, verified: map[string]time.Time{}}
	for _, c := range cs {
		c := c
		s.claims[c.Domain] = &c
	}
	return s
}

func (s *memStore) Claim(_ context.Context, domain string) (*verify.Claim, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.claims[domain]
	if !ok {
		return nil, errs.E(errs.NotFound, "no claim")
	}
	cp := *c
	return &cp, nil
}

func (s *memStore) DueClaims(_ context.Context, now time.Time, lease time.Duration, limit int) ([]verify.Claim, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []verify.Claim
	for _, c := range s.claims {
		if c.NextCheckAt != nil && !c.NextCheckAt.After(now) && len(out) < limit {
			out = append(out, *c)
			l := now.Add(lease)
			c.NextCheckAt = &l
		}
	}
	return out, nil
}

func (s *memStore) SaveCheck(_ context.Context, domain string, from verify.State, u verify.Update) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.claims[domain]
	if !ok || c.State != from {
		return false, nil
	}
	next, checked := u.NextCheckAt, u.CheckedAt
	c.State, c.Checks, c.Attempts, c.CheckedAt, c.NextCheckAt, c.FlaggedAt = u.State, u.Checks, u.Attempts, &checked, &next, u.FlaggedAt
	if from == verify.Pending && u.State == verify.Verified {
		s.verified[domain] = u.CheckedAt
	}
	return true, nil
}

func (s *memStore) Expire(_ context.Context, domain string, now time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.claims[domain]
	if !ok || c.State != verify.Pending || now.Before(c.ExpiresAt) {
		return false, nil
	}
	delete(s.claims, domain)
	s.expired = append(s.expired, domain)
	return true, nil
}

// notifier records host invalidations.
type notifier struct {
	mu    sync.Mutex
	hosts []string
}

func (n *notifier) HostsChanged(_ context.Context, hosts ...string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.hosts = append(n.hosts, hosts...)
	return nil
}

func (n *notifier) got() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return strings.Join(n.hosts, " ")
}

type fixture struct {
	dns     *dnstest.Server
	store   *memStore
	clock   *clock
	notify  *notifier
	checker *verify.Checker
}

func setup(t *testing.T, claims ...verify.Claim) *fixture {
	t.Helper()
	f := &fixture{dns: dnstest.Start(t), store: newMemStore(claims...), clock: &clock{t: t0}, notify: &notifier{}}
	f.checker = &verify.Checker{
		DNS:    &verify.Server{Addr: f.dns.Addr, Timeout: 2 * time.Second},
		Store:  f.store,
		Target: verify.Target{IPv4: ourIPv4, Hostname: "roost.example", Scheme: "https"},
		Hosts:  &tenant.Service{Notify: f.notify},
		Now:    f.clock.Now,
	}
	return f
}

func pendingClaim(domain, service string, kind verify.Kind) verify.Claim {
	next := t0
	return verify.Claim{Domain: domain, ServiceDomain: service, TenantID: 7, Kind: kind, State: verify.Pending,
		Token: "roost-TOKEN" + strings.ReplaceAll(domain, ".", ""), CreatedAt: t0, ExpiresAt: t0.Add(verify.ClaimLifetime), NextCheckAt: &next}
}

// statusOf returns the status of the check of record type typ.
func statusOf(t *testing.T, checks []verify.Check, typ string) verify.Check {
	t.Helper()
	for _, c := range checks {
		if c.Record.Type == typ {
			return c
		}
	}
	t.Fatalf("no %s check in %+v", typ, checks)
	return verify.Check{}
}

func wantCheck(t *testing.T, got verify.Check, ok bool, status string) {
	t.Helper()
	if got.OK != ok || got.Status != status {
		t.Errorf("%s %s: OK=%v %q; want OK=%v %q", got.Record.Type, got.Record.Name, got.OK, got.Status, ok, status)
	}
}

func TestVerifyTXTRecordPresentMissingWrong(t *testing.T) {
	c := pendingClaim("alice.test", "", verify.Own)
	f := setup(t, c)
	ctx := context.Background()
	recs := f.checker.Target.Records(&c)
	if len(recs) != 2 || recs[0] != (verify.Record{Type: "TXT", Name: "_roost-challenge.alice.test", Value: c.Token}) ||
		recs[1] != (verify.Record{Type: "A", Name: "alice.test", Value: "198.51.100.7"}) {
		t.Fatalf("records %+v", recs)
	}

	wantCheck(t, statusOf(t, f.checker.Inspect(ctx, &c), "TXT"), false, "No TXT record found at _roost-challenge.alice.test")

	f.dns.Add(t, `_roost-challenge.alice.test 60 IN TXT "roost-SOMEONEELSE"`)
	wantCheck(t, statusOf(t, f.checker.Inspect(ctx, &c), "TXT"), false,
		`TXT record at _roost-challenge.alice.test holds "roost-SOMEONEELSE", expected "`+c.Token+`"`)

	f.dns.Add(t, `_roost-challenge.alice.test 60 IN TXT "`+c.Token+`"`)
	wantCheck(t, statusOf(t, f.checker.Inspect(ctx, &c), "TXT"), true, "TXT record found")

	// A lookup that fails says so and is not an answer.
	f.dns.Fail("_roost-challenge.alice.test", true)
	got := statusOf(t, f.checker.Inspect(ctx, &c), "TXT")
	if got.OK || !got.Transient || !strings.Contains(got.Status, "Could not look up the TXT record") {
		t.Errorf("SERVFAIL: %+v", got)
	}
}

func TestVerifyAddressRecordsCorrectAndWrong(t *testing.T) {
	c := pendingClaim("alice.test", "", verify.Own)
	f := setup(t, c)
	ctx := context.Background()
	wantCheck(t, statusOf(t, f.checker.Inspect(ctx, &c), "A"), false, "No A record found for alice.test")

	f.dns.Add(t, "alice.test 60 IN A 203.0.113.9")
	wantCheck(t, statusOf(t, f.checker.Inspect(ctx, &c), "A"), false, "A record points to 203.0.113.9, expected 198.51.100.7")

	f.dns.Add(t, "alice.test 60 IN A 198.51.100.7")
	wantCheck(t, statusOf(t, f.checker.Inspect(ctx, &c), "A"), false,
		"A records point to 203.0.113.9 and 198.51.100.7; remove 203.0.113.9")

	f.dns.Remove("alice.test", "A")
	f.dns.Add(t, "alice.test 60 IN A 198.51.100.7")
	wantCheck(t, statusOf(t, f.checker.Inspect(ctx, &c), "A"), true, "A record points to 198.51.100.7")

	// With IPv6 configured too, AAAA is optional but must be right if present.
	f.checker.Target.IPv6 = ourIPv6
	wantCheck(t, statusOf(t, f.checker.Inspect(ctx, &c), "AAAA"), true, "No AAAA record (optional: 2001:db8::7 adds IPv6)")
	f.dns.Add(t, "alice.test 60 IN AAAA 2001:db8::99")
	wantCheck(t, statusOf(t, f.checker.Inspect(ctx, &c), "AAAA"), false, "AAAA record points to 2001:db8::99, expected 2001:db8::7")
}

func TestVerifyCNAMEForSubdomains(t *testing.T) {
	c := pendingClaim("social.alice.test", "", verify.Own)
	f := setup(t, c)
	ctx := context.Background()
	recs := f.checker.Target.Records(&c)
	if len(recs) != 2 || recs[1] != (verify.Record{Type: "CNAME", Name: "social.alice.test", Value: "roost.example"}) {
		t.Fatalf("a subdomain should be asked for a CNAME: %+v", recs)
	}
	wantCheck(t, statusOf(t, f.checker.Inspect(ctx, &c), "CNAME"), false, "No CNAME record found for social.alice.test")

	f.dns.Add(t, "social.alice.test 60 IN CNAME elsewhere.example.")
	wantCheck(t, statusOf(t, f.checker.Inspect(ctx, &c), "CNAME"), false,
		"CNAME record points to elsewhere.example, expected roost.example")

	f.dns.Remove("social.alice.test", "CNAME")
	f.dns.Add(t, "social.alice.test 60 IN CNAME Roost.Example.")
	wantCheck(t, statusOf(t, f.checker.Inspect(ctx, &c), "CNAME"), true, "CNAME record points to roost.example")

	// No CNAME but an address of ours works too; someone else's does not.
	f.dns.Remove("social.alice.test", "CNAME")
	f.dns.Add(t, "social.alice.test 60 IN A 198.51.100.7")
	wantCheck(t, statusOf(t, f.checker.Inspect(ctx, &c), "CNAME"), true,
		"No CNAME record, but social.alice.test points to this server (198.51.100.7)")
	f.dns.Add(t, "social.alice.test 60 IN A 203.0.113.9")
	if got := statusOf(t, f.checker.Inspect(ctx, &c), "CNAME"); got.OK {
		t.Errorf("a foreign address accepted: %+v", got)
	}
}

// Every record right: the claim is verified, the domain marked verified
// and every node told about its hosts.
func TestVerifyPendingClaimBecomesVerified(t *testing.T) {
	c := pendingClaim("alice.test", "", verify.Own)
	f := setup(t, c)
	f.dns.Add(t, `_roost-challenge.alice.test 60 IN TXT "`+c.Token+`"`, "alice.test 60 IN A 198.51.100.7")
	got, err := f.checker.CheckNow(context.Background(), "alice.test")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != verify.Verified || f.store.verified["alice.test"] != t0 {
		t.Fatalf("state %s, verified %v", got.State, f.store.verified)
	}
	if f.notify.got() != "alice.test" {
		t.Fatalf("hosts changed: %q", f.notify.got())
	}
	if got.NextCheckAt == nil || !got.NextCheckAt.Equal(t0.Add(24*time.Hour)) {
		t.Fatalf("re-verification not scheduled daily: %v", got.NextCheckAt)
	}
}

func TestVerifyFlagsDomainWhenTXTDisappears(t *testing.T) {
	c := pendingClaim("alice.test", "", verify.Own)
	f := setup(t, c)
	ctx := context.Background()
	f.dns.Add(t, `_roost-challenge.alice.test 60 IN TXT "`+c.Token+`"`, "alice.test 60 IN A 198.51.100.7")
	if n, err := f.checker.RunDue(ctx); n != 1 || err != nil {
		t.Fatalf("RunDue: %d %v", n, err)
	}
	// A day later, still there: verified, next check a day on.
	day1 := t0.Add(24 * time.Hour)
	f.clock.Set(day1)
	if n, _ := f.checker.RunDue(ctx); n != 1 {
		t.Fatalf("verified domain not re-checked after a day")
	}
	if cl, _ := f.store.Claim(ctx, "alice.test"); cl.State != verify.Verified {
		t.Fatalf("state %s", cl.State)
	}
	// A failing lookup is no evidence: not flagged.
	f.dns.Fail("_roost-challenge.alice.test", true)
	f.clock.Set(day1.Add(24 * time.Hour))
	f.checker.RunDue(ctx)
	if cl, _ := f.store.Claim(ctx, "alice.test"); cl.State != verify.Verified {
		t.Fatalf("SERVFAIL flagged the domain: %s", cl.State)
	}
	// The TXT record removed: flagged, with the time, still verified in
	// the domains table (served, not dropped).
	f.dns.Fail("_roost-challenge.alice.test", false)
	f.dns.Remove("_roost-challenge.alice.test", "TXT")
	day3 := day1.Add(48 * time.Hour)
	f.clock.Set(day3)
	f.checker.RunDue(ctx)
	cl, _ := f.store.Claim(ctx, "alice.test")
	if cl.State != verify.Flagged || cl.FlaggedAt == nil || !cl.FlaggedAt.Equal(day3) {
		t.Fatalf("after the TXT record disappeared: state %s flagged at %v", cl.State, cl.FlaggedAt)
	}
	if _, still := f.store.verified["alice.test"]; !still || len(f.store.expired) != 0 {
		t.Fatal("flagged domain was dropped")
	}
	wantCheck(t, statusOf(t, cl.Checks, "TXT"), false, "No TXT record found at _roost-challenge.alice.test")
	// Put back: verified again, flag cleared.
	f.dns.Add(t, `_roost-challenge.alice.test 60 IN TXT "`+c.Token+`"`)
	f.clock.Set(day3.Add(24 * time.Hour))
	f.checker.RunDue(ctx)
	if cl, _ := f.store.Claim(ctx, "alice.test"); cl.State != verify.Verified || cl.FlaggedAt != nil {
		t.Fatalf("TXT back: state %s flagged at %v", cl.State, cl.FlaggedAt)
	}
}

func TestVerifyBackoffSchedule(t *testing.T) {
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute,
		32 * time.Minute, time.Hour, time.Hour}
	for i, w := range want {
		if got := verify.Backoff(i); got != w {
			t.Errorf("Backoff(%d) = %v, want %v", i, got, w)
		}
	}
	if verify.Backoff(1000) != time.Hour || verify.Backoff(-1) != time.Minute {
		t.Error("Backoff out of range")
	}

	// A claim without records is checked at t0, then after 1, 2, 4...
	// minutes; a manual check in between leaves the schedule alone.
	c := pendingClaim("alice.test", "", verify.Own)
	f := setup(t, c)
	ctx := context.Background()
	now := t0
	for i, w := range want[:7] {
		f.clock.Set(now)
		if n, err := f.checker.RunDue(ctx); n != 1 || err != nil {
			t.Fatalf("check %d at %v: %d %v", i, now, n, err)
		}
		cl, _ := f.store.Claim(ctx, "alice.test")
		if cl.Attempts != i+1 || !cl.NextCheckAt.Equal(now.Add(w)) {
			t.Fatalf("after check %d: attempts %d, next %v; want %d, %v", i, cl.Attempts, cl.NextCheckAt, i+1, now.Add(w))
		}
		if n, _ := f.checker.RunDue(ctx); n != 0 {
			t.Fatal("checked again before its time")
		}
		if i == 2 {
			if _, err := f.checker.CheckNow(ctx, "alice.test"); err != nil {
				t.Fatal(err)
			}
			if cl2, _ := f.store.Claim(ctx, "alice.test"); cl2.Attempts != cl.Attempts || !cl2.NextCheckAt.Equal(*cl.NextCheckAt) {
				t.Fatal("a manual check moved the schedule")
			}
		}
		now = *cl.NextCheckAt
	}
}

func TestVerifyClaimExpiresAfter24Hours(t *testing.T) {
	c := pendingClaim("alice.test", "", verify.Own)
	c.Attempts = 20 // hourly by now
	f := setup(t, c)
	ctx := context.Background()
	f.dns.Add(t, "alice.test 60 IN A 198.51.100.7") // but never the TXT proof

	// The last check before the expiry is scheduled at the expiry, not past it.
	f.clock.Set(t0.Add(23*time.Hour + 30*time.Minute))
	f.checker.RunDue(ctx)
	cl, err := f.store.Claim(ctx, "alice.test")
	if err != nil || !cl.NextCheckAt.Equal(c.ExpiresAt) {
		t.Fatalf("next check %v, want the expiry %v (%v)", cl.NextCheckAt, c.ExpiresAt, err)
	}
	f.clock.Set(t0.Add(24*time.Hour - time.Second))
	if _, err := f.checker.CheckNow(ctx, "alice.test"); err != nil {
		t.Fatalf("a second before the expiry the claim holds: %v", err)
	}
	f.clock.Set(t0.Add(24 * time.Hour))
	if n, _ := f.checker.RunDue(ctx); n != 1 {
		t.Fatal("not checked at the expiry")
	}
	if _, err := f.store.Claim(ctx, "alice.test"); !errs.Is(err, errs.NotFound) || len(f.store.expired) != 1 {
		t.Fatalf("claim not expired after 24 h: %v %v", err, f.store.expired)
	}
	if len(f.store.verified) != 0 || f.notify.got() != "" {
		t.Fatal("an expired claim was verified")
	}
}

// A split setup: the service domain points here, and the handle domain's
// website redirects its discovery documents, checked through
// federation/fetch against a real HTTP server.
func TestVerifySplitRedirects(t *testing.T) {
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, port, _ := strings.Cut(r.Host, ":")
		switch r.URL.Path {
		case "/.well-known/webfinger":
			http.Redirect(w, r, "http://social.alice.test:"+port+r.URL.Path+"?"+r.URL.RawQuery, http.StatusMovedPermanently)
		case "/.well-known/nodeinfo":
			http.Redirect(w, r, "http://elsewhere.test:"+port+r.URL.Path, http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	defer site.Close()
	addr := strings.TrimPrefix(site.URL, "http://")
	_, portStr, _ := strings.Cut(addr, ":")
	port, _ := strconv.Atoi(portStr)

	c := pendingClaim("alice.test", "social.alice.test", verify.Split)
	f := setup(t, c)
	f.checker.Target.Scheme, f.checker.Target.Port = "http", port
	f.checker.Web = fetch.New(fetch.Config{Resolve: map[string]string{"alice.test": addr}})
	f.dns.Add(t, `_roost-challenge.alice.test 60 IN TXT "`+c.Token+`"`, "social.alice.test 60 IN CNAME roost.example.")

	base, svc := "http://alice.test:"+portStr, "http://social.alice.test:"+portStr
	checks := f.checker.Inspect(context.Background(), &c)
	if len(checks) != 5 {
		t.Fatalf("checks %+v", checks)
	}
	wantCheck(t, checks[0], true, "TXT record found")
	wantCheck(t, checks[1], true, "CNAME record points to roost.example")
	wantCheck(t, checks[2], true, base+"/.well-known/webfinger redirects to "+svc+"/.well-known/webfinger")
	wantCheck(t, checks[3], false, base+"/.well-known/host-meta answered 404 instead of redirecting to "+svc+"/.well-known/host-meta")
	wantCheck(t, checks[4], false, base+"/.well-known/nodeinfo redirects to http://elsewhere.test:"+portStr+
		"/.well-known/nodeinfo, expected "+svc+"/.well-known/nodeinfo")
	if cl, _ := f.checker.CheckNow(context.Background(), "alice.test"); cl.State != verify.Pending {
		t.Fatalf("verified with broken redirects: %s", cl.State)
	}
}

// The system resolver reads /etc/hosts like every Go program.
func TestDNSSystemResolver(t *testing.T) {
	addrs, err := (&verify.System{}).Addrs(context.Background(), "localhost")
	if err != nil || len(addrs) == 0 || !addrs[0].IsLoopback() {
		t.Fatalf("localhost: %v %v", addrs, err)
	}
}

func TestVerifyApexRules(t *testing.T) {
	for d, apex := range map[string]bool{"alice.example": true, "social.alice.example": false, "alice.co.uk": true,
		"www.alice.co.uk": false, "alice.test": true} {
		if verify.IsApex(d) != apex {
			t.Errorf("IsApex(%s) = %v", d, !apex)
		}
	}
	// An apex gets A/AAAA even when a host name is configured.
	tg := verify.Target{IPv4: ourIPv4, IPv6: ourIPv6, Hostname: "roost.example"}
	recs := tg.Records(&verify.Claim{Kind: verify.Own, Domain: "alice.example", Token: "t"})
	if len(recs) != 3 || recs[1].Type != "A" || recs[2].Type != "AAAA" || !recs[2].Optional {
		t.Fatalf("apex records %+v", recs)
	}
	if recs := tg.Records(&verify.Claim{Kind: verify.Subdomain, Domain: "alice.roost.example"}); len(recs) != 0 {
		t.Fatalf("a subdomain of the base domain needs nothing: %+v", recs)
	}
}
