package devenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// postgresBinDir finds the newest Debian-layout PostgreSQL server binaries
// (/usr/lib/postgresql/N/bin), installing the package when allowed.
func postgresBinDir(o Options) (string, error) {
	find := func() string {
		dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
		sort.Slice(dirs, func(i, j int) bool { return majorOf(dirs[i]) > majorOf(dirs[j]) })
		if len(dirs) > 0 {
			return filepath.Dir(dirs[0])
		}
		if p, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p)
		}
		return ""
	}
	if d := find(); d != "" {
		return d, nil
	}
	if err := install(o, "postgresql"); err != nil {
		return "", err
	}
	if d := find(); d != "" {
		return d, nil
	}
	return "", fmt.Errorf("PostgreSQL server binaries not found after installing postgresql")
}

func majorOf(initdb string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return n
}

// redisBin finds redis-server, installing it when allowed.
func redisBin(o Options) (string, error) {
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p, nil
	}
	if err := install(o, "redis-server"); err != nil {
		return "", err
	}
	return exec.LookPath("redis-server")
}

// install runs apt-get for pkg when we are root on a Debian-like system and
// the caller allowed it; otherwise it returns the exact command to run.
func install(o Options, pkg string) error {
	cmdline := "apt-get update && apt-get install -y " + pkg
	_, aptErr := exec.LookPath("apt-get")
	if !o.Install || os.Geteuid() != 0 || aptErr != nil {
		return fmt.Errorf("%s is not installed; install it with: sudo sh -c '%s'", pkg, cmdline)
	}
	o.Logf("installing %s: %s", pkg, cmdline)
	for _, args := range [][]string{{"update", "-qq"}, {"install", "-y", "-qq", "--no-install-recommends", pkg}} {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get %s: %w\n%s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// EnsureTool makes command available, installing Debian's package pkg when
// it is missing and installing is allowed (as for the servers): the
// JavaScript client tests need node and npm.
func EnsureTool(o Options, command, pkg string) error {
	if _, err := exec.LookPath(command); err == nil {
		return nil
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if err := install(o, pkg); err != nil {
		return err
	}
	_, err := exec.LookPath(command)
	return err
}
