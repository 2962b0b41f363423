package certs_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/certs"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// world is one instance's database with a few tenants: a.test (verified,
// with service domain social.a.test), b.test, suspended s.test and
// unverified u.test.
type world struct {
	db    *pgxpool.Pool
	store *tenantpg.Store
	kv    *tenantpg.CertStore
}

func newWorld(t testing.TB) *world {
	t.Helper()
	db := testenv.DB(t)
	w := &world{db: db, store: tenantpg.New(db), kv: tenantpg.NewCertStore(db)}
	ctx := context.Background()
	for _, d := range []tenant.NewDomain{{Domain: "a.test", ServiceDomain: "social.a.test", Verified: true}, {Domain: "b.test", Verified: true}, {Domain: "s.test", Verified: true}, {Domain: "u.test"}} {
		if _, err := w.store.CreateTenant(ctx, d.Domain, d); err != nil {
			t.Fatal(err)
		}
	}
	w.exec(t, `update tenants set status = 'suspended' where name = 's.test'`)
	return w
}

func (w *world) exec(t testing.TB, sql string, args ...any) {
	t.Helper()
	if _, err := w.db.Exec(context.Background(), sql, args...); err != nil {
		t.Fatal(err)
	}
}

func (w *world) decider(cache *tenant.HostCache) *certs.Decider {
	return certs.NewDecider(cache)
}

func quiet() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

var client = netip.MustParseAddr("192.0.2.1")

// Only verified domains of active tenants are allowed; answers are cached
// (a warm decision costs no lookup); a database failure refuses.
func TestTLSDecisionFunc(t *testing.T) {
	w := newWorld(t)
	cache := tenant.NewHostCache(w.store, time.Minute, 1000)
	d := w.decider(cache)
	ctx := context.Background()
	for _, name := range []string{"a.test", "social.a.test", "b.test"} {
		if err := d.DecideFor(ctx, name, client); err != nil {
			t.Errorf("%s refused: %v", name, err)
		}
	}
	for _, name := range []string{"s.test", "u.test", "nobody.test", "A.test", "a.test.", "127.0.0.1", "", "a.test:443", "*.a.test", "xn--zz.test"} {
		if err := d.DecideFor(ctx, name, client); err == nil {
			t.Errorf("%q allowed", name)
		}
	}
	st := d.Stats()
	// Names that are not stored-form domains never reach the database.
	if st.Lookups != 7 || st.Allowed != 3 || st.Denied != 10 {
		t.Fatalf("stats after first round: %+v", st)
	}
	for range 10 {
		for _, name := range []string{"a.test", "s.test", "u.test", "nobody.test"} {
			d.DecideFor(ctx, name, client)
		}
	}
	if got := d.Stats().Lookups; got != 7 {
		t.Fatalf("warm decisions made %d more lookups", got-7)
	}

	// The database goes away: cached answers stand, new names are refused.
	w.db.Close()
	if err := d.DecideFor(ctx, "a.test", client); err != nil {
		t.Fatalf("cached a.test refused with the database down: %v", err)
	}
	err := d.DecideFor(ctx, "c.test", client)
	if err == nil || !strings.Contains(err.Error(), "fail closed") {
		t.Fatalf("new name with the database down: %v", err)
	}
	if st := d.Stats(); st.LookupErrors != 1 {
		t.Fatalf("lookup errors %d, want 1", st.LookupErrors)
	}
}

// A flood of random names costs at most the burst of lookups per client;
// served names cost a client nothing.
func TestTLSDecisionLookupLimits(t *testing.T) {
	w := newWorld(t)
	cache := tenant.NewHostCache(w.store, time.Minute, 100000)
	frozen := time.Now()
	clock := func() time.Time { return frozen } // no refill during the test
	limits := func(burst int) certs.Limits {
		return certs.Limits{Concurrent: 4, Queue: 100, ClientRate: 0.001, ClientBurst: burst}
	}
	d := certs.NewDeciderWithLimits(cache, limits(5))
	d.Now = clock
	ctx := context.Background()
	for i := range 1000 {
		d.DecideFor(ctx, fmt.Sprintf("r%d.random.test", i), client)
	}
	if st := d.Stats(); st.Lookups != 5 || st.RateLimited != 995 {
		t.Fatalf("one client: %+v", st)
	}
	// A cached answer needs no token: a.test is allowed once cached even
	// when the client has none left.
	d2 := certs.NewDeciderWithLimits(cache, limits(1))
	d2.Now = clock
	if err := d2.DecideFor(ctx, "a.test", client); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if err := d2.DecideFor(ctx, "a.test", client); err != nil {
			t.Fatalf("cached answer refused: %v", err)
		}
	}
	// IPv6 clients share a bucket per /64.
	d3 := certs.NewDeciderWithLimits(cache, limits(3))
	d3.Now = clock
	for i := range 100 {
		c := netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", i+1))
		d3.DecideFor(ctx, fmt.Sprintf("v6-%d.random.test", i), c)
	}
	if st := d3.Stats(); st.Lookups != 3 {
		t.Fatalf("one /64: %d lookups, want 3", st.Lookups)
	}
}

