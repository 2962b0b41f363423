package certs_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/miekg/dns"
	"github.com/roost-social/roost/internal/devenv"
	"github.com/roost-social/roost/internal/rfc2136/zonetest"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/certs"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testCA is Pebble (letsencrypt/pebble, a real ACME CA with ARI) on
// loopback, validating HTTP-01 on httpPort at the addresses dnsAddr gives.
type testCA struct {
	dir, mgmt string
	trust     *x509.CertPool // Pebble's own HTTPS certificate
	client    *http.Client
	log       *syncBuf
}

func startTestCA(t *testing.T, httpPort int, dnsAddr string) *testCA {
	t.Helper()
	bin, err := devenv.Pebble(devenv.Options{Install: true, Logf: t.Logf})
	if err != nil {
		t.Fatalf("pebble: %v", err)
	}
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	self, _ := x509.ParseCertificate(der)
	keyDER, _ := x509.MarshalECPrivateKey(key)
	ca := &testCA{trust: x509.NewCertPool(), log: &syncBuf{}}
	ca.trust.AddCert(self)
	ca.client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.trust}}, Timeout: 10 * time.Second}
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("cert.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	write("key.pem", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	free := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().String()
	}
	listen, mgmt := free(), free()
	cfg, _ := json.Marshal(map[string]any{"pebble": map[string]any{
		"listenAddress": listen, "managementListenAddress": mgmt,
		"certificate": filepath.Join(dir, "cert.pem"), "privateKey": filepath.Join(dir, "key.pem"),
		"httpPort": httpPort, "tlsPort": 1, "ocspResponderURL": "", "externalAccountBindingRequired": false,
		"keyAlgorithm": "ecdsa", "retryAfter": map[string]int{"authz": 1, "order": 1},
	}})
	write("pebble.json", cfg)
	cmd := exec.Command(bin, "-config", filepath.Join(dir, "pebble.json"), "-dnsserver", dnsAddr)
	cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0")
	cmd.Stdout, cmd.Stderr = ca.log, ca.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("pebble log:\n%s", ca.log.String())
		}
	})
	ca.dir, ca.mgmt = "https://"+listen+"/dir", "https://"+mgmt
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.DialTimeout("tcp", listen, time.Second); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("pebble never listened")
		}
	}
	return ca
}

func (ca *testCA) orders() int { return strings.Count(ca.log.String(), "Added order") }

// setRenewalInfo makes Pebble answer ARI for cert with the given window.
func (ca *testCA) setRenewalInfo(t *testing.T, cert *x509.Certificate, start, end time.Time) {
	t.Helper()
	ari, _ := json.Marshal(map[string]any{"suggestedWindow": map[string]time.Time{"start": start, "end": end}})
	body, _ := json.Marshal(map[string]string{
		"Certificate": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})), "ARIResponse": string(ari)})
	resp, err := ca.client.Post(ca.mgmt+"/set-renewal-info/", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("set-renewal-info: %s", resp.Status)
	}
}

// storedRenewalInfo reads the ARI window kept in a certificate's metadata.
func storedRenewalInfo(t *testing.T, w *world, issuerKey, name string) (start, end, selected time.Time) {
	t.Helper()
	b, err := w.kv.Get(context.Background(), certmagic.StorageKeys.SiteMeta(issuerKey, name))
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		IssuerData struct {
			RenewalInfo *struct {
				SuggestedWindow struct{ Start, End time.Time } `json:"suggestedWindow"`
				SelectedTime    time.Time                      `json:"_selectedTime"`
			} `json:"renewal_info"`
		} `json:"issuer_data"`
	}
	if err := json.Unmarshal(b, &meta); err != nil || meta.IssuerData.RenewalInfo == nil {
		t.Fatalf("no renewal_info in %s's metadata (%v): %s", name, err, b)
	}
	ri := meta.IssuerData.RenewalInfo
	return ri.SuggestedWindow.Start, ri.SuggestedWindow.End, ri.SelectedTime
}

