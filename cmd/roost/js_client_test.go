package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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
// by node: app registration, OAuth sign-in (the consent page filled in
// from Go), credentials, posting, replies, paged home timeline,
// notifications, favourites, and search and streaming where the server
// has them.
func TestJSClientMegalodon(t *testing.T) {
	t.Parallel()
	nodeBin := jsTool(t, "node")
	npmBin := jsTool(t, "npm")
	modules := megalodonModules(t, npmBin)
	script, err := filepath.Abs(filepath.Join("testdata", "megalodon_client.mjs"))
	if err != nil {
		t.Fatal(err)
	}

	_, addr := jsNode(t)
	_, port, _ := net.SplitHostPort(addr)
	base := "http://a.test:" + port
	ctx := context.Background()

	// bob follows alice first, so alice has a notification to read.
	bob := signIn(t, addr, base, "bob@a.test", "read write follow")
	alice, err := bob.AccountLookup(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.AccountFollow(ctx, alice.ID); err != nil {
		t.Fatal(err)
	}

	env := []string{"MEGALODON_DIR=" + modules, "ROOST_BASE=" + base}
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
	code := authorize(t, hostClient(addr), app.URL, "alice@a.test")

	streaming := "1"
	hc := hostClient(addr)
	if resp, err := hc.Get(base + "/api/v1/streaming/health"); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
		if resp.StatusCode == 404 {
			t.Log("the streaming API is not available yet (/api/v1/streaming/health answers 404): the script skips its streaming part")
			streaming = "0"
		}
	}
	last := runJS("run", "CLIENT_ID="+app.ClientID, "CLIENT_SECRET="+app.ClientSecret, "CODE="+code,
		"FOLLOWER=bob", "STREAMING="+streaming)
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

// jsNode is apiNode with issued URLs carrying the node's port, as a
// client that connects to a.test:PORT expects (Link headers, streaming).
func jsNode(t *testing.T) (*node, string) {
	t.Helper()
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	n := startNode(t, "js", addr, "")
	n.env = append(n.env, "ROOST_PUBLIC_PORT="+port)
	n.run(t, "tenant", "create", "--name", "A", "--domain", "a.test")
	for _, u := range []string{"alice", "bob"} {
		n.run(t, "account", "create", "--domain", "a.test", "--username", u, "--email", u+"@a.test", "--password", testPassword)
	}
	n.start(t, "serve")
	n.start(t, "work")
	waitHTTP(t, "http://"+addr+"/users/alice", fmt.Sprintf("a.test:%s", port), 200)
	return n, addr
}
