package main

import (
	"context"
	"flag"
	"time"

	"github.com/roost-social/roost/internal/bench"
	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/tenant"
)

// benchFairness is `roost bench fairness`: tenant B's direct message
// delivered with and without tenant A's fan-out queued (issue 20).
func benchFairness(ctx context.Context, cfg *config.Config, args []string) error {
	var o bench.FairnessOptions
	fs := flag.NewFlagSet("bench fairness", flag.ContinueOnError)
	fs.IntVar(&o.Backlog, "backlog", 20000, "tenant A's deliveries (remote followers of its post)")
	fs.IntVar(&o.Concurrency, "concurrency", 128, "deliveries in flight")
	fs.IntVar(&o.Samples, "samples", 5, "tenant B's direct messages per phase")
	fs.DurationVar(&o.Timeout, "timeout", time.Minute, "give up on one message after")
	if err := fs.Parse(args); err != nil {
		return err
	}
	recv, err := bench.NewFairnessReceiver(o.Backlog)
	if err != nil {
		return err
	}
	defer func() { _ = recv.Close() }() // test receiver on loopback
	cfg.FederationResolve = recv.Resolve()
	svc, stop, err := benchServices(ctx, cfg)
	if err != nil {
		return err
	}
	defer stop()
	// Sites resolved through a host cache, as `roost work` does.
	fd, err := newFed(cfg, quiet, svc, tenant.NewHostCache(svc.tenants, time.Minute, 1000))
	if err != nil {
		return err
	}
	d := bench.Delivery{Env: benchEnv(svc), Outbox: fd.outbox, Worker: fd.deliveryWorker(quiet)}
	res, err := bench.Fairness{Delivery: d}.Run(ctx, recv, o)
	if err != nil {
		return err
	}
	return printResult(res)
}
