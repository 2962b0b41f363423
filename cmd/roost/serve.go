package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/roost-social/roost/api"
	"github.com/roost-social/roost/api/activitypub"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/api/mastodon"
	apioauth "github.com/roost-social/roost/api/oauth"
	"github.com/roost-social/roost/api/streaming"
	"github.com/roost-social/roost/api/webapp"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/federation/relme"
	"github.com/roost-social/roost/federation/social/about"
	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/hotcache"
	"github.com/roost-social/roost/internal/jobs"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/factor"
	"github.com/roost-social/roost/tenant/oauth"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
	tenantredis "github.com/roost-social/roost/tenant/redis"
)

func runServe(ctx context.Context, cfg *config.Config, log *slog.Logger, _ []string) error {
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
	return serve(ctx, cfg, log, svc, nil)
}

// serve runs a web node until ctx ends, then finishes in-flight requests
// within ROOST_SHUTDOWN_GRACE. listening (may be nil) is called once the
// node's ports are bound, so `roost dev` announces only a reachable node.
func serve(ctx context.Context, cfg *config.Config, log *slog.Logger, svc *services, listening func()) error {
	cache := tenant.NewHostCache(svc.tenants, cfg.DomainCacheTTL, cfg.DomainCacheMax)
	subscribed := make(chan struct{})
	fd, err := newFed(cfg, log, svc, cache)
	if err != nil {
		return err
	}
	batcher := svc.social.NewInboxBatcher() // group-commits inbox enqueues
	defer batcher.Close()
	fd.inbox.Store = batcher
	reg := svc.metrics // `roost dev` shares one registry with its workers (dev.go)
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	var proxies []string
	for _, p := range cfg.TrustedProxies {
		proxies = append(proxies, p.String())
	}
	oauthStore := tenantpg.NewOAuthStore(svc.db)
	// two-factor sign-in of the web app and the OAuth page (tenant/factor)
	factors := &factor.Service{Store: tenantpg.NewFactorStore(svc.db)}
	// one account deleted by its owner (account_delete.go)
	deletions := newAccountDeletions(log, svc, factors)
	hot := hotcache.NewSet(reg) // in-process caches (hotcache.go)
	oauthSvc := &oauth.Service{Store: oauth.NewCachedStore(hot, oauthStore)}
	urls := httpx.URLConfig{Scheme: cfg.URLScheme, Port: cfg.PublicPort}
	mastodonAPI := &mastodon.Handler{Auth: oauthSvc, Views: svc.social, Client: svc.social, Accounts: svc.social,
		Outbox: fd.outbox, Sites: cache, URL: urls, Instance: mastodon.InstanceInfo{Version: version},
		ForYou: svc.social, Blocks: fd.blocks}
	if mastodonAPI.Media, err = newMedia(ctx, cfg, svc); err != nil { // uploads (media.go)
		return err
	}
	mastodonAPI.Polls = svc.social
	mastodonAPI.Quotes = fd.quotes // quote posts (api/mastodon/quotes.go)
	// link previews (cards.go)
	mastodonAPI.Cards = newCards(svc, mastodonAPI.Media)
	// scheduled posts; the instance's and tenants' news; translation (schedule.go)
	mastodonAPI.Schedule, mastodonAPI.Announcements = newSchedule(log, svc, fd), newAnnouncements(svc)
	if mastodonAPI.Translate, err = newTranslate(cfg, svc); err != nil {
		return err
	}
	// Web Push subscriptions and VAPID keys (push.go)
	mastodonAPI.Push = newPush(svc)
	// account exports and imports, run by roost work (archive_work.go)
	mastodonAPI.Archives = &mastodon.Archives{Jobs: svc.social, Dir: archiveDir(cfg), MaxUpload: 1 << 30}
	mastodonAPI.UseSocialStore(svc.social, fd.outbox) // lists, filters, conversations, emojis, search... (api/mastodon/wiring.go)
	mastodonAPI.RelMe = &relme.Verifier{Fetch: fd.fetch, Store: svc.social, Log: log}
	mastodonAPI.Threads, mastodonAPI.InstanceData = svc.social, svc.social // thread mutes, instance routes (statusroutes.go)
	// Rules, about, terms, domain blocks (api/mastodon/instance_routes.go).
	mastodonAPI.About = &about.Service{Store: svc.social}
	hub := streaming.NewHub(svc.redis, cfg.RedisPrefix, log) // this node's one streaming subscription
	// api/public with its page cache (public.go)
	pages, pagesJob := newPublicPages(cfg, log, svc, reg, mastodonAPI, urls, fd.fetch)
	accounts, cachesJob := newNodeCaches(log, svc, hot, mastodonAPI) // in-process caches (hotcache.go)
	stopJobs := startNodeJobs(ctx, log, reg, append(nodeJobs(cfg, log, svc, fd, cache, hub, subscribed), pagesJob, cachesJob))
	defer stopJobs()
	app := api.New(api.Options{
		OAuth: &apioauth.Handler{OAuth: oauthSvc, Logins: oauthStore, URL: urls, Log: log, SignIn: svc.signin,
			VAPIDKey: mastodonAPI.Push.PublicKey, Factors: factors},
		Portal:      newPortal(cfg, log, svc, fd.fetch), // signup portal on ROOST_PORTAL_HOST (portal.go)
		Operator:    newOperator(cfg, log, svc, fd),     // operator dashboard on ROOST_OPERATOR_HOST (admin.go)
		TenantAdmin: newTenantAdmin(cfg, log, svc, fd),  // the same dashboard under /admin on tenant domains (admin.go)
		Billing:     newBillingWebhook(cfg, log, svc),   // Stripe webhook on the portal host (billing.go)
		Mastodon:    mastodonAPI,
		Public:      pages, // api/public
		Web: webapp.New(webapp.Deps{OAuth: oauthSvc, Logins: oauthStore, SignIn: svc.signin, Accounts: svc.social,
			URL: urls, Log: log, Settings: webapp.Settings{Apps: &oauth.Authorizations{Store: oauthStore},
				Factors: factors, Deletions: deletions, Archives: svc.social}}), // the signed-in web app (api/webapp)
		Streaming:      &streaming.Handler{Auth: oauthSvc, Render: mastodonAPI, Hub: hub, Log: log, Lists: mastodonAPI.Lists, Home: svc.social},
		Sites:          cache,
		Accounts:       accounts,
		WebFingers:     activitypub.NewWebFingers(hot), // rendered WebFinger answers (api/activitypub/webfinger_cache.go)
		Inbox:          fd.inbox,
		Statuses:       svc.social,
		Collections:    svc.social,
		Stamps:         svc.social, // quote stamps (api/activitypub/stamp.go)
		InstanceKey:    fd.instancePub,
		URL:            urls,
		TrustedProxies: proxies,
		Log:            log,
		Ready:          serviceChecks(svc),
		Metrics:        reg,
		Gatherer:       reg,
		ServeMetrics:   cfg.MetricsAddr == "",
		MaxInflight:    maxInflight(cfg, svc), // load shedding (api/shed.go)
		Quotas:         svc.requestQuota(),    // per-tenant requests per second (quotas.go)
		Streams: api.StreamLimits{Node: cfg.StreamingMax, PerIP: cfg.StreamingMaxPerIP, // api/streams.go
			PerToken: cfg.StreamingMaxPerToken},
		// signed GETs (ROOST_AUTHORIZED_FETCH) are verified as inbox POSTs are
		AuthorizedFetch: cfg.AuthorizedFetch,
		Fetches:         fd.inbox,
		// deleted accounts' actors answer 410 Gone (account_delete.go)
		DeletedAccounts: deletions,
	})

	errc := make(chan error, 2)
	if cfg.MetricsAddr != "" { // /metrics, /healthz and /readyz in plain HTTP (ops.go)
		stopOps, err := listenOps(cfg.MetricsAddr, opsHandler(reg, serviceChecks(svc), log), errc)
		if err != nil {
			return err
		}
		defer stopOps()
	}
	select {
	case <-subscribed:
	case <-time.After(5 * time.Second):
		log.Warn("host invalidation channel not subscribed yet; serving with TTL-only cache expiry until it is")
	}
	if cfg.TLS == "acme" || cfg.TLS == "self-signed" { // HTTPS with on-demand certificates, HTTP redirect (tls.go)
		stopTLS, err := listenTLS(ctx, cfg, log, svc, cache, app, reg, errc)
		if err != nil {
			return err
		}
		defer stopTLS()
	} else {
		// Bound here, not in the goroutine, so a busy port fails the
		// start with the variable to change rather than after a banner.
		ln, err := net.Listen("tcp", cfg.HTTPAddr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w (set ROOST_HTTP_ADDR to a free address)", cfg.HTTPAddr, err)
		}
		go func() {
			if err := app.Listener(ln); err != nil {
				errc <- fmt.Errorf("serve on %s (ROOST_HTTP_ADDR): %w", cfg.HTTPAddr, err)
			}
		}()
		log.Info("web node listening", "addr", cfg.HTTPAddr)
	}
	// Recorded once bound: CLI commands check their links against it.
	if err := svc.tenants.RecordOrigin(ctx, servedOrigin(cfg)); err != nil {
		log.Warn("served origin not recorded; CLI commands cannot check their links", "err", err)
	}
	if listening != nil {
		listening()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down web node", "grace", cfg.ShutdownGrace)
	return app.ShutdownWithTimeout(cfg.ShutdownGrace)
}

// runRelay carries streaming events from PostgreSQL to Redis until ctx
// ends. Every serve and work process runs one; they elect one to relay.
func runRelay(ctx context.Context, cfg *config.Config, log *slog.Logger, svc *services) {
	pub := &streaming.Publisher{Redis: svc.redis, Prefix: cfg.RedisPrefix, Log: log}
	(&fedpg.Relay{DB: svc.db, Handle: pagesRelay(cfg, log, svc, pub.Publish), Log: log, Elected: pub.Reset}).Run(ctx) // page events: public.go
}

// nodeJobs are a web node's background loops, supervised as `roost
// work`'s are (internal/jobs): host-cache invalidations (the first run
// says when it is subscribed), domain-block refreshes, the node's
// streaming subscription and the elected streaming relay.
func nodeJobs(cfg *config.Config, log *slog.Logger, svc *services, fd *fed, cache *tenant.HostCache,
	hub *streaming.Hub, subscribed chan struct{}) []jobs.Job {
	ready := subscribed
	return []jobs.Job{
		{Name: "host-cache-invalidations", Run: func(ctx context.Context) error {
			r := ready
			ready = nil // closed once, by the first subscription
			tenantredis.Subscribe(ctx, svc.redis, tenantredis.Channel(cfg.RedisPrefix), cache, log, r)
			return nil
		}},
		{Name: "domain-blocks", Every: fd.blocks.Interval(), Run: fd.blocks.Refresh}, // blocks made on any node
		{Name: "streaming-hub", Run: func(ctx context.Context) error {
			// The hub cannot start twice: if its subscription ends before
			// ctx, the node serves no streaming events until restarted,
			// as before; the job waits rather than restart it.
			hub.Run(ctx)
			<-ctx.Done()
			return nil
		}},
		{Name: "streaming-relay", Run: func(ctx context.Context) error { // one relay per instance is elected
			runRelay(ctx, cfg, log, svc)
			return nil
		}},
	}
}

// startNodeJobs runs js under one supervisor until ctx ends or the
// returned stop is called; stop waits for every job to return.
func startNodeJobs(ctx context.Context, log *slog.Logger, reg prometheus.Registerer, js []jobs.Job) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := (&jobs.Runner{Log: log, Registerer: reg, Jitter: jobs.DefaultJitter}).Run(ctx, js...); err != nil {
			log.Error("web node jobs stopped", "err", err)
		}
	}()
	return func() {
		cancel()
		<-done
	}
}
