package main

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/tenant"
)

// TestIssue20DevSettingsFallback: commands in a checkout with a running
// `roost dev` use its settings for what the environment leaves unset;
// an explicit database, other commands and a stale file are left alone.
func TestIssue20DevSettingsFallback(t *testing.T) {
	dir := t.TempDir()
	cfg := &config.Config{DatabaseURL: "postgres://dev", RedisURL: "redis://dev", URLScheme: "http", PublicPort: 8080, DevDomain: "localhost"}
	if err := writeDevSettings(devSettingsPath(dir), cfg); err != nil {
		t.Fatal(err)
	}
	env := func(kv map[string]string) func(string) string {
		return func(n string) string { return kv[n] }
	}
	var stderr bytes.Buffer
	get := withDevSettings(env(map[string]string{"ROOST_DEV_DIR": dir, "ROOST_PUBLIC_PORT": "9"}), "post", &stderr)
	for name, want := range map[string]string{"ROOST_DATABASE_URL": "postgres://dev", "ROOST_REDIS_URL": "redis://dev",
		"ROOST_URL_SCHEME": "http", "ROOST_PUBLIC_PORT": "9"} {
		if got := get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if !strings.Contains(stderr.String(), "using the settings of the running roost dev") {
		t.Errorf("stderr %q does not say which settings it used", stderr.String())
	}
	for _, tc := range []struct {
		name, command string
		env           map[string]string
	}{
		{"explicit database wins", "post", map[string]string{"ROOST_DEV_DIR": dir, "ROOST_DATABASE_URL": "postgres://mine"}},
		{"serve binds its own ports", "serve", map[string]string{"ROOST_DEV_DIR": dir}},
		{"dev is the writer", "dev", map[string]string{"ROOST_DEV_DIR": dir}},
		{"no file", "post", map[string]string{"ROOST_DEV_DIR": t.TempDir()}},
	} {
		if got := withDevSettings(env(tc.env), tc.command, &bytes.Buffer{})("ROOST_REDIS_URL"); got != "" {
			t.Errorf("%s: ROOST_REDIS_URL = %q, want the environment's (empty)", tc.name, got)
		}
	}
	// A file left by a dev node that is gone is stale.
	stale := t.TempDir()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	body := "ROOST_DEV_PID=" + strconv.Itoa(cmd.Process.Pid) + "\nROOST_REDIS_URL=redis://gone\n"
	if err := os.WriteFile(devSettingsPath(stale), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	stderr.Reset()
	if got := withDevSettings(env(map[string]string{"ROOST_DEV_DIR": stale}), "post", &stderr)("ROOST_REDIS_URL"); got != "" {
		t.Errorf("stale file used: ROOST_REDIS_URL = %q", got)
	}
	if !strings.Contains(stderr.String(), "is not running") {
		t.Errorf("stale file not reported: %q", stderr.String())
	}
}

// TestIssue20CheckOrigin: a command refuses links for an origin nobody
// serves, and default ports compare equal to none.
func TestIssue20CheckOrigin(t *testing.T) {
	https, dev := tenant.Origin{Scheme: "https"}, tenant.Origin{Scheme: "http", Port: 8080}
	for _, tc := range []struct {
		served *tenant.Origin
		mine   tenant.Origin
		ok     bool
	}{
		{nil, https, true},
		{&https, tenant.Origin{Scheme: "https", Port: 443}, true},
		{&dev, dev, true},
		{&dev, https, false},
		{&dev, tenant.Origin{Scheme: "http", Port: 8081}, false},
		{&https, dev, false},
	} {
		err := tenant.CheckOrigin(tc.served, tc.mine)
		if (err == nil) != tc.ok {
			t.Errorf("CheckOrigin(%v, %v) = %v, want ok=%v", tc.served, tc.mine, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "ROOST_URL_SCHEME") {
			t.Errorf("error %q does not name the variables to set", err)
		}
	}
}

// TestIssue20CLIBesideDev is the first hour from outside: `roost post`
// run beside `roost dev` writes links for the origin dev serves; with
// other settings it refuses; dev's /metrics carries the queue gauges;
// and a second dev on a busy port names the variable and prints no
// banner.
func TestIssue20CLIBesideDev(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.Chmod(dir, 0o755) // the unprivileged postgres user must reach it
	removeDevData(t, dir)
	addr := freeAddr(t)
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	dev := exec.Command(roostBin(t), "dev")
	dev.Env = append(cleanEnv(), "ROOST_DEV_DIR="+dir, "ROOST_HTTP_ADDR="+addr)
	stdout, _ := dev.StdoutPipe()
	var devErr strings.Builder
	dev.Stderr = &devErr
	if err := dev.Start(); err != nil {
		t.Fatal(err)
	}
	pwc := make(chan string, 1)
	go scanPassword(stdout, pwc)
	if pw := <-pwc; pw == "" {
		t.Fatalf("no banner from roost dev:\n%s", devErr.String())
	}
	// The banner comes after the bind: the node answers at once.
	if body := string(waitHTTP(t, "http://"+addr+"/metrics", "localhost", 200)); !strings.Contains(body, "roost_deliveries_pending") {
		t.Errorf("dev /metrics lacks the workers' queue gauges")
	}

	roost := func(env []string, args ...string) (string, string, error) {
		c := exec.Command(roostBin(t), args...)
		c.Env = append(cleanEnv(), env...)
		var out, errb strings.Builder
		c.Stdout, c.Stderr = &out, &errb
		err := c.Run()
		return out.String(), errb.String(), err
	}
	out, errOut, err := roost([]string{"ROOST_DEV_DIR=" + dir}, "post", "--account", "demo@localhost", "--text", "from the CLI")
	if err != nil {
		t.Fatalf("roost post beside dev: %v\n%s", err, errOut)
	}
	if want := "http://localhost:" + port + "/users/demo/statuses/"; !strings.HasPrefix(out, want) {
		t.Errorf("roost post wrote %q, want a link under %s", out, want)
	}
	vals, err := readDevSettings(devSettingsPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	// The same database with production's defaults (https, port 443).
	out, errOut, err = roost([]string{"ROOST_DATABASE_URL=" + vals["ROOST_DATABASE_URL"], "ROOST_REDIS_URL=" + vals["ROOST_REDIS_URL"]},
		"post", "--account", "demo@localhost", "--text", "broken links")
	if err == nil || out != "" || !strings.Contains(errOut, "ROOST_URL_SCHEME") {
		t.Errorf("roost post for https://localhost: err %v, stdout %q, stderr %q; want a refusal naming ROOST_URL_SCHEME", err, out, errOut)
	}

	dev.Process.Signal(syscall.SIGTERM)
	if err := dev.Wait(); err != nil {
		t.Fatalf("roost dev exit: %v\n%s", err, devErr.String())
	}
	if _, err := os.Stat(devSettingsPath(dir)); !os.IsNotExist(err) {
		t.Errorf("dev.env left after dev stopped: %v", err)
	}

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	again := exec.Command(roostBin(t), "dev")
	again.Env = append(cleanEnv(), "ROOST_DEV_DIR="+dir, "ROOST_HTTP_ADDR="+busy.Addr().String())
	var againOut, againErr strings.Builder
	again.Stdout, again.Stderr = &againOut, &againErr
	if err := again.Run(); err == nil {
		t.Fatalf("roost dev on a busy port succeeded")
	}
	if strings.Contains(againOut.String(), "Roost is running") || !strings.Contains(againErr.String(), "ROOST_HTTP_ADDR") {
		t.Errorf("busy port: stdout %q, stderr %q; want no banner and the variable to change", againOut.String(), againErr.String())
	}
}

// removeDevData removes, at cleanup, the PostgreSQL data a `roost dev`
// with ROOST_DEV_DIR=dir kept outside dir (devenv links dir/postgres to
// the system temporary directory when root's test dir is unreachable):
// t.TempDir removes only the link, and each run left ~100 MB behind.
func removeDevData(t *testing.T, dir string) {
	t.Cleanup(func() {
		if target, err := os.Readlink(filepath.Join(dir, "postgres")); err == nil && strings.HasPrefix(target, os.TempDir()) {
			os.RemoveAll(target)
		}
	})
}