// An own-domain certificate from a real ACME CA with ARI (Pebble): the
// renewal sweep fetches the CA's suggested window, stores it where
// certmagic reads it, and renews by it — not before the window although
// the ratio fallback alone would already renew, and at once when the CA
// moves the window into the past (as after a mass revocation). Each
// renewal is an order inside the instance's order budget, which pauses
// the sweep until the clock moves 3 hours on.
func TestIssue20RenewalFollowsTheCAsRenewalWindow(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	zone := zonetest.Start(t, "test", "k", "c2VjcmV0", dns.HmacSHA256, "127.0.0.1")
	httpLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpPort := httpLn.Addr().(*net.TCPAddr).Port
	ca := startTestCA(t, httpPort, zone.Addr)

	var clock time.Time // zero: the wall clock (the first order)
	now := func() time.Time {
		if clock.IsZero() {
			return time.Now()
		}
		return clock
	}
	m, err := certs.New(certs.Options{Mode: certs.ACME, CA: ca.dir, CARoots: ca.trust, HTTP01: true,
		ListenHost: "127.0.0.1", HTTPPort: httpPort, Storage: certs.NewStorage(w.kv),
		Decider: certs.NewDecider(tenant.NewHostCache(w.store, time.Minute, 100)), Log: quiet(),
		RenewalWindowRatio: 0.5, OrderLimit: 1, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	httpSrv := &http.Server{Handler: m.HTTPHandler()}
	go httpSrv.Serve(httpLn)
	t.Cleanup(func() { httpSrv.Close() })
	addr := serveTLS(t, m.TLSConfig())

	first, err := handshake(addr, "a.test", nil)
	if err != nil {
		t.Fatalf("a.test: %v", err)
	}
	if ca.orders() != 1 {
		t.Fatalf("%d orders, want 1", ca.orders())
	}
	key := issuerKeyOf(t, w, "a.test")

	// 55% into the lifetime: the fallback (the last half, spread over a
	// sixth more) says renew; the CA's window (Pebble: a third before
	// expiry, give or take a day) says not yet, and wins.
	lifetime := first.NotAfter.Sub(first.NotBefore)
	clock = first.NotBefore.Add(lifetime * 55 / 100)
	n, err := m.RenewDue(ctx)
	if err != nil || n != 0 {
		t.Fatalf("RenewDue before the CA's window = %d, %v; want 0", n, err)
	}
	if s := m.Stats(); s.ARIFetched != 1 || s.ARIFailed != 0 {
		t.Fatalf("ARI fetches: %+v", s)
	}
	start, end, selected := storedRenewalInfo(t, w, key, "a.test")
	ideal := first.NotAfter.Add(-lifetime / 3)
	if start.After(ideal) || end.Before(ideal) || end.Sub(start) > 49*time.Hour || selected.Before(start) || selected.After(end) {
		t.Fatalf("stored window %v..%v (selected %v), want Pebble's around %v", start, end, selected, ideal)
	}
	if ca.orders() != 1 {
		t.Fatal("the sweep ordered before the CA's window")
	}

	// The CA moves the window into the past: the next sweep (after the
	// CA's Retry-After) fetches it and renews at once.
	ca.setRenewalInfo(t, first, clock.Add(-2*time.Hour), clock.Add(-time.Hour))
	clock = clock.Add(7 * time.Hour)
	n, err = m.RenewDue(ctx)
	if err != nil || n != 1 {
		t.Fatalf("RenewDue after the CA moved the window = %d, %v; want 1", n, err)
	}
	if ca.orders() != 2 {
		t.Fatalf("%d orders, want 2", ca.orders())
	}
	crt, err := w.kv.Get(ctx, certmagic.StorageKeys.SiteCert(key, "a.test"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(crt)
	renewed, _ := x509.ParseCertificate(block.Bytes)
	if renewed.SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Fatal("the stored certificate was not replaced")
	}

	// The CA asks for the new certificate's renewal at once too, but the
	// order budget (1 per 3 hours here) is spent: the sweep pauses
	// without an order, and renews once the clock has moved 3 hours on.
	// (Checked through the sweep, not a handshake: a refused on-demand
	// order is retried by certmagic in the background.)
	ca.setRenewalInfo(t, renewed, clock.Add(-2*time.Hour), clock.Add(-time.Hour))
	n, err = m.RenewDue(ctx)
	if err != nil || n != 0 {
		t.Fatalf("RenewDue over the order budget = %d, %v; want 0", n, err)
	}
	if s := m.Stats(); s.BudgetLimited != 1 || ca.orders() != 2 {
		t.Fatalf("over budget: %+v, %d orders", s, ca.orders())
	}
	clock = clock.Add(certs.OrderWindow)
	if n, err = m.RenewDue(ctx); err != nil || n != 1 || ca.orders() != 3 {
		t.Fatalf("RenewDue 3 hours later = %d, %v, %d orders; want 1 renewal, 3 orders", n, err, ca.orders())
	}
}

// issuerKeyOf finds the storage issuer key a name's certificate is under.
func issuerKeyOf(t *testing.T, w *world, name string) string {
	t.Helper()
	entries, err := w.kv.List(context.Background(), "certificates")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		parts := strings.Split(e.Key, "/")
		if len(parts) == 4 && parts[2] == name && strings.HasSuffix(e.Key, ".crt") {
			return parts[1]
		}
	}
	t.Fatalf("no stored certificate for %s", name)
	return ""
}
