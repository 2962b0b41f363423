package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// megalodonVersion is the JavaScript Mastodon client (npm) the JS client
// test drives; it is installed once per machine into the user's cache.
const megalodonVersion = "10.0.0"

// The client API, driven by a JavaScript client from npm (megalodon) run
// by node over HTTPS on a tenant domain (node trusts the instance's local
// CA through NODE_EXTRA_CA_CERTS; the script maps *.test to 127.0.0.1):
// app registration, OAuth sign-in (the consent page filled in from Go),
// credentials, posting, replies, paged home timeline, notifications,
// favourites, search, and the user stream over WebSocket (wss) hearing an
// update and a notification.
func TestJSClientMegalodon(t *testing.T) {
	t.Parallel()
	nodeBin := jsTool(t, "node")
	npmBin := jsTool(t, "npm")
	modules := megalodonModules(t, npmBin)
	script, err := filepath.Abs(filepath.Join("testdata", "megalodon_client.mjs"))
	if err != nil {
		t.Fatal(err)
	}

	_, addr, ca := tlsAPINode(t)
	_, port, _ := net.SplitHostPort(addr)
	base := "https://a.test:" + port
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca, 0o600); err != nil {
		t.Fatal(err)
	}
	hc := tlsHostClient(addr, ca)
	ctx := context.Background()

	// bob follows alice first, so alice has a notification to read.
	bob := signInWith(t, hc, base, "bob@a.test", "read write follow")
	alice, err := bob.AccountLookup(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.AccountFollow(ctx, alice.ID); err != nil {
		t.Fatal(err)
	}

	env := []string{"MEGALODON_DIR=" + modules, "ROOST_BASE=" + base, "NODE_EXTRA_CA_CERTS=" + caFile}
	runJS := func(phase string, extra ...string) string {
		t.Helper()
		cctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(cctx, nodeBin, script, phase)
		cmd.Env = append(append(os.Environ(), env...), extra...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		t.Logf("node %s:\n%s%s", phase, out.String(), errb.String())
		if err != nil {
			t.Fatalf("node megalodon_client.mjs %s: %v", phase, err)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		return lines[len(lines)-1]
	}

	var app struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		URL          string `json:"url"`
	}
	if err := json.Unmarshal([]byte(runJS("register")), &app); err != nil || app.URL == "" {
		t.Fatalf("register: %v %+v", err, app)
	}
	code := authorize(t, hc, app.URL, "alice@a.test")
	if !strings.HasPrefix(app.URL, base+"/") {
		t.Fatalf("the authorization URL %q is not on the tenant's HTTPS origin", app.URL)
	}

	// bob's token lets the script act as bob while alice's stream is open.
	last := runJS("run", "CLIENT_ID="+app.ClientID, "CLIENT_SECRET="+app.ClientSecret, "CODE="+code,
		"FOLLOWER=bob", "FOLLOWER_TOKEN="+bob.Config.AccessToken)
	var done struct {
		Done bool `json:"done"`
	}
	if err := json.Unmarshal([]byte(last), &done); err != nil || !done.Done {
		t.Fatalf("the script did not finish: %q", last)
	}

	// What megalodon did is what a Go client sees.
	notes, err := bob.GetNotifications(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mentioned bool
	for _, n := range notes {
		mentioned = mentioned || n.Type == "mention" && n.Status != nil && strings.Contains(n.Status.Content, "from megalodon")
	}
	if !mentioned {
		t.Fatalf("bob was not notified of the mention megalodon posted: %+v", notes)
	}
}

// jsTool finds node or npm, failing (not skipping) with what to install:
// the README's test command installs both when it may.
func jsTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed; the JavaScript client test needs Node.js 18 or newer and npm: "+
			"apt-get install nodejs npm (`go run ./cmd/roost test` installs them when it runs as root)", name)
	}
	return p
}

// megalodonModules installs megalodon once per machine into the user's
// cache directory (outside the repository), keyed by version, and returns
// that directory. An install that fails fails the test.
func megalodonModules(t *testing.T, npm string) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatalf("no cache directory for npm packages: %v", err)
	}
	dir := filepath.Join(cache, "roost", "npm-megalodon-"+megalodonVersion)
	installed := func(d string) bool {
		b, err := os.ReadFile(filepath.Join(d, "node_modules", "megalodon", "package.json"))
		var pkg struct{ Version string }
		return err == nil && json.Unmarshal(b, &pkg) == nil && pkg.Version == megalodonVersion
	}
	if installed(dir) {
		return dir
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".npm-megalodon-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	os.Chmod(tmp, 0o755)
	if err := os.WriteFile(filepath.Join(tmp, "package.json"), []byte(`{"private": true}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--loglevel=error",
		"--prefix", tmp, "megalodon@"+megalodonVersion)
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil || !installed(tmp) {
		t.Fatalf("npm install megalodon@%s failed: %v\n%s", megalodonVersion, err, out)
	}
	// Atomic: a concurrent run may have installed it first, which is as good.
	if err := os.Rename(tmp, dir); err != nil && !installed(dir) {
		t.Fatalf("install megalodon into %s: %v", dir, err)
	}
	t.Logf("installed megalodon@%s into %s", megalodonVersion, dir)
	return dir
}
