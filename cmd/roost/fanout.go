package main

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/federation/social/timeline"
	"github.com/roost-social/roost/internal/bench"
	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/jobs"
)

// fanOutJobs file posts with large audiences in their followers' home
// feeds after commit (federation/social/timeline.FanOut): the waker LISTENs
// for newly queued fan-outs, the workers take them a batch at a time.
func fanOutJobs(log *slog.Logger, svc *services, pullAbove int) []jobs.Job {
	waker := fedpg.NewFanOutWaker(svc.db)
	// One worker: one fan-out batch in flight per `roost work` process.
	// Two kept both cores of a small machine filing home feeds while a
	// large audience's backlog lasted, and posts waited for a core and for
	// the disk behind them (issue 21: commit p99 241 ms at 50,000
	// followers). Queued fan-outs of one author go together (fanout.go in
	// federation/postgres), so one worker files a busy account's backlog
	// at about twice the rows per second of one fan-out at a time.
	fo := &timeline.FanOut{Store: svc.social, Wake: waker.C, Log: log, Workers: 1, PullAbove: pullAbove}
	return []jobs.Job{
		{Name: "home-fanout-waker", Run: waker.Run},
		{Name: "home-fanout", Run: func(ctx context.Context) error { return fo.Run(ctx) }},
	}
}

// runFanOut runs the fan-out jobs under a supervisor of their own until
// ctx ends (`roost bench post`, which runs no other job).
func runFanOut(svc *services, pullAbove int) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		return (&jobs.Runner{Log: quiet}).Run(ctx, fanOutJobs(quiet, svc, pullAbove)...)
	}
}

// pullAbove is FanOut.PullAbove for ROOST_HOME_PULL_FOLLOWERS (0: never).
func pullAbove(cfg *config.Config) int {
	if cfg.HomePullFollowers == 0 {
		return -1
	}
	return cfg.HomePullFollowers
}

// parseBenchPostLists reads `roost bench post`'s list flags: audiences
// (positive and ascending: one poster gains followers between them) and triggers to disable.
func parseBenchPostLists(o *bench.PostOptions, followers, without string) error {
	for _, f := range strings.Split(followers, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return errs.E(errs.Invalid, "--followers: %q is not a positive number", f)
		}
		if len(o.Followers) > 0 && n <= o.Followers[len(o.Followers)-1] {
			return errs.E(errs.Invalid, "--followers: audiences grow (the same poster gains followers): %s", followers)
		}
		o.Followers = append(o.Followers, n)
	}
	for _, t := range strings.Split(without, ",") {
		if t = strings.TrimSpace(t); t != "" {
			o.WithoutTriggers = append(o.WithoutTriggers, t)
		}
	}
	return nil
}

// fanOutCollector exports the fan-out queue's backlog on every scrape of
// a worker's /metrics, as queueCollector does for the other queues (every
// worker reports the same instance-wide numbers: aggregate with max()).
type fanOutCollector struct {
	backlog func(context.Context) (int64, time.Duration, error)
	log     *slog.Logger
}

var (
	fanOutPending = prometheus.NewDesc("roost_home_fanouts_pending", "Posts whose home-feed fan-out to followers is not finished.", nil, nil)
	fanOutOldest  = prometheus.NewDesc("roost_home_fanout_oldest_seconds", "Age of the oldest unfinished home-feed fan-out (0: none): about the longest a follower waits for a post.", nil, nil)
)

func (c fanOutCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- fanOutPending
	ch <- fanOutOldest
}

func (c fanOutCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, oldest, err := c.backlog(ctx)
	if err != nil {
		c.log.Warn("fan-out metrics unavailable", "err", err)
		return
	}
	ch <- prometheus.MustNewConstMetric(fanOutPending, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(fanOutOldest, prometheus.GaugeValue, oldest.Seconds())
}
