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

// Lookup limits. A cache miss costs one database query. Misses are
// bounded per node by a gate (DefaultColdConcurrent at once, a queue
// behind them), not by a rate: a node restarted in front of 100,000
// tenant domains must answer every legitimate name, however fast they
// come. A client address is charged only for names that turn out not to
// be served (a scanner's random names): DefaultClientLookupBurst of them,
// then DefaultClientLookupRate per second; a denied miss is refused
// without a query and not cached (the name may be legitimate: the client
// retries later). Served names cost a client nothing, so a remote server
// delivering to thousands of our tenants after our restart is never
// refused.
const (
	DefaultClientLookupRate  = 10 // per second, per client address (IPv6: per /64)
	DefaultClientLookupBurst = 30
	maxClients               = 10000 // per-client buckets kept; the map is reset when full
)

// Limits bounds a Decider's database lookups (host-cache misses).
type Limits struct {
	// Concurrent lookups per node, Queue more waiting (each at most
	// Wait); beyond that a miss is refused at once.
	Concurrent, Queue int
	Wait              time.Duration
	// ClientRate (per second) and ClientBurst bound the misses a client
	// address may spend on names that are not served.
	ClientRate  float64
	ClientBurst int
}

// DefaultLimits are the limits NewDecider uses.
func DefaultLimits() Limits {
	return Limits{Concurrent: DefaultColdConcurrent, Queue: DefaultColdQueue, Wait: DefaultColdWait,
		ClientRate: DefaultClientLookupRate, ClientBurst: DefaultClientLookupBurst}
}

var (
	errNotServed     = errs.E(errs.NotFound, "not a verified domain of an active tenant")
	errLookupLimited = errs.E(errs.Unavailable, "too many certificate lookups for unknown names from this address; try again later")
)

// Decider is the on-demand DecisionFunc: a certificate may be obtained,
// or loaded from storage, only for a verified handle or service domain of
// an active tenant. Unverified, unknown and suspended names are refused
// (suspended ones found in the cache too), and so is everything when the
// database cannot answer (fail closed: certificates already in memory are
// served without asking). A warm-cache decision touches no database.
type Decider struct {
	sites SiteCache
	gate  *gate

	clientRate  float64
	clientBurst int
	mu          sync.Mutex
	clients     map[netip.Addr]*bucket

	allowed, denied, hits, lookups, lookupErrors, limited atomic.Uint64

	// Own are the instance's own names (the signup portal, the operator
	// dashboard): always served, with no lookup.
	Own map[string]bool
	// Now is the clock the lookup limits refill by (nil: time.Now); tests
	// drive it explicitly.
	Now func() time.Time
}

// NewDecider decides on sites with the default limits.
func NewDecider(sites SiteCache) *Decider { return NewDeciderWithLimits(sites, DefaultLimits()) }

// NewDeciderWithLimits sets the lookup limits.
func NewDeciderWithLimits(sites SiteCache, l Limits) *Decider {
	return &Decider{
		sites:       sites,
		gate:        newGate(l.Concurrent, l.Queue, l.Wait),
		clientRate:  l.ClientRate,
		clientBurst: max(l.ClientBurst, 1),
		clients:     map[netip.Addr]*bucket{},
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
	charge, ok := d.takeClient(client)
	if !ok {
		d.limited.Add(1)
		return errLookupLimited
	}
	release, err := d.gate.enter(ctx)
	if err != nil {
		charge.refund()
		d.limited.Add(1)
		return err
	}
	defer release()
	d.lookups.Add(1)
	site, err := d.sites.Resolve(ctx, host)
	if errs.Is(err, errs.NotFound) {
		return errNotServed // the client keeps the charge: a name we do not serve
	}
	charge.refund()
	if err != nil {
		d.lookupErrors.Add(1)
		return fmt.Errorf("cannot check %s, refusing (fail closed): %w", host, err)
	}
	if err := verdict(site); err != nil {
		return err // an unverified or suspended tenant's name is not a scanner's
	}
	return nil
}

func verdict(site *tenant.Site) error {
	if site == nil || site.Status != tenant.Active {
		return errNotServed
	}
	return nil
}

// takeClient charges client one miss from its bucket (none for an
// invalid address: background renewals and tests).
func (d *Decider) takeClient(client netip.Addr) (charge, bool) {
	if !client.IsValid() {
		return charge{}, true
	}
	now := time.Now()
	if d.Now != nil {
		now = d.Now()
	}
	if client.Is6() && !client.Is4In6() {
		client = netip.PrefixFrom(client, 64).Masked().Addr()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	b := d.clients[client]
	if b == nil {
		if len(d.clients) >= maxClients {
			clear(d.clients)
		}
		b = &bucket{tokens: float64(d.clientBurst), last: now}
		d.clients[client] = b
	}
	if !b.take(now, d.clientRate, float64(d.clientBurst)) {
		return charge{}, false
	}
	return charge{d: d, b: b}, true
}

// bucket is a token bucket refilled by the Decider's clock (guarded by
// the Decider's mutex).
type bucket struct {
	tokens float64
	last   time.Time
}

func (b *bucket) take(now time.Time, rate, burst float64) bool {
	if now.After(b.last) {
		b.tokens = min(burst, b.tokens+now.Sub(b.last).Seconds()*rate)
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// charge is one token taken from a client's bucket, given back when the
// name turns out to be served.
type charge struct {
	d *Decider
	b *bucket
}

func (c charge) refund() {
	if c.b == nil {
		return
	}
	c.d.mu.Lock()
	c.b.tokens = min(c.b.tokens+1, float64(c.d.clientBurst))
	c.d.mu.Unlock()
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
	// down: refused); RateLimited misses were refused without a lookup
	// (the client's misses on unknown names, or the node's gate full).
	CacheHits, Lookups, LookupErrors, RateLimited uint64
	// Queued misses waited for the node's gate; Waiting wait now.
	Queued  uint64
	Waiting int
}

// Stats returns the counters.
func (d *Decider) Stats() DecisionStats {
	return DecisionStats{
		Allowed: d.allowed.Load(), Denied: d.denied.Load(),
		CacheHits: d.hits.Load(), Lookups: d.lookups.Load(), LookupErrors: d.lookupErrors.Load(), RateLimited: d.limited.Load(),
		Queued: d.gate.queued.Load(), Waiting: d.gate.Waiting(),
	}
}
