package devenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
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

// EnsurePythonModule makes Debian's package pkg's Python module importable
// by Debian's Python (/usr/bin/python3), installing pkg when it is missing
// and installing is allowed: the Mastodon.py client test needs
// python3-mastodon.
func EnsurePythonModule(o Options, module, pkg string) error {
	importable := func() error {
		return exec.Command("/usr/bin/python3", "-c", "import "+module).Run()
	}
	if importable() == nil {
		return nil
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	if err := install(o, pkg); err != nil {
		return err
	}
	return importable()
}

// PebbleVersion is the ACME test CA (github.com/letsencrypt/pebble) the
// TLS tests run; see Pebble.
const PebbleVersion = "v2.10.3"

// Pebble returns the path of the pebble binary, building it once per
// machine with GoTool.
func Pebble(o Options) (string, error) {
	dir, err := GoTool(o, "github.com/letsencrypt/pebble/v2/cmd/pebble", PebbleVersion)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "pebble"), nil
}

// HelmVersion is the Helm 3 release the chart tests lint and render
// charts/roost with; see Helm.
const HelmVersion = "v3.19.5"

// Helm returns the path of the helm binary, built once per machine from
// the Go module proxy with GoTool (a few minutes the first time).
func Helm(o Options) (string, error) {
	dir, err := GoTool(o, "helm.sh/helm/v3/cmd/helm", HelmVersion)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "helm"), nil
}

// StripeMockVersion is Stripe's API mock the billing tests run; see
// StripeMock.
const StripeMockVersion = "v0.203.0"

// StripeMock returns the path of the stripe-mock binary, built once per
// machine with GoTool.
func StripeMock(o Options) (string, error) {
	dir, err := GoTool(o, "github.com/stripe/stripe-mock", StripeMockVersion)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "stripe-mock"), nil
}

// StaticcheckVersion is the staticcheck release (honnef.co/go/tools
// v0.8.2 is "2026.2.2") `roost test` lints with; see Staticcheck.
const StaticcheckVersion = "v0.8.2"

// ErrcheckVersion is the errcheck release `roost test` checks for
// dropped errors with; see Errcheck.
const ErrcheckVersion = "v1.9.0"

// Staticcheck returns the path of the staticcheck binary, built once per
// machine and Go release with GoTool: an analyser built by an older Go
// cannot load packages of a newer one.
func Staticcheck(o Options) (string, error) {
	return lintTool(o, "honnef.co/go/tools/cmd/staticcheck", StaticcheckVersion)
}

// Errcheck returns the path of the errcheck binary, built like
// Staticcheck.
func Errcheck(o Options) (string, error) {
	return lintTool(o, "github.com/kisielk/errcheck", ErrcheckVersion)
}

func lintTool(o Options, pkg, version string) (string, error) {
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOVERSION: %w", err)
	}
	dir, err := goTool(o, pkg, version, version+"-"+strings.TrimSpace(string(out)))
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, filepath.Base(pkg)), nil
}

// ToolsDir is where GoTool keeps what it builds, outside any checkout:
// $XDG_CACHE_HOME/roost/tools, by default ~/.cache/roost/tools.
func ToolsDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "roost", "tools"), nil
}

// GoTool makes the command built from pkg@version available in
// ToolsDir()/NAME-VERSION/bin and returns that directory. When missing
// and installing is allowed it runs `go install pkg@version` (sources from
// the Go module proxy) once per machine: concurrent callers, such as test
// binaries of several packages, wait on a lock file and reuse the result.
func GoTool(o Options, pkg, version string) (string, error) {
	return goTool(o, pkg, version, version)
}

// goTool is GoTool keeping the build under NAME-KEY.
func goTool(o Options, pkg, version, key string) (string, error) {
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	name := filepath.Base(pkg)
	root, err := ToolsDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, name+"-"+key, "bin")
	if isExecutable(filepath.Join(dir, name)) {
		return dir, nil
	}
	cmdline := fmt.Sprintf("GOBIN=%s go install %s@%s", dir, pkg, version)
	if !o.Install {
		return "", fmt.Errorf("%s %s is not built; build it with: %s", name, version, cmdline)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(root, name+"-"+key+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	// Closing the lock file releases the flock; nothing was written to it.
	defer func() { _ = lock.Close() }()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	if isExecutable(filepath.Join(dir, name)) {
		return dir, nil // built by another process while we waited
	}
	// go test puts GOROOT/bin first on the test binaries' PATH, and
	// `roost test` runs go test itself, so go is on PATH wherever this runs.
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("building %s needs the go command on PATH: %w", name, err)
	}
	tmp, err := os.MkdirTemp(root, name+"-build-")
	if err != nil {
		return "", err
	}
	defer func() {
		if err := os.RemoveAll(tmp); err != nil { // gone already once renamed
			o.Logf("removing %s: %v", tmp, err)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", err
	}
	o.Logf("building %s %s once for this machine: %s", name, version, cmdline)
	cmd := exec.Command(goBin, "install", pkg+"@"+version)
	cmd.Dir = tmp // outside any module: go install pkg@version ignores it anyway
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s: %w\n%s", cmdline, err, out)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil { // complete or absent, never half-built
		return "", err
	}
	return dir, nil
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}
