package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"

	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/devenv"
	"github.com/roost-social/roost/internal/errs"
)

// runBench runs a benchmark against private PostgreSQL and Redis it
// provisions (nothing of a real instance is touched) and prints its result
// as the last line, one JSON object.
func runBench(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	if len(args) == 0 {
		return errs.E(errs.Invalid, "usage: roost bench delivery|inbox|timeline|post|load [flags]")
	}
	switch args[0] {
	case "delivery":
		return benchDelivery(ctx, cfg, log, args[1:])
	case "inbox":
		return benchInbox(ctx, cfg, log, args[1:])
	case "timeline":
		return benchTimeline(ctx, cfg, log, args[1:])
	case "post":
		return benchPost(ctx, cfg, log, args[1:])
	case "load":
		return benchLoad(ctx, cfg, log, args[1:]) // bench_load.go
	case "export":
		return benchExport(ctx, cfg, log, args[1:]) // bench_export.go
	}
	return errs.E(errs.Invalid, "unknown benchmark %q; use delivery, inbox, timeline, post or load", args[0])
}

// benchServices provisions a private environment in a temporary directory,
// migrated, and connects to it; stop removes everything.
func benchServices(ctx context.Context, cfg *config.Config, log *slog.Logger) (*services, func(), error) {
	dir, err := os.MkdirTemp("", "roost-bench-")
	if err != nil {
		return nil, nil, err
	}
	os.Chmod(dir, 0o755)
	env, err := devenv.Start(ctx, devenv.Options{Dir: dir, Install: true, Database: "bench",
		Logf: func(f string, a ...any) { log.Debug(fmt.Sprintf(f, a...)) }})
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	stop := func() { env.Stop(); os.RemoveAll(dir) }
	cfg.DatabaseURL, cfg.RedisURL, cfg.RedisPrefix, cfg.URLScheme, cfg.PublicPort = env.DatabaseURL, env.RedisURL, "bench:", "http", 0
	if err := migrate(ctx, cfg.DatabaseURL, log); err != nil {
		stop()
		return nil, nil, err
	}
	svc, err := connect(ctx, cfg, log, true)
	if err != nil {
		stop()
		return nil, nil, err
	}
	return svc, func() { svc.close(); stop() }, nil
}

// printResult writes the benchmark's JSON line.
func printResult(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	fmt.Println(string(b))
	return nil
}
