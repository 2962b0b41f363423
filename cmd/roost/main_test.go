package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
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

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/migrations"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

func TestMain(m *testing.M) { testenv.Main(m) }

// roostBin builds the binary once per test run.
func roostBin(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := testenv.TempDir("roost-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "roost")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// roost runs the binary to completion with env (on top of a clean ROOST_*
// environment) and returns its exit code, stdout and stderr.
func roost(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(roostBin(t), args...)
	cmd.Env = append(cleanEnv(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ROOST_") {
			env = append(env, kv)
		}
	}
	return env
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitHTTP polls until a GET with host succeeds with want, or fails the
// test after a generous deadline (a liveness bound, not a timing check).
func waitHTTP(t *testing.T, url, host string, want int) []byte {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		req, _ := http.NewRequest("GET", url, nil)
		req.Host = host
		req.Header.Set("Accept", "application/activity+json")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == want {
				return b
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s (Host %s) never answered %d (last error %v)", url, host, want, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestInvalidConfigNamesTheVariable(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ env, name string }{
		{"ROOST_HTTP_ADDR=nonsense", "ROOST_HTTP_ADDR"},
		{"ROOST_DATABASE_URL=mysql://x", "ROOST_DATABASE_URL"},
		{"ROOST_URL_SCHEME=ftp", "ROOST_URL_SCHEME"},
		{"ROOST_TRUSTED_PROXIES=10.0.0.0/8,bogus", "ROOST_TRUSTED_PROXIES"},
		{"ROOST_DOMAIN_CACHE_TTL=-5s", "ROOST_DOMAIN_CACHE_TTL"},
	} {
		code, _, stderr := roost(t, []string{c.env}, "serve")
		if code != 2 || !strings.Contains(stderr, c.name) {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 naming %s", c.env, code, stderr, c.name)
		}
	}
	code, _, stderr := roost(t, nil, "serve")
	if code == 0 || !strings.Contains(stderr, "ROOST_DATABASE_URL") {
		t.Errorf("serve without a database: exit %d, stderr %q", code, stderr)
	}
}

// Several pods may run migrate at once: all succeed, the schema is applied
// once.
func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	env := []string{"ROOST_DATABASE_URL=" + testenv.EmptyDatabaseURL(t)}
	var wg sync.WaitGroup
	codes := make([]int, 4)
	stderrs := make([]string, 4)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _, stderrs[i] = roost(t, env, "migrate")
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != 0 {
			t.Fatalf("migrate %d: exit %d: %s", i, c, stderrs[i])
		}
	}
	conn, err := pgx.Connect(context.Background(), strings.TrimPrefix(env[0], "ROOST_DATABASE_URL="))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var v int32
	if err := conn.QueryRow(context.Background(), "select version from roost_schema_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if latest, _ := migrations.Latest(); v != latest {
		t.Fatalf("schema version %d, want %d", v, latest)
	}
}

// The administration commands, and a running web node that sees a domain
// created by another process at once (Redis invalidation, not TTL).
func TestCLIAndServe(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	env := []string{
		"ROOST_DATABASE_URL=" + testenv.DatabaseURL(t),
		"ROOST_REDIS_URL=" + testenv.RedisURL(),
		fmt.Sprintf("ROOST_REDIS_PREFIX=test:%d:cli:", os.Getpid()),
		"ROOST_HTTP_ADDR=" + addr,
		"ROOST_DOMAIN_CACHE_TTL=1h",
	}
	code, out, stderr := roost(t, env, "tenant", "create", "--name", "Alice's", "--domain", "Alice.Example.")
	if code != 0 || strings.TrimSpace(out) == "" {
		t.Fatalf("tenant create: %d %q %q", code, out, stderr)
	}
	code, _, stderr = roost(t, env, "tenant", "create", "--name", "Thief", "--domain", "alice.example")
	if code == 0 || !strings.Contains(stderr, "already in use") {
		t.Fatalf("duplicate domain: exit %d, %q", code, stderr)
	}
	code, out, stderr = roost(t, env, "account", "create", "--domain", "alice.example", "--username", "alice",
		"--email", "alice@alice.example", "--password", "long enough password")
	if code != 0 || !strings.Contains(out, "@alice@alice.example") {
		t.Fatalf("account create: %d %q %q", code, out, stderr)
	}
	for _, bad := range [][]string{
		{"--domain", "alice.example", "--username", "bad name", "--email", "x@alice.example", "--password", "long enough password"},
		{"--domain", "nowhere.example", "--username", "bob", "--email", "x@alice.example", "--password", "long enough password"},
		{"--domain", "alice.example", "--username", "bob", "--email", "not-an-email", "--password", "long enough password"},
		{"--domain", "alice.example", "--username", "bob", "--email", "bob@alice.example", "--password", "short"},
		{"--domain", "alice.example", "--username", "ALICE", "--email", "bob@alice.example", "--password", "long enough password"},
	} {
		if code, _, stderr := roost(t, env, append([]string{"account", "create"}, bad...)...); code == 0 || stderr == "" {
			t.Errorf("account create %v: exit %d, stderr %q", bad, code, stderr)
		}
	}

	srv := exec.Command(roostBin(t), "serve")
	srv.Env = append(cleanEnv(), env...)
	var srvLog bytes.Buffer
	srv.Stdout, srv.Stderr = &srvLog, &srvLog
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()
	base := "http://" + addr
	var actor map[string]any
	if err := json.Unmarshal(waitHTTP(t, base+"/users/alice", "alice.example", 200), &actor); err != nil {
		t.Fatal(err)
	}
	if actor["id"] != "https://alice.example/users/alice" {
		t.Fatalf("actor id %v", actor["id"])
	}
	// Cache a negative answer for club.example, create it elsewhere, and see
	// it served long before the (1 h) TTL could expire it.
	waitHTTP(t, base+"/users/carol", "club.example", 404)
	if code, _, stderr := roost(t, env, "tenant", "create", "--name", "Club", "--domain", "club.example"); code != 0 {
		t.Fatalf("tenant create club: %s", stderr)
	}
	if code, _, stderr := roost(t, env, "account", "create", "--domain", "club.example", "--username", "carol",
		"--email", "alice@alice.example", "--password", "long enough password"); code != 0 {
		t.Fatalf("account create carol with alice's login: %s", stderr)
	}
	waitHTTP(t, base+"/users/carol", "club.example", 200)

	code, out, _ = roost(t, env, "tenant", "list")
	if code != 0 || !strings.Contains(out, "alice.example") || !strings.Contains(out, "club.example") {
		t.Fatalf("tenant list: %d\n%s", code, out)
	}

	srv.Process.Signal(syscall.SIGTERM)
	if err := srv.Wait(); err != nil {
		t.Fatalf("serve did not exit cleanly on SIGTERM: %v\n%s", err, srvLog.String())
	}
	if !strings.Contains(srvLog.String(), "shutting down web node") {
		t.Fatalf("no graceful shutdown in log:\n%s", srvLog.String())
	}
}
