package interop

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/roost-social/roost/internal/devenv"
)

// gtsPassword satisfies GoToSocial's password strength rule.
const gtsPassword = "Interop test password 16!"

// gotosocial is a running GoToSocial server.
type gotosocial struct {
	host, ip string
	bin      string
	config   string
	env      []string
	proc     *proc
}

// startGoToSocial runs the kept GoToSocial build (unpacked once per
// machine into the tool cache) as host on ip:443, over HTTPS with a
// certificate from ca, in a private mount namespace whose /etc/hosts is
// hosts: GoToSocial uses the system resolver for its peers.
func startGoToSocial(t *testing.T, host, ip string, ca *testCA, hosts string) *gotosocial {
	t.Helper()
	src, err := devenv.GoToSocialSource()
	if err != nil {
		t.Fatal(err)
	}
	dist, err := devenv.GoToSocial(devenv.Options{Install: true, Logf: t.Logf}, src)
	if err != nil {
		t.Fatalf("GoToSocial: %v", err)
	}
	dir := t.TempDir()
	certFile, keyFile := ca.leaf(t, dir, host)
	g := &gotosocial{host: host, ip: ip, bin: filepath.Join(dist, "gotosocial"), config: filepath.Join(dir, "config.yaml")}
	cfg := fmt.Sprintf(`host: %q
protocol: "https"
bind-address: %q
port: 443
tls-certificate-chain: %q
tls-certificate-key: %q
db-type: "sqlite"
db-address: %q
storage-local-base-path: %q
web-template-base-dir: %q
web-asset-base-dir: %q
letsencrypt-enabled: false
log-level: "info"
advanced-rate-limit-requests: 0
advanced-throttling-multiplier: 0
http-client:
  allow-ips: ["127.0.0.0/8"]
  tls-insecure-skip-verify: true
`, host, ip, certFile, keyFile, filepath.Join(dir, "sqlite.db"), filepath.Join(dir, "storage"),
		filepath.Join(dist, "web", "template")+"/", filepath.Join(dist, "web", "assets")+"/")
	if err := os.WriteFile(g.config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	// Compiled WebAssembly (its SQLite and media tools) is cached beside
	// the build: later starts take a second instead of ten.
	g.env = append(os.Environ(), "GTS_WAZERO_COMPILATION_CACHE="+dist+"-wazero-cache")
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "--",
		"/bin/sh", "-c", `mount --bind "$0" /etc/hosts && exec "$@"`, hosts,
		g.bin, "--config-path", g.config, "server", "start")
	cmd.Env = g.env
	g.proc = startProc(t, "gotosocial", cmd)
	return g
}

// waitReady waits for the instance endpoint through c. It returns an
// error rather than failing the test, so it may run in a goroutine.
func (g *gotosocial) waitReady(c *http.Client) error {
	deadline := time.Now().Add(90 * time.Second)
	for {
		req, _ := http.NewRequest("GET", "https://"+g.host+"/api/v1/instance", nil)
		req.Header.Set("User-Agent", userAgent)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		if g.proc.exited() || time.Now().After(deadline) {
			return fmt.Errorf("GoToSocial never answered /api/v1/instance (last: %v)\n%s", err, tail(g.proc.log(), 60))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// prepare waits for the server, then makes the accounts (in parallel: each
// admin command takes seconds). Errors are reported with t.Error, so it
// may run beside the rest of the setup.
func (g *gotosocial) prepare(t *testing.T, c *http.Client, usernames ...string) {
	if err := g.waitReady(c); err != nil {
		t.Error(err)
		return
	}
	var wg sync.WaitGroup
	for _, u := range usernames {
		wg.Add(1)
		go func() { defer wg.Done(); g.createAccount(t, u) }()
	}
	wg.Wait()
}

// createAccount makes a confirmed account with its admin command line.
// Version 0.20 refuses until the server has started once (it creates its
// instance application then), so this runs after waitReady; with SQLite it
// works beside the running server.
// Safe for concurrent use (t.Error, not t.Fatal, from other goroutines).
func (g *gotosocial) createAccount(t *testing.T, username string) {
	base := []string{"--config-path", g.config, "admin", "account"}
	for _, args := range [][]string{
		{"create", "--username", username, "--email", username + "@" + g.host, "--password", gtsPassword},
		{"confirm", "--username", username},
	} {
		cmd := exec.Command(g.bin, append(base, args...)...)
		cmd.Env = g.env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("gotosocial admin account %s: %v\n%s", args[0], err, tail(string(out), 20))
			return
		}
	}
}
