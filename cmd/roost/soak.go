package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/soak"
	"github.com/roost-social/roost/tenant/oauth"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

// runSoak is `roost soak`: a chaos soak of a whole cluster it provisions
// on loopback (internal/soak). Progress goes to stderr; the last line on
// stdout is the result. It exits non-zero, after printing the first
// violations, when anything acknowledged was lost or an error no retry
// could repeat happened.
func runSoak(ctx context.Context, cfg *config.Config, _ *slog.Logger, args []string) error {
	o := soak.Options{Progress: os.Stderr}
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.DurationVar(&o.Duration, "duration", 30*time.Minute, "length of the loaded, faulted window")
	seed := fs.Uint64("seed", 0, "seed of the workload and the faults (random when absent; printed)")
	fs.Float64Var(&o.Rate, "rate", 20, "client operations per second (open loop)")
	fs.IntVar(&o.Tenants, "tenants", 20, "tenant domains")
	fs.IntVar(&o.Accounts, "accounts", 5, "accounts per tenant")
	fs.IntVar(&o.Nodes, "nodes", 3, "roost serve processes")
	fs.IntVar(&o.Workers, "workers", 2, "roost work processes")
	fs.IntVar(&o.Remotes, "remotes", 2, "remote Roost instances, on their own database (0-2)")
	fs.DurationVar(&o.FaultEvery, "fault-every", 8*time.Second, "mean interval between faults")
	fs.DurationVar(&o.Drain, "drain", 3*time.Minute, "longest wait for the queues to drain after the faults")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.Seed = *seed
	if o.Seed == 0 {
		var b [8]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read cannot fail
		o.Seed = binary.LittleEndian.Uint64(b[:]) >> 1
	}
	if o.Duration < 20*time.Second {
		return errs.E(errs.Invalid, "soak: --duration must be at least 20s")
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	o.Exe = exe
	o.Open = func(ctx context.Context, databaseURL, redisURL string) (*soak.Site, error) {
		c := *cfg
		c.DatabaseURL, c.RedisURL, c.RedisPrefix, c.URLScheme, c.PublicPort = databaseURL, redisURL, "soak-seed:", "http", 0
		if err := migrate(ctx, databaseURL, quiet); err != nil {
			return nil, err
		}
		svc, err := connect(ctx, &c, quiet, true)
		if err != nil {
			return nil, err
		}
		return &soak.Site{DB: svc.db, Tenants: svc.tenantSv, OAuth: &oauth.Service{Store: tenantpg.NewOAuthStore(svc.db)}, Close: svc.close}, nil
	}
	res, err := soak.Run(ctx, o)
	if err != nil {
		return fmt.Errorf("soak (seed %d): %w", o.Seed, err)
	}
	for _, v := range res.Violations {
		fmt.Fprintln(os.Stderr, "soak: violation:", v)
	}
	for _, h := range res.HarnessErrors {
		fmt.Fprintln(os.Stderr, "soak: harness error (the harness's failure, not the cluster's):", h)
	}
	if err := printResult(res); err != nil {
		return err
	}
	if res.Failed() {
		return fmt.Errorf("soak (seed %d): %d lost, %d other errors, %d harness errors", o.Seed, res.Lost, res.ErrorsOther, len(res.HarnessErrors))
	}
	return nil
}
