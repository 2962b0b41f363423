package devenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Without permission to install, a missing package is reported with the
// exact command that installs it.
func TestInstallRefusedNamesTheCommand(t *testing.T) {
	err := install(Options{Install: false, Logf: func(string, ...any) {}}, "redis-server")
	if err == nil || !strings.Contains(err.Error(), "apt-get update && apt-get install -y redis-server") {
		t.Fatalf("install without permission: %v", err)
	}
}

func TestReachable(t *testing.T) {
	dir := t.TempDir()
	closed := filepath.Join(dir, "closed")
	inner := filepath.Join(closed, "inner")
	if err := os.MkdirAll(inner, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Dir(dir), 0o755) // t.TempDir's parent is 0700
	os.Chmod(dir, 0o755)
	os.Chmod(closed, 0o700)
	const stranger = 54321
	if reachable(inner, stranger) {
		t.Fatal("a directory under a 0700 parent is reachable by another uid")
	}
	os.Chmod(closed, 0o711)
	if !reachable(inner, stranger) {
		t.Fatal("a directory under traversable parents is not reachable")
	}
}

// Start and Stop a real pair of servers; the database exists and both
// servers are gone after Stop.
func TestStartStop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real servers")
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	env, err := Start(t.Context(), Options{Dir: dir, Install: true, Database: "probe"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(strings.SplitN(env.DatabaseURL, "?", 2)[0], "/probe") || !strings.HasPrefix(env.RedisURL, "redis://127.0.0.1:") {
		t.Fatalf("urls %s %s", env.DatabaseURL, env.RedisURL)
	}
	if err := env.Stop(); err != nil {
		t.Fatal(err)
	}
	if !env.pg.exited() || !env.redis.exited() {
		t.Fatal("servers still running after Stop")
	}
}
