package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	billingpg "github.com/roost-social/roost/billing/postgres"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/internal/bench"
	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/certs"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
	"github.com/roost-social/roost/tenant/verify"
)

// benchDomains is `roost bench domains`: an instance of --count tenant
// domains with certificates, its nodes' start-up and memory, routing,
// TLS, dashboard reads, background passes and the renewal plan. The
// table goes to stderr, the JSON line to stdout.
func benchDomains(ctx context.Context, cfg *config.Config, args []string) error {
	var o bench.DomainsOptions
	fs := flag.NewFlagSet("bench domains", flag.ContinueOnError)
	fs.IntVar(&o.Count, "count", 100_000, "tenants, each with one verified domain, one account and a certificate per host name")
	fs.IntVar(&o.OwnPercent, "own-percent", 20, "percent of tenants on a domain of their own (the rest are subdomains of --base-domain)")
	fs.StringVar(&o.BaseDomain, "base-domain", "roost.example", "ROOST_BASE_DOMAIN of the seeded instance")
	fs.IntVar(&o.Nodes, "nodes", 3, "roost serve processes; invalidation is observed on all but the first (which serves HTTPS)")
	fs.DurationVar(&o.Duration, "duration", 3*time.Second, "length of each timed routing and TLS run")
	fs.IntVar(&o.Samples, "samples", 200, "timed reads per dashboard page")
	fs.IntVar(&o.TLSCold, "tls-cold", 3000, "handshakes for names outside the node's certificate cache")
	fs.IntVar(&o.TLSCacheMiB, "tls-cache-mb", 0, "ROOST_TLS_CACHE_MB of the HTTPS node (0: its default)")
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
	signups := tenantpg.NewSignupStore(svc.db)
	passes := []bench.DomainsPass{
		{Name: "usage-meter", Every: meterEvery, Run: newMeter(cfg, quiet, svc).RunOnce},
		{Name: "billing-enforcer", Every: billingEvery, Run: func(ctx context.Context) error {
			_, err := newEnforcer(cfg, quiet, svc).RunOnce(ctx)
			return err
		}},
		// A day of domain re-checks, leased as the checker leases them
		// (the DNS lookups themselves are the operator's resolver's).
		{Name: "domain-rechecks (leases)", Every: verify.RecheckEvery, Run: func(ctx context.Context) error {
			for {
				due, err := signups.DueClaims(ctx, time.Now().Add(verify.RecheckEvery), time.Hour, 50)
				if err != nil || len(due) == 0 {
					return err
				}
			}
		}},
		{Name: "renewal-sweep (statuses)", Every: certs.RenewEvery, Run: func(ctx context.Context) error {
			_, err := certs.NewStorage(tenantpg.NewCertStore(svc.db)).Statuses(ctx)
			return err
		}},
	}
	res, err := bench.Domains{Env: benchEnv(svc), Hosts: svc.tenants, ReadsOn: domainsReads, Passes: passes,
		Exe: exe, DatabaseURL: cfg.DatabaseURL, RedisURL: cfg.RedisURL, RedisPrefix: cfg.RedisPrefix}.Run(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprint(os.Stderr, res.Table())
	return printResult(res)
}

// domainsReads are the reads of the operator dashboard's pages, a
// tenant's own dashboard, the portal's claim page and NodeInfo, on db.
func domainsReads(db *pgxpool.Pool) []bench.DomainsRead {
	admin, social, bill, signups := tenantpg.NewAdminStore(db), fedpg.New(db), billingpg.NewStore(db), tenantpg.NewSignupStore(db)
	return []bench.DomainsRead{
		{Name: "operator dashboard", Run: func(ctx context.Context, _ int64, _ string) error {
			_, err := admin.Stats(ctx, 0, time.Now())
			return err
		}},
		{Name: "tenant list", Run: func(ctx context.Context, _ int64, _ string) error {
			_, err := admin.Tenants(ctx, tenant.TenantFilter{})
			return err
		}},
		{Name: "tenant list, suspended", Run: func(ctx context.Context, _ int64, _ string) error {
			_, err := admin.Tenants(ctx, tenant.TenantFilter{Status: string(tenant.Suspended)})
			return err
		}},
		{Name: "tenant search", Run: func(ctx context.Context, _ int64, domain string) error {
			_, err := admin.Tenants(ctx, tenant.TenantFilter{Query: domain[:min(len(domain), 9)]})
			return err
		}},
		{Name: "tenant detail", Run: func(ctx context.Context, id int64, _ string) error {
			_, err := admin.Tenant(ctx, id)
			return err
		}},
		{Name: "tenant dashboard", Run: func(ctx context.Context, id int64, _ string) error {
			_, err := admin.Stats(ctx, id, time.Now())
			return err
		}},
		{Name: "billing usage (operator)", Run: func(ctx context.Context, _ int64, _ string) error {
			_, err := bill.Latest(ctx)
			return err
		}},
		{Name: "billing usage (tenant)", Run: func(ctx context.Context, id int64, _ string) error {
			_, err := bill.Usage(ctx, id, time.Now(), 30)
			return err
		}},
		{Name: "portal claim", Run: func(ctx context.Context, _ int64, domain string) error {
			_, err := signups.Claim(ctx, domain)
			return err
		}},
		{Name: "nodeinfo", Run: func(ctx context.Context, id int64, _ string) error {
			_, err := social.Usage(ctx, id)
			return err
		}},
	}
}
