package testenv

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
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

	"github.com/roost-social/roost/internal/devenv"
)

// Pebble is a real ACME CA (letsencrypt/pebble, with ACME Renewal
// Information) on loopback, started for one test by StartPebble.
type Pebble struct {
	// Dir is the ACME directory URL, Mgmt the management API's base URL.
	Dir, Mgmt string
	// CAPEM is a file holding the root of Pebble's own HTTPS certificate
	// (what ROOST_ACME_CA_ROOT names); Trust is that root as a pool.
	CAPEM string
	Trust *x509.CertPool
	// Client trusts Pebble's HTTPS certificate.
	Client *http.Client
	log    *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// StartPebble builds Pebble once per machine (devenv.Pebble caches it)
// and runs it until the test ends, validating HTTP-01 on httpPort and
// TLS-ALPN-01 on tlsPort at the addresses the DNS server dnsAddr gives
// (and DNS-01 records there). Its log is printed if the test fails.
func StartPebble(t testing.TB, httpPort, tlsPort int, dnsAddr string) *Pebble {
	t.Helper()
	bin, err := devenv.Pebble(devenv.Options{Install: true, Logf: t.Logf})
	if err != nil {
		t.Fatalf("pebble: %v", err)
	}
	dir := t.TempDir()
	caDER, leafDER, leafKeyDER := pebbleServerCert(t)
	p := &Pebble{CAPEM: filepath.Join(dir, "ca.pem"), Trust: x509.NewCertPool(), log: &lockedBuffer{}}
	caCert, _ := x509.ParseCertificate(caDER)
	p.Trust.AddCert(caCert)
	p.Client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.Trust}}, Timeout: 10 * time.Second}
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))
	write("cert.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}))
	write("key.pem", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: leafKeyDER}))
	listen, mgmt := freeLoopback(t), freeLoopback(t)
	cfg, _ := json.Marshal(map[string]any{"pebble": map[string]any{
		"listenAddress": listen, "managementListenAddress": mgmt,
		"certificate": filepath.Join(dir, "cert.pem"), "privateKey": filepath.Join(dir, "key.pem"),
		"httpPort": httpPort, "tlsPort": tlsPort, "ocspResponderURL": "", "externalAccountBindingRequired": false,
		"keyAlgorithm": "ecdsa", "retryAfter": map[string]int{"authz": 1, "order": 1},
	}})
	write("pebble.json", cfg)
	cmd := exec.Command(bin, "-config", filepath.Join(dir, "pebble.json"), "-dnsserver", dnsAddr)
	cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0")
	cmd.Stdout, cmd.Stderr = p.log, p.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait() // killed: its exit status says nothing
		if t.Failed() {
			t.Logf("pebble log:\n%s", p.log.String())
		}
	})
	p.Dir, p.Mgmt = "https://"+listen+"/dir", "https://"+mgmt
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.DialTimeout("tcp", listen, time.Second); err == nil {
			c.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatal("pebble never listened")
		}
	}
}

// pebbleServerCert makes Pebble's own HTTPS certificate (for localhost
// and 127.0.0.1) under a CA made for this start.
func pebbleServerCert(t testing.TB) (caDER, leafDER, leafKeyDER []byte) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "roost test pebble CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafDER, err = x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	leafKeyDER, _ = x509.MarshalECPrivateKey(leafKey)
	return caDER, leafDER, leafKeyDER
}

func freeLoopback(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Orders counts the orders Pebble has created.
func (p *Pebble) Orders() int { return strings.Count(p.log.String(), "Added order") }

// Log is Pebble's output so far.
func (p *Pebble) Log() string { return p.log.String() }

// IssuingRoots fetches the root Pebble issues under (new at every start).
func (p *Pebble) IssuingRoots(t testing.TB) *x509.CertPool {
	t.Helper()
	resp, err := p.Client.Get(p.Mgmt + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("no root from pebble: %s", b)
	}
	return pool
}

// SetRenewalInfo makes Pebble answer ACME Renewal Information for cert
// with the window start..end.
func (p *Pebble) SetRenewalInfo(t testing.TB, cert *x509.Certificate, start, end time.Time) {
	t.Helper()
	ari, _ := json.Marshal(map[string]any{"suggestedWindow": map[string]time.Time{"start": start, "end": end}})
	body, _ := json.Marshal(map[string]string{
		"Certificate": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})), "ARIResponse": string(ari)})
	resp, err := p.Client.Post(p.Mgmt+"/set-renewal-info/", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("set-renewal-info: %s", resp.Status)
	}
}
