package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"

	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

// runTenantAuthorizedFetch is `roost tenant authorized-fetch --tenant
// DOMAIN on|off|default`: the tenant's own authorized-fetch setting
// (issue 16), overriding ROOST_AUTHORIZED_FETCH, or following it again.
// Every node's host cache is told at once (with ROOST_REDIS_URL set;
// otherwise within ROOST_DOMAIN_CACHE_TTL).
func runTenantAuthorizedFetch(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	const usage = "usage: roost tenant authorized-fetch --tenant DOMAIN on|off|default"
	fs := flag.NewFlagSet("tenant authorized-fetch", flag.ContinueOnError)
	domain := fs.String("tenant", "", "a domain of the tenant (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *domain == "" || fs.NArg() != 1 {
		return errs.E(errs.Invalid, usage)
	}
	on, err := authorizedFetchValue(fs.Arg(0))
	if err != nil {
		return err
	}
	host, err := tenant.NormalizeHost(*domain)
	if err != nil {
		return errs.E(errs.Invalid, "tenant %q: %s", *domain, errs.MessageOf(err))
	}
	svc, err := connect(ctx, cfg, log, cfg.RedisURL != "")
	if err != nil {
		return err
	}
	defer svc.close()
	site, err := svc.tenants.SiteByHost(ctx, host)
	if err != nil {
		return errs.E(errs.NotFound, "no tenant domain %s", host)
	}
	if err := svc.tenantSv.SetAuthorizedFetch(ctx, site.TenantID, on); err != nil { // tells the host caches
		return err
	}
	state := fmt.Sprintf("follows the instance (ROOST_AUTHORIZED_FETCH=%t)", cfg.AuthorizedFetch)
	if on != nil {
		state = map[bool]string{true: "on", false: "off"}[*on]
	}
	fmt.Printf("authorized fetch for %s: %s\n", site.TenantName, state)
	return nil
}

// authorizedFetchValue parses on, off or default (nil).
func authorizedFetchValue(v string) (*bool, error) {
	t, f := true, false
	switch v {
	case "on", "true":
		return &t, nil
	case "off", "false":
		return &f, nil
	case "default":
		return nil, nil
	}
	return nil, errs.E(errs.Invalid, "authorized-fetch: %q is not on, off or default", v)
}
