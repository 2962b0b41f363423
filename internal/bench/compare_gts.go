package bench

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
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
	"time"

	"github.com/roost-social/roost/internal/devenv"
)

// gtsPassword satisfies GoToSocial's password strength rule.
const gtsPassword = "Compare bench password 16!"

// compareUA is the load's User-Agent: GoToSocial answers 418 without one.
const compareUA = "roost-bench-compare/1"

// gtsHost and roostHost are the two servers' domains; senderHost is the
// remote actor that signs the ActivityPub GETs GoToSocial requires.
const (
	gtsHost    = "gts.test"
	roostHost  = "roost.test"
	senderHost = "sender.test"
)

// gtsProc is a running GoToSocial.
type gtsProc struct {
	addr   string // host:port it listens on (plain HTTP)
	bin    string
	config string
	env    []string
	cmd    *exec.Cmd
	log    *os.File
	dir    string
	done   chan struct{}
}

// startGoToSocial unpacks the kept GoToSocial build (as the interop test
// does: ../shared/tools/gotosocial or $ROOST_GOTOSOCIAL_DIST) and runs it
// over plain HTTP on a loopback port, with SQLite in a temporary
// directory. hostsFile, when not empty, becomes its /etc/hosts in a private
// mount namespace (root only), so it can reach the signing sender.
func startGoToSocial(progress io.Writer, logLevel, hostsFile string) (*gtsProc, error) {
	src, err := devenv.GoToSocialSource()
	if err != nil {
		return nil, fmt.Errorf("GoToSocial for bench compare: %w", err)
	}
	dist, err := devenv.GoToSocial(devenv.Options{Install: true, Logf: func(f string, a ...any) { fmt.Fprintf(progress, f+"\n", a...) }}, src)
	if err != nil {
		return nil, fmt.Errorf("GoToSocial for bench compare (the static build kept in %s, or set %s): %w", src, devenv.GoToSocialSourceEnv, err)
	}
	addr, err := freeAddr("127.0.0.1")
	if err != nil {
		return nil, err
	}
	host, port, _ := net.SplitHostPort(addr)
	dir, err := os.MkdirTemp("", "roost-compare-gts-")
	if err != nil {
		return nil, err
	}
	g := &gtsProc{addr: addr, bin: filepath.Join(dist, "gotosocial"), config: filepath.Join(dir, "config.yaml"), dir: dir, done: make(chan struct{})}
	cfg := fmt.Sprintf(`host: %q
protocol: "http"
bind-address: %q
port: %s
db-type: "sqlite"
db-address: %q
storage-local-base-path: %q
web-template-base-dir: %q
web-asset-base-dir: %q
letsencrypt-enabled: false
log-level: %q
advanced-rate-limit-requests: 0
advanced-throttling-multiplier: 0
http-client:
  allow-ips: ["127.0.0.0/8"]
  tls-insecure-skip-verify: true
`, gtsHost, host, port, filepath.Join(dir, "sqlite.db"), filepath.Join(dir, "storage"),
		filepath.Join(dist, "web", "template")+"/", filepath.Join(dist, "web", "assets")+"/", logLevel)
	if err := os.WriteFile(g.config, []byte(cfg), 0o644); err != nil {
		g.stop()
		return nil, err
	}
	// Compiled WebAssembly is cached beside the build, as the interop
	// test caches it: later starts take a second.
	g.env = append(os.Environ(), "GTS_WAZERO_COMPILATION_CACHE="+dist+"-wazero-cache")
	if hostsFile != "" {
		g.cmd = exec.Command("unshare", "--mount", "--propagation", "private", "--",
			"/bin/sh", "-c", `mount --bind "$0" /etc/hosts && exec "$@"`, hostsFile,
			g.bin, "--config-path", g.config, "server", "start")
	} else {
		g.cmd = exec.Command(g.bin, "--config-path", g.config, "server", "start")
	}
	g.cmd.Env = g.env
	if g.log, err = os.Create(filepath.Join(dir, "gotosocial.log")); err != nil {
		g.stop()
		return nil, err
	}
	g.cmd.Stdout, g.cmd.Stderr = g.log, g.log
	if err := g.cmd.Start(); err != nil {
		g.stop()
		return nil, fmt.Errorf("start GoToSocial: %w", err)
	}
	go func() { _ = g.cmd.Wait(); close(g.done) }() // its exit is read from done
	return g, nil
}

