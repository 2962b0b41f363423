package main

import (
	"context"
	"log/slog"
	"strings"

	"github.com/roost-social/roost/internal/config"
)

// runTest is the README's test command: the whole suite, with private
// PostgreSQL and Redis (installed first when missing). Extra arguments go
// to go test; package patterns (./x/... or full import paths) replace the
// default ./... list.
func runTest(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	goArgs := []string{"--", "go", "test", "-count=1"}
	pkgs := []string{"./..."}
	for _, a := range args {
		if strings.HasPrefix(a, "./") || strings.HasPrefix(a, "github.com/") {
			pkgs = nil
			break
		}
	}
	goArgs = append(append(goArgs, args...), pkgs...)
	return runTestenv(ctx, cfg, log, goArgs)
}