func TestCertManagerRefusesWithoutDecisionFunc(t *testing.T) {
	_, err := certs.New(certs.Options{Mode: certs.SelfSigned, Storage: certs.NewStorage(nil)})
	if err == nil || !strings.Contains(err.Error(), "DecisionFunc") {
		t.Fatalf("New without a Decider: %v", err)
	}
	w := newWorld(t)
	d := certs.NewDecider(tenant.NewHostCache(w.store, time.Minute, 10))
	for _, o := range []certs.Options{
		{Mode: certs.ACME, CA: "http://insecure.test/dir", HTTP01: true},
		{Mode: certs.ACME, CA: "staging"},
		{Mode: "off"},
	} {
		o.Storage, o.Decider = certs.NewStorage(w.kv), d
		if m, err := certs.New(o); err == nil {
			m.Stop()
			t.Errorf("New(%+v) accepted", o)
		}
	}
}

// certmagic's Storage contract on PostgreSQL: fs.ErrNotExist, directory
// listings, Stat of directories.
func TestCertStorageContract(t *testing.T) {
	w := newWorld(t)
	s := certs.NewStorage(w.kv)
	ctx := context.Background()
	if _, err := s.Load(ctx, "certificates/x/a.test/a.test.crt"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load missing: %v", err)
	}
	for _, k := range []string{"certificates/ca/a.test/a.test.crt", "certificates/ca/a.test/a.test.key", "certificates/ca/b.test/b.test.crt", "acme/ca/users/x/x.json"} {
		if err := s.Store(ctx, k, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	list := func(dir string, rec bool) string {
		ks, err := s.List(ctx, dir, rec)
		if err != nil {
			return "error: " + err.Error()
		}
		return strings.Join(ks, " ")
	}
	if got := list("certificates", false); got != "certificates/ca" {
		t.Fatalf("List(certificates) = %q", got)
	}
	if got := list("certificates/ca", false); got != "certificates/ca/a.test certificates/ca/b.test" {
		t.Fatalf("List(certificates/ca) = %q", got)
	}
	if got := list("certificates", true); got != "certificates/ca certificates/ca/a.test certificates/ca/a.test/a.test.crt certificates/ca/a.test/a.test.key certificates/ca/b.test certificates/ca/b.test/b.test.crt" {
		t.Fatalf("List(certificates, recursive) = %q", got)
	}
	if _, err := s.List(ctx, "ocsp", false); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("List of nothing: %v", err)
	}
	if ki, err := s.Stat(ctx, "certificates/ca"); err != nil || ki.IsTerminal {
		t.Fatalf("Stat(dir) = %+v, %v", ki, err)
	}
	if ki, err := s.Stat(ctx, "acme/ca/users/x/x.json"); err != nil || !ki.IsTerminal || ki.Size != int64(len("acme/ca/users/x/x.json")) {
		t.Fatalf("Stat(file) = %+v, %v", ki, err)
	}
	if !s.Exists(ctx, "certificates/ca/a.test") || s.Exists(ctx, "certificates/ca/c.test") {
		t.Fatal("Exists")
	}
	if err := s.Delete(ctx, "certificates/ca/a.test"); err != nil || s.Exists(ctx, "certificates/ca/a.test") {
		t.Fatalf("Delete dir: %v", err)
	}
}

// Lock blocks until the holder unlocks; a live holder keeps its lock past
// the TTL; a dead one's lock frees itself.
func TestCertStorageLocks(t *testing.T) {
	w := newWorld(t)
	a, b := certs.NewStorage(w.kv), certs.NewStorage(w.kv)
	for _, s := range []*certs.Storage{a, b} {
		s.LockTTL, s.LockPoll = time.Second, 50*time.Millisecond
	}
	ctx := context.Background()
	if err := a.Lock(ctx, "issue_cert_a.test"); err != nil {
		t.Fatal(err)
	}
	var got atomic.Bool
	done := make(chan error, 1)
	go func() {
		err := b.Lock(ctx, "issue_cert_a.test")
		got.Store(true)
		done <- err
	}()
	// a's keep-alive holds it past its first expiry: wait (on the
	// database's clock, which decides expiry) until that expiry has passed
	// with the lock still a's, instead of sleeping a fixed time.
	var first time.Time
	var owner string
	if err := w.db.QueryRow(ctx, `select expires_at, owner from cert_locks where name = 'issue_cert_a.test'`).Scan(&first, &owner); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var extended bool
		if err := w.db.QueryRow(ctx, `select now() > $1 and expires_at > now() and owner = $2 from cert_locks where name = 'issue_cert_a.test'`, first, owner).Scan(&extended); err != nil {
			t.Fatal(err)
		}
		if extended {
			break
		}
		if got.Load() || time.Now().After(deadline) {
			t.Fatal("a's keep-alive did not hold its lock past the first expiry")
		}
	}
	if got.Load() {
		t.Fatal("b took a lock a still holds")
	}
	if err := a.RenewLockLease(ctx, "issue_cert_a.test", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := a.Unlock(ctx, "issue_cert_a.test"); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if ok, err := a.TryLock(ctx, "issue_cert_a.test"); ok || err != nil {
		t.Fatalf("a.TryLock while b holds: %v, %v", ok, err)
	}
	b.Unlock(ctx, "issue_cert_a.test")

	// A crashed node: its lock row stays, nobody extends it. start is
	// taken before the lock, so however slow this machine is, the wait
	// below can only be longer than the lock's 400 ms, never shorter.
	start := time.Now()
	if ok, err := w.kv.TryLock(ctx, "issue_cert_b.test", "crashed-node", 400*time.Millisecond); !ok || err != nil {
		t.Fatal(ok, err)
	}
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := b.Lock(lctx, "issue_cert_b.test"); err != nil {
		t.Fatalf("the crashed node's lock never freed: %v", err)
	}
	if waited := time.Since(start); waited < 300*time.Millisecond {
		t.Fatalf("took an unexpired lock after %v", waited)
	}
	// Lock honours cancellation.
	cctx, ccancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer ccancel()
	if err := a.Lock(cctx, "issue_cert_b.test"); err == nil {
		t.Fatal("Lock returned without the lock")
	}
}

// node is one in-process web node in self-signed mode.
type node struct {
	m    *certs.Manager
	d    *certs.Decider
	addr string
}

func startSelfSigned(t testing.TB, w *world) *node {
	t.Helper()
	d := certs.NewDecider(tenant.NewHostCache(w.store, time.Minute, 100000))
	m, err := certs.New(certs.Options{Mode: certs.SelfSigned, Storage: certs.NewStorage(w.kv), Decider: d, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	return &node{m: m, d: d, addr: serveTLS(t, m.TLSConfig())}
}

// serveTLS serves a greeting over TLS with cfg (and no fallback
// certificate) on a loopback port, and returns its address.
func serveTLS(t testing.TB, cfg *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello "+r.Host) }),
		ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(tls.NewListener(ln, cfg))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func handshake(addr, name string, roots *x509.CertPool) (*x509.Certificate, error) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, &tls.Config{ServerName: name, RootCAs: roots, InsecureSkipVerify: roots == nil})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}

// Self-signed mode end to end in process: a handshake issues from the
// instance's local CA, a second node sharing the database serves the same
// certificate without issuing, refused names get nothing, and the status
// listing shows the expiry.
func TestTLSSelfSignedOnDemand(t *testing.T) {
	w := newWorld(t)
	n1 := startSelfSigned(t, w)
	n2 := startSelfSigned(t, w)
	leaf, err := handshake(n1.addr, "a.test", nil)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := w.kv.Get(context.Background(), certs.LocalCACertKey)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "a.test", Roots: roots}); err != nil {
		t.Fatalf("certificate does not chain to the local CA: %v", err)
	}
	leaf2, err := handshake(n2.addr, "a.test", roots)
	if err != nil {
		t.Fatal(err)
	}
	if leaf2.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		t.Fatal("node 2 served another certificate")
	}
	if s1, s2 := n1.m.Stats(), n2.m.Stats(); s1.Obtained != 1 || s2.Obtained != 0 || s2.Obtaining != 0 {
		t.Fatalf("issuance: node 1 %+v, node 2 %+v", s1, s2)
	}
	if _, err := handshake(n2.addr, "social.a.test", roots); err != nil {
		t.Fatalf("service domain: %v", err)
	}
	for _, name := range []string{"s.test", "u.test", "nobody.test", ""} {
		if _, err := handshake(n1.addr, name, nil); err == nil {
			t.Errorf("handshake for %q succeeded", name)
		}
	}
	if s := n1.m.Stats(); s.Obtained != 1 || s.Obtaining != 1 {
		t.Fatalf("refused names caused issuance: %+v", s)
	}
	st, err := n1.m.Statuses(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 2 || st[0].Name != "a.test" || st[1].Name != "social.a.test" ||
		!st[0].NotAfter.Equal(leaf.NotAfter.UTC()) || st[0].LastError != "" || st[0].Issuer != certs.LocalIssuerKey {
		t.Fatalf("statuses: %+v", st)
	}
	// A status listing falls back to the stored certificate when no
	// status was recorded.
	w.exec(t, `delete from cert_storage where key like 'roost/status/%'`)
	st, err = n1.m.Statuses(context.Background())
	if err != nil || len(st) != 2 || !st[0].NotAfter.Equal(leaf.NotAfter.UTC()) {
		t.Fatalf("statuses from certificates: %+v, %v", st, err)
	}
}

