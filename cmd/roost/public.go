package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/api/mastodon"
	"github.com/roost-social/roost/api/public"
	publicredis "github.com/roost-social/roost/api/public/redis"
	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/jobs"
)

// The public pages' cache (api/public PageCache): the rendered
// signed-out pages a node keeps, and how long at most when an
// invalidation is lost (no relay elected for a moment, Redis away).
const (
	publicCacheBytes = 64 << 20
	publicCacheTTL   = 2 * time.Minute
)

// newPublicPages wires the public pages of a web node with their cache,
// its metrics, and the job that keeps the cache fresh from the
// invalidations every node hears.
func newPublicPages(cfg *config.Config, log *slog.Logger, svc *services, reg prometheus.Registerer,
	m *mastodon.Handler, urls httpx.URLConfig, finger public.Finger) (*public.Handler, jobs.Job) {
	cache := public.NewPageCache(publicCacheBytes, publicCacheTTL)
	if reg != nil {
		registerPageCacheMetrics(reg, cache)
	}
	h := &public.Handler{Accounts: svc.social, Views: svc.social, Source: m, URL: urls, Log: log, Cache: cache,
		Emojis: svc.social, Sizes: svc.social, Finger: finger}
	return h, jobs.Job{Name: "public-page-invalidations", Run: func(ctx context.Context) error {
		publicredis.Subscribe(ctx, svc.redis, publicredis.Channel(cfg.RedisPrefix), cache, log, nil)
		return nil
	}}
}

func registerPageCacheMetrics(reg prometheus.Registerer, cache *public.PageCache) {
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "roost_public_page_cache_hits_total",
			Help: "Signed-out public page reads answered from this node's page cache."},
			func() float64 { return float64(cache.Stats().Hits) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "roost_public_page_cache_misses_total",
			Help: "Signed-out public page reads this node's page cache did not hold (rendered)."},
			func() float64 { return float64(cache.Stats().Misses) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "roost_public_page_cache_bytes",
			Help: "Bytes of rendered public pages this node's page cache holds."},
			func() float64 { return float64(cache.Stats().Bytes) }),
	)
}

// pagesRelay wraps the streaming relay's handler: the database's page
// events (migrations/042) go to the public pages' channel, the rest to
// streaming.
func pagesRelay(cfg *config.Config, log *slog.Logger, svc *services, next func(context.Context, string)) func(context.Context, string) {
	pages := &publicredis.Publisher{Client: svc.redis, Channel: publicredis.Channel(cfg.RedisPrefix), Log: log}
	return func(ctx context.Context, payload string) {
		if !pages.Publish(ctx, payload) {
			next(ctx, payload)
		}
	}
}
