package main

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/tenant"
	tenantredis "github.com/roost-social/roost/tenant/redis"
)

func runWork(ctx context.Context, cfg *config.Config, log *slog.Logger, _ []string) error {
	svc, err := connect(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer svc.close()
	// /healthz, /readyz and /metrics for probes and scrapers (ops.go);
	// here, not in work, because `roost dev` runs work beside serve.
	if cfg.MetricsAddr != "" {
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
			queueCollector{stats: svc.accounts.QueueStats, log: log})
		errc := make(chan error, 1)
		stopOps, err := listenOps(cfg.MetricsAddr, opsHandler(reg, serviceChecks(svc), log), errc)
		if err != nil {
			return err
		}
		defer stopOps()
		go func() {
			if err := <-errc; err != nil {
				log.Error("ops listener stopped; probes will fail", "err", err)
			}
		}()
	}
	return work(ctx, cfg, log, svc)
}

// work runs the background workers until ctx ends: the inbox processor
// (verified activities → follows and answers) and the delivery workers.
func work(ctx context.Context, cfg *config.Config, log *slog.Logger, svc *services) error {
	sites := tenant.NewHostCache(svc.tenants, cfg.DomainCacheTTL, cfg.DomainCacheMax)
	go tenantredis.Subscribe(ctx, svc.redis, tenantredis.Channel(cfg.RedisPrefix), sites, log, nil)
	go runRelay(ctx, cfg, log, svc) // streaming events; one relay per instance is elected
	fd, err := newFed(cfg, log, svc, sites)
	if err != nil {
		return err
	}
	go fd.blocks.Run(ctx)                            // domain blocks made on any node (federation/domainblock)
	go runNodeInfo(ctx, cfg.URLScheme, log, svc, fd) // remote hosts' software (fedwork.go)
	go runBlocklistSubscriptions(ctx, log, svc, fd)  // subscribed block lists (fedwork.go)
	go runDomainChecks(ctx, cfg, log, svc, fd.fetch) // portal domain claims (portal.go)
	go runPollEndings(ctx, log, svc)                 // "poll" notifications (poll_endings.go)
	go runArchives(ctx, cfg, log, svc, fd)           // account exports and imports (archive_work.go)
	go runBillingEnforcer(ctx, cfg, log, svc)        // grace period, suspension, reactivation (billing.go)
	go runDeletions(ctx, cfg, log, svc, fd)          // tenants leaving: Delete(Person), then removal (move.go)
	log.Info("workers running", "queues", []string{"inbox", "deliveries"})
	done := make(chan struct{})
	go func() {
		fd.process.Run(ctx)
		close(done)
	}()
	err = fd.deliveryWorker(log).Run(ctx)
	<-done
	log.Info("workers stopped")
	return err
}
