package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/devenv"
)

// errcheckExcludes lists the calls whose errors may be dropped, each
// group with its reason (relative to the checkout, where roost test runs).
const errcheckExcludes = ".ci/errcheck-excludes.txt"

// lintSkip are the packages errcheck leaves alone: test tooling that
// starts and stops local servers for the suite and the benchmarks, where
// a failure shows as a failing test and teardown errors are noise.
var lintSkip = []string{"internal/testenv", "internal/devenv", "internal/bench", "tenant/verify/dnstest", "billing/stripe/stripemock"}

// runTest is the README's test command: the whole suite, with private
// PostgreSQL and Redis (installed first when missing). Extra arguments go
// to go test; package patterns (./x/... or full import paths) replace the
// default ./... list. The whole suite (no package patterns, no -run or
// -skip) is linted first with staticcheck and errcheck; their findings
// fail the command before any test runs.
func runTest(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	goArgs, whole := testArgs(args)
	if whole {
		if err := lint(ctx, log); err != nil {
			return err
		}
	}
	return runTestenv(ctx, cfg, log, goArgs)
}

// testArgs builds roost testenv's arguments for go test with the user's
// args, and reports whether they ask for the whole suite.
func testArgs(args []string) (goArgs []string, whole bool) {
	// go test's own 10-minute limit per package is too close: cmd/roost,
	// which starts real processes, chromium and Pebble, took 9¼ minutes on
	// a quiet machine. A -timeout the user passes comes later and wins.
	goArgs = []string{"--", "go", "test", "-count=1", "-timeout=45m"}
	pkgs := []string{"./..."}
	whole = true
	for _, a := range args {
		if strings.HasPrefix(a, "./") || strings.HasPrefix(a, "github.com/") {
			pkgs, whole = nil, false
			break
		}
		if narrows(a) {
			whole = false
		}
	}
	return append(append(goArgs, args...), pkgs...), whole
}

// narrows reports go test flags that pick some tests only.
func narrows(arg string) bool {
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	return strings.HasPrefix(arg, "-") && (name == "run" || name == "skip")
}

// lint runs staticcheck and errcheck (non-test code, with the commented
// exclusions of errcheckExcludes) over the module, each built once per
// machine into the tool cache. Both run even when the first finds
// something, so one run shows every finding.
func lint(ctx context.Context, log *slog.Logger) error {
	o := devenv.Options{Install: true, Logf: func(f string, a ...any) { log.Info(fmt.Sprintf(f, a...)) }}
	staticcheck, err := devenv.Staticcheck(o)
	if err != nil {
		return err
	}
	errcheck, err := devenv.Errcheck(o)
	if err != nil {
		return err
	}
	if _, err := os.Stat(errcheckExcludes); err != nil {
		return fmt.Errorf("run roost test from the checkout's root: %w", err)
	}
	pkgs, err := errcheckPackages(ctx)
	if err != nil {
		return err
	}
	var failed []string
	for _, c := range [][]string{
		{staticcheck, "./..."},
		append([]string{errcheck, "-ignoretests", "-exclude", errcheckExcludes}, pkgs...),
	} {
		name, start := filepath.Base(c[0]), time.Now()
		cmd := exec.CommandContext(ctx, c[0], c[1:]...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		err := cmd.Run()
		log.Info("lint", "tool", name, "took", time.Since(start).Round(time.Second), "clean", err == nil)
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			failed = append(failed, name)
		case err != nil:
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%s found problems (listed above): fix them, or exclude a harmless errcheck finding in %s with its reason",
			strings.Join(failed, " and "), errcheckExcludes)
	}
	return nil
}

// errcheckPackages lists the module's packages but lintSkip's.
func errcheckPackages(ctx context.Context) ([]string, error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-f", "{{.ImportPath}} {{.Module.Path}}", "./...").Output()
	if err != nil {
		return nil, fmt.Errorf("go list ./...: %w", err)
	}
	var pkgs []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, mod, _ := strings.Cut(line, " ")
		if !slices.Contains(lintSkip, strings.TrimPrefix(pkg, mod+"/")) {
			pkgs = append(pkgs, pkg)
		}
	}
	return pkgs, nil
}
