package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/roost-social/roost/api"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/api/mastodon"
	apioauth "github.com/roost-social/roost/api/oauth"
	"github.com/roost-social/roost/api/public"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/portability"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/internal/bench"
	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/devenv"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/oauth"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

// quiet is the benchmarks' logger: what the private environment and the
// wired services log would drown the figures (the resolve warning of
// bench delivery alone names every receiving host).
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// runBench runs a benchmark of internal/bench against private PostgreSQL
// and Redis it provisions (nothing of a real instance is touched) and
// prints its result as the last line, one JSON object. Benchmarks log
// nowhere (quiet), so the command's logger is not used.
func runBench(ctx context.Context, cfg *config.Config, _ *slog.Logger, args []string) error {
	if len(args) == 0 {
		return errs.E(errs.Invalid, "usage: roost bench delivery|inbox|timeline|post|load|export|web [flags]")
	}
	switch args[0] {
	case "delivery":
		return benchDelivery(ctx, cfg, args[1:])
	case "inbox":
		return benchInbox(ctx, cfg, args[1:])
	case "timeline":
		return benchTimeline(ctx, cfg, args[1:])
	case "post":
		return benchPost(ctx, cfg, args[1:])
	case "load":
		return benchLoad(ctx, cfg, args[1:])
	case "export":
		return benchExport(ctx, cfg, args[1:])
	case "web":
		return benchWeb(ctx, cfg, args[1:])
	case "compare":
		return benchCompare(ctx, cfg, args[1:]) // bench_compare.go
	case "domains":
		return benchDomains(ctx, cfg, args[1:]) // bench_domains.go
	case "fairness":
		return benchFairness(ctx, cfg, args[1:]) // bench_fairness.go
	}
	return errs.E(errs.Invalid, "unknown benchmark %q; use delivery, inbox, timeline, post, load, export or web", args[0])
}