// ready waits for GET /api/v1/instance to answer 200.
func (g *gtsProc) ready(c *http.Client) error {
	deadline := time.Now().Add(90 * time.Second)
	for {
		req, _ := http.NewRequest("GET", "http://"+gtsHost+"/api/v1/instance", nil)
		req.Header.Set("User-Agent", compareUA)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		select {
		case <-g.done:
			return fmt.Errorf("GoToSocial exited before answering:\n%s", g.tail())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("GoToSocial never answered /api/v1/instance (last: %v):\n%s", err, g.tail())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// createAccounts makes confirmed accounts with GoToSocial's admin command
// line (version 0.20 refuses before the server has started once), in
// parallel: each command takes seconds.
func (g *gtsProc) createAccounts(usernames ...string) error {
	var wg sync.WaitGroup
	errc := make(chan error, len(usernames))
	for _, u := range usernames {
		wg.Add(1)
		go func() {
			defer wg.Done()
			base := []string{"--config-path", g.config, "admin", "account"}
			for _, args := range [][]string{
				{"create", "--username", u, "--email", u + "@" + gtsHost, "--password", gtsPassword},
				{"confirm", "--username", u},
			} {
				cmd := exec.Command(g.bin, append(base, args...)...)
				cmd.Env = g.env
				if out, err := cmd.CombinedOutput(); err != nil {
					errc <- fmt.Errorf("gotosocial admin account %s %s: %v\n%s", args[0], u, err, lastLines(string(out), 20))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	return <-errc
}

// tail is the end of GoToSocial's log.
func (g *gtsProc) tail() string {
	b, _ := os.ReadFile(g.log.Name()) // for an error message only
	return lastLines(string(b), 40)
}

// stop ends GoToSocial (SIGTERM, then SIGKILL after 10 s) and removes its
// directory.
func (g *gtsProc) stop() {
	if g.cmd != nil && g.cmd.Process != nil {
		_ = g.cmd.Process.Signal(syscall.SIGTERM) // already gone: nothing to stop
		select {
		case <-g.done:
		case <-time.After(10 * time.Second):
			_ = g.cmd.Process.Kill() // did not stop in time
			<-g.done
		}
	}
	if g.log != nil {
		g.log.Close()
	}
	os.RemoveAll(g.dir)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(len(lines)-n, 0):], "\n")
}

// freeAddr is a free TCP port on ip.
func freeAddr(ip string) (string, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	l.Close()
	return addr, nil
}

// sender is the remote actor whose key signs the ActivityPub GETs of the
// load (GoToSocial refuses unsigned ones): an HTTPS server on port 443 of
// a loopback address of its own, serving the actor and its WebFinger
// answer, which GoToSocial fetches once and then keeps.
type sender struct {
	ip  string
	srv *http.Server
}

// startSender serves the sender's actor with the public key pubPEM on
// 127.18.x.y:443 (root only: a port below 1024), with a self-signed
// certificate GoToSocial accepts (tls-insecure-skip-verify).
func startSender(pubPEM string) (*sender, error) {
	var ln net.Listener
	var ip string
	for i := range 64 {
		ip = fmt.Sprintf("127.18.%d.%d", (os.Getpid()+i)%250+1, i%250+1)
		l, err := net.Listen("tcp", ip+":443")
		if err == nil {
			ln = l
			break
		}
	}
	if ln == nil {
		return nil, fmt.Errorf("no free port 443 on 127.18.x.y for the signing sender")
	}
	cert, err := selfSigned(senderHost)
	if err != nil {
		ln.Close()
		return nil, err
	}
	actor := "https://" + senderHost + "/users/bench"
	doc, _ := json.Marshal(map[string]any{
		"@context": []string{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"},
		"id":       actor, "type": "Person", "preferredUsername": "bench", "name": "Bench sender",
		"inbox": actor + "/inbox", "outbox": actor + "/outbox", "followers": actor + "/followers", "following": actor + "/following",
		"publicKey": map[string]string{"id": actor + "#main-key", "owner": actor, "publicKeyPem": pubPEM},
	})
	jrd, _ := json.Marshal(map[string]any{
		"subject": "acct:bench@" + senderHost,
		"links":   []map[string]string{{"rel": "self", "type": "application/activity+json", "href": actor}},
	})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/bench", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/activity+json")
		_, _ = w.Write(doc) // a peer that hung up gets nothing
	})
	mux.HandleFunc("GET /.well-known/webfinger", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/jrd+json")
		_, _ = w.Write(jrd) // as above
	})
	s := &sender{ip: ip, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}}}}
	go func() { _ = s.srv.ServeTLS(ln, "", "") }() // ends with Close
	return s, nil
}

func (s *sender) close() { _ = s.srv.Close() } // loopback test server: nothing outlives the run

// selfSigned is a certificate for host (ECDSA P-256, a day).
func selfSigned(host string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: host},
		DNSNames: []string{host}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
