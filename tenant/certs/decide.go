package certs

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
	"golang.org/x/time/rate"
)

// SiteCache is the cached host resolution decisions sit on:
// *tenant.HostCache, whose answers (positive and negative, bounded,
// expiring, invalidated over Redis) the web node's routing shares.
type SiteCache interface {
	tenant.Resolver
	// Cached returns the cached answer without loading: ok is false on a
	// miss; site is nil for a host known not to be ours.
	Cached(host string) (site *tenant.Site, ok bool)
}

// Lookup limits: a cache miss costs one database query, so misses are
// rate-limited per client address and per node. A denied miss is not
// cached (the name may be legitimate: the client retries later). A cold
// node sees one miss per tenant domain it serves, from many clients, so
// the per-node rate stays well above a normal restart's need.
const (
	DefaultLookupRate        = 100 // per second, per node
	DefaultLookupBurst       = 200
	DefaultClientLookupRate  = 10 // per second, per client address (IPv6: per /64)
	DefaultClientLookupBurst = 30
	maxClients               = 10000 // per-client limiters kept; the map is reset when full
)

var (
	errNotServed     = errs.E(errs.NotFound, "not a verified domain of an active tenant")
	errLookupLimited = errs.E(errs.Unavailable, "too many certificate lookups; try again later")
)

// Decider is the on-demand DecisionFunc: a certificate may be obtained,
// or loaded from storage, only for a verified handle or service domain of
// an active tenant. Unverified, unknown and suspended names are refused
// (suspended ones found in the cache too), and so is everything when the
// database cannot answer (fail closed: certificates already in memory are
// served without asking). A warm-cache decision touches no database.
type Decider struct {
	sites  SiteCache
	global *rate.Limiter

	clientRate  rate.Limit
	clientBurst int
	mu          sync.Mutex
	clients     map[netip.Addr]*rate.Limiter

	allowed, denied, hits, lookups, lookupErrors, limited atomic.Uint64

	// Own are the instance's own names (the signup portal, the operator
	// dashboard): always served, with no lookup.
	Own map[string]bool
	// Now is the clock the lookup limits refill by (nil: time.Now); tests
	// drive it explicitly.
	Now func() time.Time
}

// NewDecider decides on sites with the default limits.
func NewDecider(sites SiteCache) *Decider {
	return NewDeciderWithLimits(sites, DefaultLookupRate, DefaultLookupBurst, DefaultClientLookupRate, DefaultClientLookupBurst)
}

// NewDeciderWithLimits sets the lookup limits (per second, burst), per
// node and per client address.
func NewDeciderWithLimits(sites SiteCache, perNode rate.Limit, nodeBurst int, perClient rate.Limit, clientBurst int) *Decider {
	return &Decider{
		sites:       sites,
		global:      rate.NewLimiter(perNode, nodeBurst),
		clientRate:  perClient,
		clientBurst: clientBurst,
		clients:     map[netip.Addr]*rate.Limiter{},
	}
}

// Decide is certmagic's DecisionFunc. The client address comes from the
// ClientHello certmagic puts in ctx (none for background renewals).
func (d *Decider) Decide(ctx context.Context, name string) error {
	var client netip.Addr
	if hello, ok := ctx.Value(certmagic.ClientHelloInfoCtxKey).(*tls.ClientHelloInfo); ok && hello.Conn != nil {
		client = addrOf(hello.Conn.RemoteAddr())
	}
	return d.DecideFor(ctx, name, client)
}

// DecideFor decides for a name asked by client (invalid: no per-client limit).
func (d *Decider) DecideFor(ctx context.Context, name string, client netip.Addr) error {
	err := d.decide(ctx, name, client)
	if err != nil {
		d.denied.Add(1)
	} else {
		d.allowed.Add(1)
	}
	return err
}

func (d *Decider) decide(ctx context.Context, name string, client netip.Addr) error {
	host, err := tenant.NormalizeHost(name)
	if err != nil || host != name {
		return errNotServed // IP literals, empty SNI, anything not stored as a domain
	}
	if d.Own[host] {
		return nil
	}
	if site, ok := d.sites.Cached(host); ok {
		d.hits.Add(1)
		return verdict(site)
	}
	if !d.allowLookup(client) {
		d.limited.Add(1)
		return errLookupLimited
	}
	d.lookups.Add(1)
	site, err := d.sites.Resolve(ctx, host)
	if errs.Is(err, errs.NotFound) {
		return errNotServed
	}
	if err != nil {
		d.lookupErrors.Add(1)
		return fmt.Errorf("cannot check %s, refusing (fail closed): %w", host, err)
	}
	return verdict(site)
}

func verdict(site *tenant.Site) error {
	if site == nil || site.Status != tenant.Active {
		return errNotServed
	}
	return nil
}

func (d *Decider) allowLookup(client netip.Addr) bool {
	now := time.Now()
	if d.Now != nil {
		now = d.Now()
	}
	if client.IsValid() {
		if client.Is6() && !client.Is4In6() {
			client = netip.PrefixFrom(client, 64).Masked().Addr()
		}
		d.mu.Lock()
		l := d.clients[client]
		if l == nil {
			if len(d.clients) >= maxClients {
				clear(d.clients)
			}
			l = rate.NewLimiter(d.clientRate, d.clientBurst)
			d.clients[client] = l
		}
		d.mu.Unlock()
		if !l.AllowN(now, 1) {
			return false
		}
	}
	return d.global.AllowN(now, 1)
}

func addrOf(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	if a == nil {
		return netip.Addr{}
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// DecisionStats counts decisions since start.
type DecisionStats struct {
	Allowed, Denied uint64
	// CacheHits were answered from the cache; Lookups went to the
	// database (cache misses), LookupErrors of them failed (database
	// down: refused); RateLimited misses were refused without a lookup.
	CacheHits, Lookups, LookupErrors, RateLimited uint64
}

// Stats returns the counters.
func (d *Decider) Stats() DecisionStats {
	return DecisionStats{
		Allowed: d.allowed.Load(), Denied: d.denied.Load(),
		CacheHits: d.hits.Load(), Lookups: d.lookups.Load(), LookupErrors: d.lookupErrors.Load(), RateLimited: d.limited.Load(),
	}
}
