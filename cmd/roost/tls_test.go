package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/miekg/dns"
	"github.com/roost-social/roost/internal/devenv"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant/certs"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

// tlsLog is a process's output, readable while it runs.
type tlsLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *tlsLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *tlsLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// pebble is testenv's Pebble (a real ACME CA on loopback) under the
// names these tests use.
type pebble struct {
	*testenv.Pebble
	dir, caPEM string
}

// startPebble runs Pebble for this test (testenv.StartPebble).
func startPebble(t *testing.T, httpPort, tlsPort int, dnsAddr string) *pebble {
	p := testenv.StartPebble(t, httpPort, tlsPort, dnsAddr)
	return &pebble{Pebble: p, dir: p.Dir, caPEM: p.CAPEM}
}

// orders counts the orders Pebble created.
func (p *pebble) orders() int { return p.Orders() }

// issuingRoots fetches the root Pebble issues under (new at every start).
func (p *pebble) issuingRoots(t *testing.T) *x509.CertPool { return p.IssuingRoots(t) }

// startDNS answers A queries for every name, over TCP (as Pebble asks)
// and UDP: the address in names, or fallback; nothing else (no AAAA, no
// CAA).
func startDNS(t *testing.T, names map[string]string, fallback string) string {
	t.Helper()
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		for _, q := range r.Question {
			if q.Qtype != dns.TypeA {
				continue
			}
			ip, ok := names[strings.TrimSuffix(strings.ToLower(q.Name), ".")]
			if !ok {
				ip = fallback
			}
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET}, A: net.ParseIP(ip)})
		}
		w.WriteMsg(m)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	servers := []*dns.Server{{Listener: l, Handler: handler}}
	if pc, err := net.ListenPacket("udp", l.Addr().String()); err == nil {
		servers = append(servers, &dns.Server{PacketConn: pc, Handler: handler})
	}
	for _, s := range servers {
		go s.ActivateAndServe()
		t.Cleanup(func() { s.Shutdown() })
	}
	return l.Addr().String()
}

// sharedPorts finds two ports free on every given loopback address (the
// CA validates every node on the same two ports).
func sharedPorts(t *testing.T, ips ...string) (int, int) {
	t.Helper()
	var ports []int
	for len(ports) < 2 {
		l, err := net.Listen("tcp", ips[0]+":0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		ok := true
		var others []net.Listener
		for _, ip := range ips[1:] {
			o, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
			if err != nil {
				ok = false
				break
			}
			others = append(others, o)
		}
		l.Close()
		for _, o := range others {
			o.Close()
		}
		if ok && (len(ports) == 0 || ports[0] != port) {
			ports = append(ports, port)
		}
	}
	return ports[0], ports[1]
}

// tlsNode is one `roost serve` process with ROOST_TLS=acme.
type tlsNode struct {
	ip, https, redirect, metrics string
	cmd                          *exec.Cmd
	log                          *tlsLog
}

func startTLSNode(t *testing.T, env []string, ip string, httpPort, tlsPort int, challenges string) *tlsNode {
	t.Helper()
	n := &tlsNode{ip: ip, https: net.JoinHostPort(ip, strconv.Itoa(tlsPort)), redirect: net.JoinHostPort(ip, strconv.Itoa(httpPort)),
		metrics: freeAddr(t), log: &tlsLog{}}
	n.cmd = exec.Command(roostBin(t), "serve")
	n.cmd.Env = append(append(cleanEnv(), env...),
		"ROOST_HTTPS_ADDR="+n.https, "ROOST_HTTP_REDIRECT_ADDR="+n.redirect, "ROOST_METRICS_ADDR="+n.metrics,
		"ROOST_ACME_CHALLENGES="+challenges)
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		n.cmd.Process.Signal(syscall.SIGTERM)
		n.cmd.Wait()
		if t.Failed() {
			t.Logf("node %s log:\n%s", ip, n.log.String())
		}
	})
	waitFor(t, "node "+ip+" serving metrics", func() bool { return n.metric(t, "roost_tls_decisions_total") >= 0 })
	return n
}

// metric reads one sample's value from the node's /metrics (-1: absent).
func (n *tlsNode) metric(t *testing.T, sample string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + n.metrics + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	total, found := 0.0, false
	for _, line := range strings.Split(string(b), "\n") {
		name, val, ok := strings.Cut(line, " ")
		if !ok || (name != sample && !strings.HasPrefix(name, sample+"{")) {
			continue
		}
		v, _ := strconv.ParseFloat(val, 64)
		total, found = total+v, true
	}
	if !found {
		return -1
	}
	return total
}

// handshake connects from the loopback address from (empty: any) and
// returns the leaf the node served for name, verified against roots.
func (n *tlsNode) handshake(name, from string, roots *x509.CertPool) (*x509.Certificate, error) {
	d := &net.Dialer{Timeout: 30 * time.Second}
	if from != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(from)}
	}
	conn, err := tls.DialWithDialer(d, "tcp", n.https, &tls.Config{ServerName: name, RootCAs: roots, NextProtos: []string{"http/1.1"}})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0], nil
}

