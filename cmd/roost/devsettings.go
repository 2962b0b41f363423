package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/tenant"
)

// devSettingsFile is where a running `roost dev` leaves the settings a
// CLI command needs to reach it: its PostgreSQL and Redis URLs (whose
// ports change on every start) and the scheme, port and hosts it serves.
const devSettingsFile = "dev.env"

// devSettingsPid names the running dev node's process, so a file left by
// a crash is recognised as stale.
const devSettingsPid = "ROOST_DEV_PID"

// devSettingsPath is the settings file under ROOST_DEV_DIR.
func devSettingsPath(dir string) string { return filepath.Join(dir, devSettingsFile) }

// writeDevSettings records cfg's effective connection and URL settings.
func writeDevSettings(path string, cfg *config.Config) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by `roost dev` while it runs; roost commands in this checkout\n")
	fmt.Fprintf(&b, "# use these settings when ROOST_DATABASE_URL is not set. Removed on exit.\n")
	for _, kv := range [][2]string{
		{devSettingsPid, strconv.Itoa(os.Getpid())},
		{"ROOST_DATABASE_URL", cfg.DatabaseURL},
		{"ROOST_REDIS_URL", cfg.RedisURL},
		{"ROOST_URL_SCHEME", cfg.URLScheme},
		{"ROOST_PUBLIC_PORT", strconv.Itoa(cfg.PublicPort)},
		{"ROOST_DEV_DOMAIN", cfg.DevDomain},
		{"ROOST_MEDIA_DIR", cfg.MediaDir},
		{"ROOST_PORTAL_HOST", cfg.PortalHost},
		{"ROOST_OPERATOR_HOST", cfg.OperatorHost},
		{"ROOST_BASE_DOMAIN", cfg.BaseDomain},
		{"ROOST_SIGNUPS", cfg.Signups},
	} {
		if kv[1] != "" {
			fmt.Fprintf(&b, "%s=%s\n", kv[0], kv[1])
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil { // the URLs carry no password, but keep it private
		return err
	}
	return os.Rename(tmp, path)
}

// devSettingsCommands are the commands that use a running dev node's
// settings: the ones that act on an instance's data. dev itself, the
// test and bench commands (their own services) and serve/work (which
// would bind the dev node's ports) do not.
var devSettingsCommands = map[string]bool{
	"migrate": true, "tenant": true, "operator": true, "billing": true, "account": true,
	"follow": true, "post": true, "move": true, "alias": true, "emoji": true, "do": true,
}

// withDevSettings returns getenv, falling back to a running `roost dev`'s
// settings for variables the environment leaves unset — only for the
// commands above, only when ROOST_DATABASE_URL is unset (an explicit
// database always wins) and only while that dev node runs. It says on
// stderr which file it used.
func withDevSettings(getenv func(string) string, command string, stderr io.Writer) func(string) string {
	if !devSettingsCommands[command] || getenv("ROOST_DATABASE_URL") != "" {
		return getenv
	}
	dir := getenv("ROOST_DEV_DIR")
	if dir == "" {
		dir = "./var"
	}
	path := devSettingsPath(dir)
	vals, err := readDevSettings(path)
	if errors.Is(err, os.ErrNotExist) {
		return getenv
	}
	if err != nil {
		fmt.Fprintf(stderr, "roost: ignoring %s: %v\n", path, err)
		return getenv
	}
	if !processAlive(vals[devSettingsPid]) {
		fmt.Fprintf(stderr, "roost: ignoring %s: the roost dev that wrote it (pid %s) is not running\n", path, vals[devSettingsPid])
		return getenv
	}
	fmt.Fprintf(stderr, "roost: using the settings of the running roost dev (%s)\n", path)
	return func(name string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return vals[name]
	}
}

// readDevSettings parses NAME=value lines; # starts a comment line.
func readDevSettings(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	vals := map[string]string{}
	sc := bufio.NewScanner(io.LimitReader(f, 64<<10))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, val, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(name, "ROOST_") {
			return nil, fmt.Errorf("unexpected line %q", line)
		}
		vals[name] = val
	}
	return vals, sc.Err()
}

// processAlive reports whether pid names a running process.
func processAlive(pid string) bool {
	n, err := strconv.Atoi(pid)
	if err != nil || n <= 0 {
		return false
	}
	err = syscall.Kill(n, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// servedOrigin is the origin cfg makes links for.
func servedOrigin(cfg *config.Config) tenant.Origin {
	return tenant.Origin{Scheme: cfg.URLScheme, Port: cfg.PublicPort}
}

// checkOrigin refuses a command that would store links for an origin the
// web nodes do not serve (tenant.CheckOrigin).
func checkOrigin(ctx context.Context, cfg *config.Config, svc *services) error {
	served, err := svc.tenants.ServedOrigin(ctx)
	if err != nil {
		return err
	}
	return tenant.CheckOrigin(served, servedOrigin(cfg))
}
