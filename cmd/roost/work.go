package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/roost-social/roost/federation/domainblock"
	"github.com/roost-social/roost/federation/peers"
	"github.com/roost-social/roost/federation/social/poll"
	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/jobs"
	"github.com/roost-social/roost/tenant"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
	tenantredis "github.com/roost-social/roost/tenant/redis"
)

func runWork(ctx context.Context, cfg *config.Config, log *slog.Logger, _ []string) error {
	svc, err := connect(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer svc.close()
	stopPprof, err := listenPprof(cfg.PprofAddr, log) // ROOST_PPROF_ADDR (pprof.go)
	if err != nil {
		return err
	}
	defer stopPprof()
	// /healthz, /readyz and /metrics for probes and scrapers (ops.go);
	// here, not in work, because `roost dev` runs work beside serve.
	var reg prometheus.Registerer // the jobs' metrics, when scraped
	if cfg.MetricsAddr != "" {
		r := prometheus.NewRegistry()
		reg = r
		r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
			queueCollector{stats: svc.social.QueueStats, log: log},
			fanOutCollector{backlog: svc.social.HomeFanOutBacklog, log: log}) // fanout.go
		errc := make(chan error, 1)
		stopOps, err := listenOps(cfg.MetricsAddr, opsHandler(r, serviceChecks(svc), log), errc)
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
	return work(ctx, cfg, log, svc, reg)
}

// work runs the background jobs until ctx ends, each a named job under
// one supervisor (internal/jobs): a job that fails or panics is logged and
// counted (roost_job_* metrics on reg; nil records none) and runs again at
// its next pass, a worker loop is restarted with back-off, and shutdown
// waits for every job.
func work(ctx context.Context, cfg *config.Config, log *slog.Logger, svc *services, reg prometheus.Registerer) error {
	sites := tenant.NewHostCache(svc.tenants, cfg.DomainCacheTTL, cfg.DomainCacheMax)
	fd, err := newFed(cfg, log, svc, sites)
	if err != nil {
		return err
	}
	log.Info("workers running", "queues", []string{"inbox", "deliveries"})
	all := append(workJobs(cfg, log, svc, fd, sites), portabilityJobs(ctx, cfg, log, svc, fd)...) // archive_work.go
	// Home feeds of large audiences after commit (fanout.go).
	all = append(all, fanOutJobs(log, svc, pullAbove(cfg))...)
	err = (&jobs.Runner{Log: log, Registerer: reg, Jitter: jobs.DefaultJitter}).Run(ctx, all...)
	log.Info("workers stopped")
	return err
}

// Intervals of the work jobs whose packages do not set their own.
const (
	nodeInfoEvery      = 30 * time.Second // remote hosts due for NodeInfo (federation/peers)
	subscriptionsEvery = 15 * time.Second // subscribed block lists due (federation/domainblock)
	pollEndingsEvery   = 30 * time.Second // polls that ended (federation/social/poll)
	scheduledEvery     = 15 * time.Second // scheduled posts due (federation/social/schedule)
	// drainBatches bounds the batches one pass of a draining job takes.
	drainBatches = 100
)

// workJobs are `roost work`'s jobs. Every > 0 is a pass at that interval;
// Every == 0 is a long-running worker loop.
func workJobs(cfg *config.Config, log *slog.Logger, svc *services, fd *fed, sites *tenant.HostCache) []jobs.Job {
	enforcer := newEnforcer(cfg, log, svc)
	checker := newChecker(cfg, log, svc, tenantpg.NewSignupStore(svc.db), fd.fetch)
	return []jobs.Job{
		{Name: "host-cache-invalidations", Run: func(ctx context.Context) error { // tenants changed on any node
			tenantredis.Subscribe(ctx, svc.redis, tenantredis.Channel(cfg.RedisPrefix), sites, log, nil)
			return nil
		}},
		{Name: "streaming-relay", Run: func(ctx context.Context) error { // one relay per instance is elected
			runRelay(ctx, cfg, log, svc)
			return nil
		}},
		{Name: "domain-blocks", Every: fd.blocks.Interval(), Run: fd.blocks.Refresh}, // blocks made on any node
		{Name: "nodeinfo", Every: nodeInfoEvery, Run: (&peers.NodeInfo{Store: svc.social, Fetch: fd.fetch, Log: log}).Pass},
		{Name: "blocklist-subscriptions", Every: subscriptionsEvery,
			Run: (&domainblock.Subscriptions{Store: svc.social, Fetch: fd.fetch, Blocks: fd.blocks, Log: log}).Pass},
		{Name: "domain-checks", Every: domainCheckEvery, Run: jobs.Drain(drainBatches, checker.RunDue)}, // portal claims
		{Name: "poll-endings", Every: pollEndingsEvery, Run: (&poll.Endings{Store: svc.social, Log: log}).Pass},
		cardsJob(cfg, log, svc, fd), // link preview cards (cards.go)
		{Name: "scheduled-posts", Every: scheduledEvery, Run: newSchedule(log, svc, fd).Pass}, // due scheduled posts (schedule.go)
		{Name: "billing-enforcer", Every: billingEvery, Run: func(ctx context.Context) error { // grace, suspension, reactivation
			_, err := enforcer.RunOnce(ctx)
			return err
		}},
		{Name: "usage-meter", Every: meterEvery, Run: newMeter(cfg, log, svc).RunOnce},
		{Name: "inbox", Run: func(ctx context.Context) error { // verified activities → follows, posts, answers
			fd.process.Run(ctx)
			return nil
		}},
		{Name: "deliveries", Run: svc.withQuotas(fd.deliveryWorker(log)).Run}, // hourly quotas (quotas.go)
		pushJob(cfg, log, svc, fd), // Web Push (push.go)
		// accounts their owners deleted (account_delete.go)
		accountDeletionsJob(cfg, log, svc, fd),
	}
}