// The plain-HTTP port redirects to HTTPS and answers no challenge for
// names it would not issue for.
func TestTLSRedirectHandler(t *testing.T) {
	w := newWorld(t)
	d := certs.NewDecider(tenant.NewHostCache(w.store, time.Minute, 100))
	// The lookup limits' clock stands still: no token refills however
	// long the 50 requests take on a busy machine (issue 15, finding 10).
	frozen := time.Now()
	d.Now = func() time.Time { return frozen }
	m, err := certs.New(certs.Options{Mode: certs.ACME, CA: "https://127.0.0.1:1/dir", HTTP01: true, TLSALPN01: true,
		PublicHTTPSPort: 8443, Storage: certs.NewStorage(w.kv), Decider: d, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	h := m.HTTPHandler()
	get := func(host, path string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		r.Host = host
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	rec := get("A.Test", "/users/alice?x=1")
	if rec.Code != http.StatusPermanentRedirect || rec.Header().Get("Location") != "https://a.test:8443/users/alice?x=1" {
		t.Fatalf("redirect: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if rec := get("127.0.0.1", "/"); rec.Code != http.StatusNotFound {
		t.Fatalf("IP host: %d", rec.Code)
	}
	before := d.Stats().Lookups
	for i := range 50 {
		if rec := get(fmt.Sprintf("r%d.test", i), "/.well-known/acme-challenge/abcdefgh"); rec.Code != http.StatusNotFound {
			t.Fatalf("challenge for a random name: %d", rec.Code)
		}
	}
	if got := d.Stats().Lookups - before; got > certs.DefaultClientLookupBurst {
		t.Fatalf("challenge requests for random names made %d lookups", got)
	}
}

// The background sweep renews due certificates in storage (a quiet
// domain's too) and leaves a suspended tenant's to expire.
func TestCertRenewalSweep(t *testing.T) {
	w := newWorld(t)
	n1 := startSelfSigned(t, w)
	for _, name := range []string{"a.test", "b.test"} {
		if _, err := handshake(n1.addr, name, nil); err != nil {
			t.Fatal(err)
		}
	}
	serial := func(name string) string {
		b, err := w.kv.Get(context.Background(), "certificates/roost-local/"+name+"/"+name+".crt")
		if err != nil {
			t.Fatal(err)
		}
		block, _ := pem.Decode(b)
		c, _ := x509.ParseCertificate(block.Bytes)
		return c.SerialNumber.String()
	}
	a, b := serial("a.test"), serial("b.test")
	// Nothing is due with the default window.
	if n, err := n1.m.RenewDue(context.Background()); n != 0 || err != nil {
		t.Fatalf("RenewDue with nothing due: %d, %v", n, err)
	}
	w.exec(t, `update tenants set status = 'suspended' where name = 'b.test'`)
	// A node that renews in all but the first minutes of the lifetime
	// finds both due.
	d := certs.NewDecider(tenant.NewHostCache(w.store, time.Minute, 100))
	m, err := certs.New(certs.Options{Mode: certs.SelfSigned, Storage: certs.NewStorage(w.kv), Decider: d, Log: quiet(), RenewalWindowRatio: 0.99999})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	n, err := m.RenewDue(context.Background())
	if n != 1 || err != nil {
		t.Fatalf("RenewDue = %d, %v; want 1 (a.test only)", n, err)
	}
	if serial("a.test") == a || serial("b.test") != b {
		t.Fatal("a.test was not renewed, or suspended b.test was")
	}
	if s := m.Stats(); s.Obtained != 1 {
		t.Fatalf("renewal stats: %+v", s)
	}
}

func TestDecisionServesTheInstancesOwnNames(t *testing.T) {
	w := newWorld(t)
	d := w.decider(tenant.NewHostCache(w.store, time.Minute, 100))
	d.Own = map[string]bool{"portal.roost.example": true}
	if err := d.DecideFor(context.Background(), "portal.roost.example", netip.Addr{}); err != nil {
		t.Fatalf("the portal host is refused: %v", err)
	}
	if err := d.DecideFor(context.Background(), "other.example", netip.Addr{}); err == nil {
		t.Fatal("an unknown name is served")
	}
}
