package main

import (
	"context"
	"flag"
	"os"
	"time"

	"github.com/roost-social/roost/internal/bench"
	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/errs"
)

// benchCompare is `roost bench compare`: GoToSocial and this executable's
// serve and work side by side under the same load.
func benchCompare(ctx context.Context, cfg *config.Config, args []string) error {
	var o bench.CompareOptions
	fs := flag.NewFlagSet("bench compare", flag.ContinueOnError)
	seconds := fs.Float64("seconds", 10, "length of each timed run (one per endpoint and server)")
	fs.IntVar(&o.Connections, "connections", 32, "keep-alive connections of the load")
	fs.StringVar(&o.GoToSocialLog, "gotosocial-log-level", "info", "GoToSocial's log level (Roost's nodes log at warn)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *seconds <= 0 || *seconds > 600 || o.Connections < 1 || o.Connections > 1024 {
		return errs.E(errs.Invalid, "--seconds must be in (0, 600] and --connections in [1, 1024]")
	}
	o.Duration = time.Duration(*seconds * float64(time.Second))
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	svc, stop, err := benchServices(ctx, cfg)
	if err != nil {
		return err
	}
	defer stop()
	res, err := bench.Compare{Env: benchEnv(svc), Exe: exe, DatabaseURL: cfg.DatabaseURL, RedisURL: cfg.RedisURL,
		RedisPrefix: cfg.RedisPrefix, Out: os.Stdout}.Run(ctx, o)
	if err != nil {
		return err
	}
	return printResult(res)
}