// benchDelivery is `roost bench delivery`: one post fanned out to
// --inboxes loopback servers.
func benchDelivery(ctx context.Context, cfg *config.Config, args []string) error {
	var o bench.DeliveryOptions
	fs := flag.NewFlagSet("bench delivery", flag.ContinueOnError)
	fs.IntVar(&o.Inboxes, "inboxes", 580, "number of receiving servers")
	fs.IntVar(&o.Concurrency, "concurrency", 128, "deliveries in flight")
	fs.DurationVar(&o.Timeout, "timeout", 2*time.Minute, "give up after")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the timed window here")
	fs.StringVar(&o.BlockProfile, "blockprofile", "", "write a block profile of the timed window here")
	fs.StringVar(&o.MutexProfile, "mutexprofile", "", "write a mutex profile of the timed window here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	recv, err := bench.NewReceiver(o.Inboxes)
	if err != nil {
		return err
	}
	defer func() { _ = recv.Close() }() // test receiver on loopback: nothing outlives the process
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
	res, err := bench.Delivery{Env: benchEnv(svc), Outbox: fd.outbox, Worker: fd.deliveryWorker(quiet)}.Run(ctx, recv, o)
	if err != nil {
		return err
	}
	return printResult(res)
}

// benchInbox is `roost bench inbox`: signed POSTs to the shared inbox.
func benchInbox(ctx context.Context, cfg *config.Config, args []string) error {
	var o bench.InboxOptions
	fs := flag.NewFlagSet("bench inbox", flag.ContinueOnError)
	fs.IntVar(&o.Requests, "requests", 5000, "number of inbox POSTs")
	fs.IntVar(&o.Concurrency, "concurrency", 32, "requests in flight")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the timed window here")
	schemeName := fs.String("scheme", "cavage", "signature scheme of the deliveries: cavage or rfc9421")
	fs.StringVar(&o.Key, "key", "rsa", "sender key: rsa (2048 bits) or ed25519")
	if err := fs.Parse(args); err != nil {
		return err
	}
	scheme, err := bench.Scheme(*schemeName, o.Key)
	if err != nil {
		return err
	}
	o.Scheme = scheme
	svc, stop, err := benchServices(ctx, cfg)
	if err != nil {
		return err
	}
	defer stop()
	cache := tenant.NewHostCache(svc.tenants, time.Minute, 1000)
	fd, err := newFed(cfg, quiet, svc, cache)
	if err != nil {
		return err
	}
	batcher := svc.social.NewInboxBatcher()
	defer batcher.Close()
	fd.inbox.Store = batcher
	app := api.New(api.Options{Sites: cache, Accounts: svc.social, Inbox: fd.inbox, Log: quiet,
		URL: httpx.URLConfig{Scheme: "http"}, Metrics: prometheus.NewRegistry()})
	res, err := bench.Inbox{Env: benchEnv(svc), Server: app, Actors: svc.social}.Run(ctx, o)
	if err != nil {
		return err
	}
	return printResult(res)
}

// benchTimeline is `roost bench timeline`: home timeline reads over a
// seeded database, one JSON line per follow pattern.
func benchTimeline(ctx context.Context, cfg *config.Config, args []string) error {
	var o bench.TimelineOptions
	fs := flag.NewFlagSet("bench timeline", flag.ContinueOnError)
	fs.IntVar(&o.Statuses, "statuses", 1_000_000, "statuses in the database")
	fs.IntVar(&o.Follows, "follows", 5000, "accounts each reader follows")
	fs.IntVar(&o.Requests, "requests", 1000, "timed reads per pattern")
	fs.IntVar(&o.Pages, "pages", 10, "pages read with max_id before starting again from the top")
	fs.IntVar(&o.Concurrency, "concurrency", 1, "reads in flight")
	only := fs.String("patterns", "often,once,dormant,read", "patterns to measure")
	fs.IntVar(&o.ReadAuthors, "read-authors", 20, "local authors read by their followers (past ROOST_HOME_PULL_FOLLOWERS) whom the \"read\" pattern's reader follows")
	fs.BoolVar(&o.Explain, "explain", false, "print the plans (EXPLAIN ANALYZE, by auto_explain) of one top and one deep read and of a \"For you\" page per pattern to stderr")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the timed reads here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.Patterns = strings.Split(*only, ",")
	svc, stop, err := benchServices(ctx, cfg)
	if err != nil {
		return err
	}
	defer stop()
	client, err := benchAPI(cfg, svc)
	if err != nil {
		return err
	}
	return bench.Timeline{Env: benchEnv(svc), API: client, Views: svc.social,
		ViewsOn: func(db *pgxpool.Pool) bench.TimelineViews { return fedpg.New(db) },
		Emit:    printResult}.Run(ctx, o)
}

// benchPost is `roost bench post`: post latency and the delay to the
// last home feed, per audience of local followers.
func benchPost(ctx context.Context, cfg *config.Config, args []string) error {
	var o bench.PostOptions
	fs := flag.NewFlagSet("bench post", flag.ContinueOnError)
	followers := fs.String("followers", "1000,10000,50000", "audiences measured in turn: local followers of the poster")
	fs.IntVar(&o.Posts, "posts", 200, "timed posts per audience")
	fs.IntVar(&o.Concurrency, "concurrency", 4, "posts in flight")
	fs.IntVar(&o.Probes, "probes", 5, "posts per audience timed to their last follower's home feed, one at a time")
	without := fs.String("without-triggers", "", "comma-separated table.trigger to disable first (to measure their cost)")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the timed posts here")
	fs.Float64Var(&o.Rate, "rate", 2, "posts per second of the latency run (one account posting steadily; 0: no latency run)")
	fs.IntVar(&o.LatencyPosts, "latency-posts", 100, "posts of the latency run per audience")
	fs.BoolVar(&o.Durable, "durable", true, "run the private PostgreSQL with fsync and synchronous_commit on, as an operator does")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := parseBenchPostLists(&o, *followers, *without); err != nil { // fanout.go
		return err
	}
	svc, stop, err := benchServicesWith(ctx, cfg, o.Durable)
	if err != nil {
		return err
	}
	defer stop()
	client, err := benchAPI(cfg, svc)
	if err != nil {
		return err
	}
	o.PullAbove = pullAbove(cfg) // fanout.go
	res, err := bench.Post{Env: benchEnv(svc), API: client, FanOut: runFanOut(svc, o.PullAbove)}.Run(ctx, o)
	if err != nil {
		return err
	}
	return printResult(res)
}

// benchLoad is `roost bench load`: a mixed open-loop workload on serve
// and work processes of this executable.
func benchLoad(ctx context.Context, cfg *config.Config, args []string) error {
	var o bench.LoadOptions
	fs := flag.NewFlagSet("bench load", flag.ContinueOnError)
	fs.IntVar(&o.Nodes, "nodes", 3, "roost serve processes")
	fs.IntVar(&o.Workers, "workers", 1, "roost work processes")
	fs.IntVar(&o.Tenants, "tenants", 1000, "tenant domains (one account each)")
	fs.IntVar(&o.Users, "users", 50, "accounts with OAuth tokens that read timelines and post")
	fs.Float64Var(&o.Rate, "rate", 200, "requests per second (the first rate with --find-max)")
	fs.DurationVar(&o.Duration, "duration", 20*time.Second, "length of each timed run")
	fs.BoolVar(&o.FindMax, "find-max", false, "raise the rate by --step until p99 > --p99 or an error, and report the highest rate held")
	fs.Float64Var(&o.Step, "step", 1.25, "rate multiplier between --find-max runs")
	fs.Float64Var(&o.P99, "p99", 100, "p99 target in ms for --find-max")
	fs.BoolVar(&o.Overload, "overload", false, "run at --rate (far past saturation), then at --recover-rate: fast 503s, bounded memory, recovery")
	fs.Float64Var(&o.RecoverRate, "recover-rate", 100, "rate of the recovery run after --overload")
	fs.StringVar(&o.MaxInflight, "max-inflight", "auto", "ROOST_MAX_INFLIGHT of the serve nodes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	svc, stop, err := benchServices(ctx, cfg)
	if err != nil {
		return err
	}
	defer stop()
	res, err := bench.Load{Env: benchEnv(svc), OAuth: &oauth.Service{Store: tenantpg.NewOAuthStore(svc.db)}, Actors: svc.social,
		Exe: exe, DatabaseURL: cfg.DatabaseURL, RedisURL: cfg.RedisURL, RedisPrefix: cfg.RedisPrefix,
		Emit: printResult}.Run(ctx, o)
	if err != nil {
		return err
	}
	return printResult(res)
}

// benchExport is `roost bench export`: export and re-import of a large
// account, and two hostile archives.
func benchExport(ctx context.Context, cfg *config.Config, args []string) error {
	var o bench.ExportOptions
	fs := flag.NewFlagSet("bench export", flag.ContinueOnError)
	fs.IntVar(&o.Posts, "posts", 100_000, "posts of the exported account")
	fs.Int64Var(&o.Media, "media", 2<<30, "bytes of media, spread over files of -media-file bytes attached to the first posts")
	fs.Int64Var(&o.MediaFile, "media-file", 4<<20, "size of one media file (at most 16 MB, the upload limit)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := o.Check(); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "roost-bench-export-")
	if err != nil {
		return err
	}
	defer removeTemp(dir)
	cfg.MediaDir = filepath.Join(dir, "media")
	svc, stop, err := benchServices(ctx, cfg)
	if err != nil {
		return err
	}
	defer stop()
	fd, err := newFed(cfg, quiet, svc, storeResolver{svc.tenants})
	if err != nil {
		return err
	}
	mediaSv, err := newMedia(ctx, cfg, svc)
	if err != nil {
		return err
	}
	res, err := bench.Export{Env: benchEnv(svc), Locals: fd.locals, Media: mediaSv, Dir: dir,
		Export: func(ctx context.Context, local *federation.Account, links federation.Links, path string) error {
			return exportArchive(ctx, svc.social, mediaSv, local, links, path, nil)
		},
		Import: func(ctx context.Context, local *federation.Account, links federation.Links, path string) (*portability.Summary, error) {
			return importFile(ctx, svc, mediaSv, fd, local, links, path, false)
		}}.Run(ctx, o)
	if err != nil {
		return err
	}
	return printResult(res)
}

// benchWeb is `roost bench web`: the public profile and post pages beside
// the client API's JSON of the same posts.
func benchWeb(ctx context.Context, cfg *config.Config, args []string) error {
	var o bench.WebOptions
	fs := flag.NewFlagSet("bench web", flag.ContinueOnError)
	fs.IntVar(&o.Requests, "requests", 2000, "timed reads per page")
	fs.IntVar(&o.Concurrency, "concurrency", 8, "reads in flight")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the timed reads here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	svc, stop, err := benchServices(ctx, cfg)
	if err != nil {
		return err
	}
	defer stop()
	client, err := benchAPI(cfg, svc)
	if err != nil {
		return err
	}
	res, err := bench.Web{Env: benchEnv(svc), API: client}.Run(ctx, o)
	if err != nil {
		return err
	}
	return printResult(res)
}

// benchEnv is what every benchmark starts from.
func benchEnv(svc *services) bench.Env {
	return bench.Env{DB: svc.db, Tenants: svc.tenantSv, Progress: os.Stderr,
		CreateAccount: func(ctx context.Context, domain, username, email, password, display string) (*federation.Account, error) {
			return createAccount(ctx, svc, domain, username, email, password, display)
		}}
}

// benchAPI wires the client API as a web node serves it, with its OAuth
// service.
func benchAPI(cfg *config.Config, svc *services) (bench.API, error) {
	cache := tenant.NewHostCache(svc.tenants, time.Minute, 1000)
	fd, err := newFed(cfg, quiet, svc, cache)
	if err != nil {
		return bench.API{}, err
	}
	store := tenantpg.NewOAuthStore(svc.db)
	o := &oauth.Service{Store: store}
	urls := httpx.URLConfig{Scheme: "http"}
	m := &mastodon.Handler{Auth: o, Views: svc.social, Client: svc.social, Accounts: svc.social,
		Outbox: fd.outbox, Sites: cache, URL: urls, ForYou: svc.social}
	pages := &public.Handler{Accounts: svc.social, Views: svc.social, Source: m, URL: urls, Log: quiet,
		Cache: public.NewPageCache(publicCacheBytes, publicCacheTTL), Emojis: svc.social, Sizes: svc.social} // as serve's (public.go)
	app := api.New(api.Options{
		OAuth:    &apioauth.Handler{OAuth: o, Logins: store, URL: urls, Log: quiet},
		Mastodon: m,
		Public:   pages, // bench web
		Sites:    cache, Accounts: svc.social, Inbox: fd.inbox, Statuses: svc.social, Collections: svc.social,
		URL: urls, Log: quiet, Metrics: prometheus.NewRegistry(),
	})
	return bench.API{Server: app, OAuth: o}, nil
}

// benchServices provisions a private environment in a temporary directory,
// migrated, and connects to it; stop removes everything.
func benchServices(ctx context.Context, cfg *config.Config) (*services, func(), error) {
	return benchServicesWith(ctx, cfg, false)
}

// benchServicesWith is benchServices with PostgreSQL durable (fsync and
// synchronous_commit on, as in production) or not (faster, as in tests).
func benchServicesWith(ctx context.Context, cfg *config.Config, durable bool) (*services, func(), error) {
	dir, err := os.MkdirTemp("", "roost-bench-")
	if err != nil {
		return nil, nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil { // the database server's user reads it
		removeTemp(dir)
		return nil, nil, err
	}
	env, err := devenv.Start(ctx, devenv.Options{Dir: dir, Install: true, Database: "bench", Durable: durable,
		Logf: func(f string, a ...any) { quiet.Debug(fmt.Sprintf(f, a...)) }})
	if err != nil {
		removeTemp(dir)
		return nil, nil, err
	}
	stop := func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "roost bench: stopping the private servers: %v\n", err)
		}
		removeTemp(dir)
	}
	cfg.DatabaseURL, cfg.RedisURL, cfg.RedisPrefix, cfg.URLScheme, cfg.PublicPort = env.DatabaseURL, env.RedisURL, "bench:", "http", 0
	if err := migrate(ctx, cfg.DatabaseURL, quiet); err != nil {
		stop()
		return nil, nil, err
	}
	svc, err := connect(ctx, cfg, quiet, true)
	if err != nil {
		stop()
		return nil, nil, err
	}
	return svc, func() { svc.close(); stop() }, nil
}

// printResult writes a benchmark's JSON line.
func printResult(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	fmt.Println(string(b))
	return nil
}

// removeTemp removes a benchmark's temporary directory, saying so when it
// cannot: the figures stand, but the disk space is the operator's to free.
func removeTemp(dir string) {
	if err := os.RemoveAll(dir); err != nil {
		fmt.Fprintf(os.Stderr, "roost bench: could not remove %s: %v\n", dir, err)
	}
}
