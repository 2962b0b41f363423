package tenant

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/roost-social/roost/internal/errs"
	"golang.org/x/sync/singleflight"
)

// Resolver answers which Site a normalised host belongs to.
type Resolver interface {
	Resolve(ctx context.Context, host string) (*Site, error)
}

// HostCache is a bounded, expiring, in-process cache of host → Site in
// front of a Store. Unknown hosts are cached too (for a shorter time) so a
// flood of random Host headers costs one query per name at most. Concurrent
// misses for one host share a single query. Every node keeps its own cache;
// Invalidate is driven by Redis pub/sub so a domain change is seen at once.
type HostCache struct {
	load   func(ctx context.Context, host string) (*Site, error)
	ttl    time.Duration
	negTTL time.Duration
	max    int
	now    func() time.Time

	mu      sync.RWMutex
	entries map[string]cacheEntry
	gen     uint64              // bumped by every invalidation; stale loads are not stored
	flight  *singleflight.Group // replaced by Invalidate(), so no caller joins a stale load
}

type cacheEntry struct {
	site    *Site // nil: the host is not ours
	expires int64 // unix nanoseconds
}

var _ Resolver = (*HostCache)(nil)

// NewHostCache caches store.SiteByHost answers for ttl (unknown hosts for
// at most a minute), keeping at most size entries.
func NewHostCache(store Store, ttl time.Duration, size int) *HostCache {
	return &HostCache{
		load:    store.SiteByHost,
		ttl:     ttl,
		negTTL:  min(ttl, time.Minute),
		max:     max(size, 1),
		now:     time.Now,
		flight:  new(singleflight.Group),
		entries: make(map[string]cacheEntry, min(size, 1024)),
	}
}

// Resolve returns the Site for a normalised host, or errs.NotFound. A
// cache hit takes a read lock and allocates nothing.
func (c *HostCache) Resolve(ctx context.Context, host string) (*Site, error) {
	now := c.now().UnixNano()
	c.mu.RLock()
	e, ok := c.entries[host]
	c.mu.RUnlock()
	if ok && now < e.expires {
		if e.site == nil {
			return nil, errNoSite
		}
		return e.site, nil
	}
	return c.miss(ctx, strings.Clone(host))
}

var errNoSite = errs.E(errs.NotFound, "unknown host")

// Cached returns the cached answer for host without loading one: ok is
// false on a miss or an expired entry, and site is nil for a host cached
// as not ours. It lets a caller ration its misses (TLS decisions do).
func (c *HostCache) Cached(host string) (site *Site, ok bool) {
	now := c.now().UnixNano()
	c.mu.RLock()
	e, found := c.entries[host]
	c.mu.RUnlock()
	if !found || now >= e.expires {
		return nil, false
	}
	return e.site, true
}

// loadTimeout bounds one shared load. The load runs detached from the
// first caller's cancellation, since other callers may be sharing it.
const loadTimeout = 10 * time.Second

func (c *HostCache) miss(ctx context.Context, host string) (*Site, error) {
	c.mu.RLock()
	flight := c.flight
	c.mu.RUnlock()
	v, err, _ := flight.Do(host, func() (any, error) {
		c.mu.RLock()
		gen := c.gen
		c.mu.RUnlock()
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), loadTimeout)
		defer cancel()
		site, err := c.load(lctx, host)
		if err != nil && !errs.Is(err, errs.NotFound) {
			return nil, err // a database failure is not cached
		}
		ttl := c.ttl
		if site == nil {
			ttl = c.negTTL
		}
		c.store(host, gen, cacheEntry{site: site, expires: c.now().Add(ttl).UnixNano()})
		return site, nil
	})
	if err != nil {
		return nil, err
	}
	site := v.(*Site)
	if site == nil {
		return nil, errNoSite
	}
	return site, nil
}

func (c *HostCache) store(host string, gen uint64, e cacheEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return // invalidated while loading: the answer may be stale
	}
	if _, ok := c.entries[host]; !ok && len(c.entries) >= c.max {
		c.evict()
	}
	c.entries[host] = e
}

// evict drops about one in sixteen entries, expired ones first, so a
// full cache does not evict on every miss. Map order is random enough.
func (c *HostCache) evict() {
	now := c.now().UnixNano()
	want := max(c.max/16, 1)
	for h, e := range c.entries {
		if e.expires <= now {
			delete(c.entries, h)
			want--
		}
	}
	for h := range c.entries {
		if want <= 0 {
			return
		}
		delete(c.entries, h)
		want--
	}
}

// Invalidate forgets the given hosts; with none, it forgets everything.
func (c *HostCache) Invalidate(hosts ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if len(hosts) == 0 {
		clear(c.entries)
		c.flight = new(singleflight.Group)
		return
	}
	for _, h := range hosts {
		delete(c.entries, h)
		c.flight.Forget(h)
	}
}

// Len reports the number of cached answers.
func (c *HostCache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
