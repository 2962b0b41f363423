package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	goredis "github.com/redis/go-redis/v9"
	ap "github.com/roost-social/roost/federation/activitypub"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/ratelimit"
	"github.com/roost-social/roost/migrations"
	"github.com/roost-social/roost/tenant"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
	"github.com/roost-social/roost/tenant/quota"
	tenantredis "github.com/roost-social/roost/tenant/redis"
)

var version = ap.SoftwareVersion

// services are the connections and stores every command shares.
type services struct {
	db      *pgxpool.Pool
	redis   *goredis.Client
	tenants *tenantpg.Store
	// social is the social core's store (federation/postgres): accounts,
	// posts, follows, timelines and the rest of what people do.
	social   *fedpg.Store
	tenantSv *tenant.Service
	// signin throttles sign-in attempts (signin.go); nil without Redis.
	signin *ratelimit.Guard
	// quotas are the per-tenant quotas (quotas.go); nil without Redis.
	quotas *quota.Service
	// metrics, when set, is the registry serve exports on /metrics:
	// `roost dev` sets it so one process exports its workers' queue and
	// job metrics too.
	metrics *prometheus.Registry
}

// redisDialTimeout bounds one connection attempt to Redis unless
// ROOST_REDIS_URL sets dial_timeout.
const redisDialTimeout = 2 * time.Second

// connect opens PostgreSQL and, when withRedis, Redis, failing within
// ten seconds with a message naming the variable to check.
func connect(ctx context.Context, cfg *config.Config, log *slog.Logger, withRedis bool) (*services, error) {
	if cfg.DatabaseURL == "" {
		return nil, fmt.Errorf("ROOST_DATABASE_URL is not set (e.g. postgres://roost@127.0.0.1:5432/roost)")
	}
	pcfg, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("invalid ROOST_DATABASE_URL: %w", err)
	}
	pcfg.MaxConns = max(pcfg.MaxConns, 20)
	// PostgreSQL compiles a query with LLVM once its estimated cost passes
	// jit_above_cost, in the query's own time. Roost's reads are short,
	// but their estimates are not: a home timeline page merging read
	// authors (issue 21) is estimated past the bound and spent 130 ms
	// compiling for 1 ms of work. Off unless ROOST_DATABASE_URL says.
	if _, set := pcfg.ConnConfig.RuntimeParams["jit"]; !set {
		pcfg.ConnConfig.RuntimeParams["jit"] = "off"
	}
	circuit := boundAcquire(pcfg, cfg.DBAcquireTimeout) // ROOST_DB_ACQUIRE_TIMEOUT; fails fast while PostgreSQL is down (pool.go)
	circuit.Log = log
	boundConnect(pcfg, cfg.DBConnectTimeout) // ROOST_DB_CONNECT_TIMEOUT
	db, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("ROOST_DATABASE_URL: %w", err)
	}
	circuit.Attach(db)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.Ping(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("cannot reach PostgreSQL at ROOST_DATABASE_URL: %w", err)
	}
	s := &services{db: db, tenants: tenantpg.New(db), social: fedpg.New(db)}
	// Every tenant state change goes through tenantSv, which tells the
	// host caches itself.
	s.tenantSv = &tenant.Service{Store: s.tenants, Statuses: tenantpg.NewAdminStore(db),
		Approvals: tenantpg.NewSignupStore(db), Domains: tenantpg.NewLeaveStore(db), Settings: s.tenants, Log: log}
	if withRedis {
		if cfg.RedisURL == "" {
			db.Close()
			return nil, fmt.Errorf("ROOST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379/0)")
		}
		ropt, err := goredis.ParseURL(cfg.RedisURL)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("invalid ROOST_REDIS_URL: %w", err)
		}
		if !strings.Contains(cfg.RedisURL, "dial_timeout=") {
			// A Redis that does not answer is given up on sooner than
			// go-redis's 5 s, for each of its retries (docs/operating.md).
			ropt.DialTimeout = redisDialTimeout
		}
		s.redis = goredis.NewClient(ropt)
		if err := s.redis.Ping(pctx).Err(); err != nil {
			s.close()
			return nil, fmt.Errorf("cannot reach Redis at ROOST_REDIS_URL: %w", err)
		}
		s.tenantSv.Notify = &tenantredis.Notifier{Client: s.redis, Channel: tenantredis.Channel(cfg.RedisPrefix)}
		s.signin = newSignInGuard(cfg, log, s.redis)
		s.quotas = newQuotas(cfg, log, s) // per-tenant quotas (quotas.go)
	}
	return s, nil
}

func (s *services) close() {
	if s.redis != nil {
		s.redis.Close()
	}
	s.db.Close()
}

// migrate applies migrations over a dedicated connection (tern takes an
// advisory lock on it).
func migrate(ctx context.Context, databaseURL string, log *slog.Logger) error {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return fmt.Errorf("cannot reach PostgreSQL at ROOST_DATABASE_URL: %w", err)
	}
	defer conn.Close(context.Background())
	from, to, err := migrations.Migrate(ctx, conn)
	if err != nil {
		return err
	}
	if from != to {
		log.Info("database migrated", "from", from, "to", to)
	} else {
		log.Info("database schema is current", "version", to)
	}
	return nil
}
