package interop

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// needNamespaces skips the test, saying why, where it cannot run: it binds
// port 443 on loopback addresses and gives GoToSocial a private mount
// namespace whose /etc/hosts names the test hosts (nothing of the machine's
// own name resolution changes). CI runs as root, where it runs.
func needNamespaces(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipped: needs root, to bind port 443 on 127.0.0.x and to give GoToSocial a private mount namespace with its own /etc/hosts (CI runs the README's test command as root)")
	}
	if out, err := exec.Command("unshare", "--mount", "--propagation", "private", "--", "true").CombinedOutput(); err != nil {
		t.Skipf("skipped: cannot create a private mount namespace (unshare --mount: %v %s); the GoToSocial peer resolves the test hosts through its own /etc/hosts there", err, out)
	}
}

// loopbackPair picks two 127.x.y.z addresses whose ports 443 and 80 are
// free (other tests use 127.0.0.x): each server of the test has the
// standard HTTPS port on an address of its own, as on the internet.
func loopbackPair(t *testing.T) (string, string) {
	t.Helper()
	start := os.Getpid() % 200
	for i := range 200 {
		third := 20 + (start+i)%200
		a, b := fmt.Sprintf("127.16.%d.2", third), fmt.Sprintf("127.16.%d.3", third)
		if portsFree(a, b) {
			return a, b
		}
	}
	t.Fatal("no free loopback address pair with ports 443 and 80 in 127.16.0.0/16")
	return "", ""
}

func portsFree(ips ...string) bool {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for _, ip := range ips {
		for _, port := range []string{"443", "80"} {
			l, err := net.Listen("tcp", ip+":"+port)
			if err != nil {
				return false
			}
			ls = append(ls, l)
		}
	}
	return true
}

// testCA is a certificate authority made for one test run.
type testCA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	pemFile string
}

func newCA(t *testing.T, dir string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Roost interop test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &testCA{cert: cert, key: key, pemFile: filepath.Join(dir, "ca.pem")}
	writePEM(t, ca.pemFile, "CERTIFICATE", der)
	return ca
}

// leaf issues a server certificate for host and returns its chain and key
// files.
func (ca *testCA) leaf(t *testing.T, dir, host string) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, host+".pem"), filepath.Join(dir, host+".key")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", kder)
	return certFile, keyFile
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
}

// hostsFile writes an /etc/hosts for the test hosts.
func hostsFile(t *testing.T, dir string, hosts map[string]string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("127.0.0.1 localhost\n::1 localhost\n")
	for name, ip := range hosts {
		fmt.Fprintf(&b, "%s %s\n", ip, name)
	}
	p := filepath.Join(dir, "hosts")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// webClient is how the test reaches both servers: each host name is
// dialled at its loopback address (on the URL's port, or the ip:port
// given), certificates are checked
// against roots, and redirects are returned, not followed (the OAuth pages
// are walked by hand).
func webClient(hosts map[string]string, roots *x509.CertPool) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				host, port, _ := net.SplitHostPort(addr)
				if to, ok := hosts[host]; ok {
					addr = net.JoinHostPort(to, port)
					if _, _, err := net.SplitHostPort(to); err == nil {
						addr = to // an ip:port of its own
					}
				}
				return d.DialContext(ctx, network, addr)
			},
			TLSClientConfig:     &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
			ForceAttemptHTTP2:   true,
			TLSHandshakeTimeout: 10 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// eventually polls cond until it holds or a generous deadline passes (a
// liveness bound for asynchronous federation, not a timing assertion); on
// failure it reports cond's last explanation.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(stepWait)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %s", what, stepWait, why)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// stepWait bounds how long one step waits for the other server.
const stepWait = 25 * time.Second