// Two `roost serve` processes sharing one database obtain certificates on
// demand from a real ACME CA (Pebble): a handshake on one node obtains a
// certificate whose challenge the other node answers (HTTP-01 one way,
// TLS-ALPN-01 the other), the other node then serves it without a new
// order, refused names (unregistered, suspended, unverified, 1,000 random)
// cause no order and bounded lookups, and with the database stopped the
// issued certificates are still served while new names are refused.
func TestTLSAcmeTwoNodesPebble(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const ip1, ip2 = "127.0.0.2", "127.0.0.3"

	// A private PostgreSQL this test may stop.
	pgDir, err := os.MkdirTemp("", "roost-tls-pg-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(pgDir, 0o755)
	t.Cleanup(func() { os.RemoveAll(pgDir) })
	pg, err := devenv.Start(ctx, devenv.Options{Dir: pgDir, Install: true, Database: "roost", SkipRedis: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pg.Stop() })
	base := []string{"ROOST_DATABASE_URL=" + pg.DatabaseURL, "ROOST_REDIS_URL=" + testenv.RedisURL(),
		fmt.Sprintf("ROOST_REDIS_PREFIX=test:%d:tls:", os.Getpid())}
	cli := func(args ...string) string {
		t.Helper()
		code, out, stderr := roost(t, base, args...)
		if code != 0 {
			t.Fatalf("roost %v: %d %s", args, code, stderr)
		}
		return out
	}
	cli("migrate")
	for _, d := range []string{"a.test", "b.test", "c.test", "s.test"} {
		cli("tenant", "create", "--name", d, "--domain", d)
	}
	cli("account", "create", "--domain", "a.test", "--username", "alice", "--email", "alice@a.test", "--password", "long enough password")
	db, err := pgxpool.New(ctx, pg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	for _, q := range []string{
		`update tenants set status = 'suspended' where name = 's.test'`,
		`insert into domains (domain, tenant_id, verification_token) select 'u.test', id, 'tok' from tenants where name = 'c.test'`,
	} {
		if _, err := db.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}

	// Every name resolves to node 2 but b.test, which resolves to node 1:
	// the node that answers a challenge is never the one that asked.
	dnsAddr := startDNS(t, map[string]string{"b.test": ip1}, ip2)
	httpPort, tlsPort := sharedPorts(t, ip1, ip2)
	ca := startPebble(t, httpPort, tlsPort, dnsAddr)
	env := append(base, "ROOST_TLS=acme", "ROOST_ACME_CA="+ca.dir, "ROOST_ACME_CA_ROOT="+ca.caPEM,
		"ROOST_ACME_EMAIL=ops@roost.test", "ROOST_URL_SCHEME=https", "ROOST_PUBLIC_PORT="+strconv.Itoa(tlsPort),
		"ROOST_LOG_LEVEL=debug")
	n1 := startTLSNode(t, env, ip1, httpPort, tlsPort, "http-01")
	n2 := startTLSNode(t, env, ip2, httpPort, tlsPort, "tls-alpn-01")
	roots := ca.issuingRoots(t)

	// 1. a.test on node 1: HTTP-01, answered by node 2 from shared storage.
	leafA, err := n1.handshake("a.test", "", roots)
	if err != nil {
		t.Fatalf("a.test on node 1: %v", err)
	}
	if got := ca.orders(); got != 1 {
		t.Fatalf("%d orders for a.test, want 1", got)
	}
	if !strings.Contains(n2.log.String(), "challenge=http-01") || !strings.Contains(n2.log.String(), "distributed=true") {
		t.Fatal("node 2 did not answer the HTTP-01 challenge of node 1's order")
	}
	// 2. Node 2 serves the same certificate without a new order.
	leafA2, err := n2.handshake("a.test", "", roots)
	if err != nil {
		t.Fatalf("a.test on node 2: %v", err)
	}
	if leafA2.SerialNumber.Cmp(leafA.SerialNumber) != 0 || ca.orders() != 1 {
		t.Fatalf("node 2 served serial %v (node 1: %v), orders %d", leafA2.SerialNumber, leafA.SerialNumber, ca.orders())
	}
	// 3. b.test on node 2: TLS-ALPN-01, answered by node 1.
	leafB, err := n2.handshake("b.test", "", roots)
	if err != nil {
		t.Fatalf("b.test on node 2: %v", err)
	}
	if ca.orders() != 2 || !strings.Contains(n1.log.String(), "challenge=tls-alpn-01") {
		t.Fatalf("b.test: %d orders; node 1 answered TLS-ALPN-01: %v", ca.orders(), strings.Contains(n1.log.String(), "challenge=tls-alpn-01"))
	}
	if got := n1.metric(t, "roost_tls_orders_total{result=\"obtained\"}") + n2.metric(t, "roost_tls_orders_total{result=\"obtained\"}"); got != 2 {
		t.Fatalf("nodes obtained %v certificates, want 2", got)
	}

	// The web app over HTTPS, and the redirect from plain HTTP.
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, n1.https)
		}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", fmt.Sprintf("https://a.test:%d/users/alice", tlsPort), nil)
	req.Header.Set("Accept", "application/activity+json")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), fmt.Sprintf(`"id":"https://a.test:%d/users/alice"`, tlsPort)) {
		t.Fatalf("actor over HTTPS: %d %s", resp.StatusCode, body)
	}
	req, _ = http.NewRequest("GET", "http://"+n1.redirect+"/users/alice?x=1", nil)
	req.Host = "a.test"
	resp, err = (&http.Client{Timeout: 10 * time.Second, CheckRedirect: hc.CheckRedirect}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := fmt.Sprintf("https://a.test:%d/users/alice?x=1", tlsPort); resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want {
		t.Fatalf("redirect: %d %q, want 308 %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("redirect without the header policy (issue 14 finding 12): %v", resp.Header)
	}

	// 4. Refused names: no order, one lookup each, none when asked again.
	lookups := n1.metric(t, "roost_tls_decision_lookups_total")
	for range 3 {
		for _, name := range []string{"nobody.test", "s.test", "u.test"} {
			if _, err := n1.handshake(name, "", roots); err == nil {
				t.Fatalf("handshake for %s succeeded", name)
			}
		}
	}
	if got := n1.metric(t, "roost_tls_decision_lookups_total") - lookups; got != 3 {
		t.Fatalf("3 refused names asked 3 times cost %v lookups, want 3", got)
	}
	// 1,000 random names from one client: a bounded number of lookups.
	lookups = n1.metric(t, "roost_tls_decision_lookups_total")
	start := time.Now()
	var wg sync.WaitGroup
	var succeeded atomic.Int32
	names := make(chan string)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for name := range names {
				if _, err := n1.handshake(name, "127.0.0.9", roots); err == nil {
					succeeded.Add(1)
				}
			}
		}()
	}
	for i := range 1000 {
		names <- fmt.Sprintf("r%d-%x.test", i, time.Now().UnixNano())
	}
	close(names)
	wg.Wait()
	elapsed := time.Since(start)
	spent := n1.metric(t, "roost_tls_decision_lookups_total") - lookups
	bound := float64(certs.DefaultClientLookupBurst) + certs.DefaultClientLookupRate*elapsed.Seconds() + 1
	t.Logf("1,000 random names in %v: %v database lookups (bound %.0f), %v rate-limited", elapsed.Round(time.Millisecond), spent, bound, n1.metric(t, "roost_tls_decision_rate_limited_total"))
	if succeeded.Load() != 0 || spent > bound || spent >= 1000 {
		t.Fatalf("random names: %d handshakes succeeded, %v lookups (bound %.0f)", succeeded.Load(), spent, bound)
	}
	if ca.orders() != 2 || n1.metric(t, "roost_tls_orders_total{result=\"started\"}") != 1 {
		t.Fatalf("refused names caused orders: pebble %d, node 1 started %v", ca.orders(), n1.metric(t, "roost_tls_orders_total{result=\"started\"}"))
	}

	// Status for the admin dashboard, from the shared storage.
	st, err := certs.NewStorage(tenantpg.NewCertStore(db)).Statuses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 2 || st[0].Name != "a.test" || st[1].Name != "b.test" || !st[0].NotAfter.Equal(leafA.NotAfter.UTC()) ||
		!st[1].NotAfter.Equal(leafB.NotAfter.UTC()) || st[0].LastError != "" {
		t.Fatalf("statuses: %+v", st)
	}

	// 5. The database stops: issued certificates are still served by both
	// nodes; a verified name never seen, and random names, are refused.
	db.Close()
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*tlsNode{n1, n2} {
		leaf, err := n.handshake("a.test", "127.0.0.7", roots)
		if err != nil || leaf.SerialNumber.Cmp(leafA.SerialNumber) != 0 {
			t.Fatalf("a.test on %s with the database down: %v", n.ip, err)
		}
	}
	if leaf, err := n2.handshake("b.test", "127.0.0.7", roots); err != nil || leaf.SerialNumber.Cmp(leafB.SerialNumber) != 0 {
		t.Fatalf("b.test on node 2 with the database down: %v", err)
	}
	lookupErrors := n1.metric(t, "roost_tls_decision_lookup_errors_total")
	for _, name := range []string{"c.test", "new-random.test"} {
		if _, err := n1.handshake(name, "127.0.0.7", roots); err == nil {
			t.Fatalf("%s served with the database down", name)
		}
	}
	if got := n1.metric(t, "roost_tls_decision_lookup_errors_total") - lookupErrors; got != 2 {
		t.Fatalf("%v failed lookups with the database down, want 2 (refused because the database is down)", got)
	}
	if ca.orders() != 2 {
		t.Fatalf("orders with the database down: %d", ca.orders())
	}
}
