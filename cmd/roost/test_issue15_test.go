package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// The whole suite is linted first; a package pattern, -run or -skip runs
// only what was asked.
func TestIssue15Finding8TestCommandLintsTheWholeSuite(t *testing.T) {
	for _, c := range []struct {
		args  []string
		whole bool
		tail  string
	}{
		{nil, true, "-count=1 -timeout=45m ./..."},
		{[]string{"-v", "-short"}, true, "-short ./..."},
		{[]string{"-run", "Isolation", "./api/..."}, false, "./api/..."},
		{[]string{"-run=Isolation"}, false, "-run=Isolation ./..."},
		{[]string{"--skip", "Slow"}, false, "Slow ./..."},
		{[]string{"github.com/roost-social/roost/tenant"}, false, "/tenant"},
		{[]string{"-runner"}, true, "-runner ./..."}, // not -run
	} {
		goArgs, whole := testArgs(c.args)
		if whole != c.whole || !strings.HasSuffix(strings.Join(goArgs, " "), c.tail) || !slices.Equal(goArgs[:4], []string{"--", "go", "test", "-count=1"}) {
			t.Errorf("%q: %q whole=%v", c.args, goArgs, whole)
		}
	}
}

// ROOST_LINT_TEST=1 runs the linters as roost test does (about a minute).
func TestIssue15Finding8LintIsClean(t *testing.T) {
	if os.Getenv("ROOST_LINT_TEST") == "" {
		t.Skip("set ROOST_LINT_TEST=1 to run staticcheck and errcheck here (roost test runs them before the suite)")
	}
	t.Chdir("../..")
	start := time.Now()
	if err := lint(context.Background(), slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	t.Logf("lint took %v", time.Since(start))
}
