package main

import (
	"context"
	"net/url"
	"sync"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/tenant"
)

// actingHostTTL bounds how long a tenant's acting host is reused: a tenant
// that adds or moves its first domain signs as the new one soon after.
const actingHostTTL = time.Minute

// tenantActingHost returns the host whose instance actor signs the fetches
// `roost work` makes for a tenant's inbox items (inbox.Processor.ActingHost):
// the actor host of the tenant's first verified domain, as links name it
// (port included), cached per tenant for a minute. Every tenant host has an
// instance actor with the instance's one key pair, so any of them verifies;
// the first is the one people know the site by.
func tenantActingHost(cfg *config.Config, svc *services, sites tenant.Resolver) func(context.Context, int64) string {
	type entry struct {
		host string
		at   time.Time
	}
	var mu sync.Mutex
	cache := map[int64]entry{}
	return func(ctx context.Context, tenantID int64) string {
		mu.Lock()
		e, ok := cache[tenantID]
		mu.Unlock()
		if ok && time.Since(e.at) < actingHostTTL {
			return e.host
		}
		host := lookupActingHost(ctx, cfg, svc, sites, tenantID)
		mu.Lock()
		if len(cache) > 10000 {
			clear(cache) // bounded: one entry per tenant seen lately
		}
		cache[tenantID] = entry{host: host, at: time.Now()}
		mu.Unlock()
		return host
	}
}

func lookupActingHost(ctx context.Context, cfg *config.Config, svc *services, sites tenant.Resolver, tenantID int64) string {
	domains, err := svc.social.TenantDomains(ctx, tenantID)
	if err != nil || len(domains) == 0 {
		return ""
	}
	site, err := sites.Resolve(ctx, domains[0].Domain)
	if err != nil {
		return ""
	}
	u, err := url.Parse(federation.NewLinks(cfg.URLScheme, site.ActorHost(), cfg.PublicPort).Base)
	if err != nil {
		return ""
	}
	return u.Host
}
