package actors

import (
	"context"
	"net/url"
	"sync"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/tenant"
)

// ActingHostTTL bounds how long a tenant's acting host is reused: a
// tenant that adds or moves its first domain signs as the new one soon
// after.
const ActingHostTTL = time.Minute

// maxActingHosts bounds the cache: one entry per tenant seen lately.
const maxActingHosts = 10000

// ActingHosts says which host's instance actor signs the fetches `roost
// work` makes for a tenant's inbox items (inbox.Processor.ActingHost):
// the actor host of the tenant's first verified domain, as links name it
// (port included), cached per tenant for ActingHostTTL. Every tenant host
// has an instance actor with the instance's one key pair, so any of them
// verifies; the first is the one people know the site by.
type ActingHosts struct {
	Domains interface {
		TenantDomains(ctx context.Context, tenantID int64) ([]federation.TenantDomain, error)
	}
	Sites  tenant.Resolver
	Scheme string // ROOST_URL_SCHEME
	Port   int    // ROOST_PUBLIC_PORT
	Now    func() time.Time

	mu    sync.Mutex
	cache map[int64]actingEntry
}

type actingEntry struct {
	host string
	at   time.Time
}

// Host returns the tenant's acting host, or "" when it has none (no
// domain, or a lookup failed: the caller signs as the instance).
func (a *ActingHosts) Host(ctx context.Context, tenantID int64) string {
	now := a.now()
	a.mu.Lock()
	e, ok := a.cache[tenantID]
	a.mu.Unlock()
	if ok && now.Sub(e.at) < ActingHostTTL {
		return e.host
	}
	host := a.lookup(ctx, tenantID)
	a.mu.Lock()
	if a.cache == nil || len(a.cache) >= maxActingHosts {
		a.cache = map[int64]actingEntry{}
	}
	a.cache[tenantID] = actingEntry{host: host, at: now}
	a.mu.Unlock()
	return host
}

func (a *ActingHosts) lookup(ctx context.Context, tenantID int64) string {
	domains, err := a.Domains.TenantDomains(ctx, tenantID)
	if err != nil || len(domains) == 0 {
		return ""
	}
	site, err := a.Sites.Resolve(ctx, domains[0].Domain)
	if err != nil {
		return ""
	}
	u, err := url.Parse(federation.NewLinks(a.Scheme, site.ActorHost(), a.Port).Base)
	if err != nil {
		return ""
	}
	return u.Host
}

func (a *ActingHosts) now() time.Time {
	if a.Now == nil {
		return time.Now()
	}
	return a.Now()
}
