// Package hotcache keeps hot, rarely-changing objects (local accounts by
// name, instance documents) in each web node's memory: bounded (least
// recently used out first), expiring, counted in Prometheus, and dropped
// by tag when the database says the rows behind them changed.
//
// A node stays stateless: a cache is only a copy. It serves nothing while
// the node is not listening to the changes (Offline), and a load that
// raced a change is not kept (every eviction bumps a generation that a
// load must still see when it stores its answer).
package hotcache

import (
	"container/list"
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Kind is what a tag names.
type Kind uint8

// The tags the database announces (migration 046).
const (
	// Account is one account's row, its limits (suspension) or its
	// deletion.
	Account Kind = iota + 1
	// Tenant is a tenant's settings, rules, about texts, domains or
	// status; every account of the tenant is tagged with it too.
	Tenant
	// Token is one OAuth access token (revoked, deleted or used).
	Token
	// Viewer is what one account hides in its timelines (filters,
	// domain blocks, exclusive lists).
	Viewer
)

// Tag names a database object an entry was built from.
type Tag struct {
	Kind Kind
	ID   int64
}

// Set is every cache of a node, evicted together: the listener of the
// database's change announcements talks to the Set.
type Set struct {
	mu      sync.Mutex
	caches  []evicter
	metrics *metrics

	onlineMu sync.Mutex
	online   bool
}

type evicter interface {
	evict(tags []Tag)
	purge()
	setOnline(bool)
}

// NewSet registers the caches' metrics on reg (nil: none are exported).
// Its caches start Offline: nothing is served from memory until the
// node's listener says it hears changes (SetOnline).
func NewSet(reg prometheus.Registerer) *Set {
	return &Set{metrics: newMetrics(reg)}
}

// Evict drops every entry built from any of tags, in every cache.
func (s *Set) Evict(tags ...Tag) {
	for _, c := range s.list() {
		c.evict(tags)
	}
}

// SetOnline says whether the node hears the database's changes. Going
// offline or coming back empties every cache: changes announced while
// nobody listened are lost, so nothing cached before may be trusted.
func (s *Set) SetOnline(on bool) {
	for _, c := range s.list() {
		c.setOnline(on)
	}
	s.onlineMu.Lock()
	s.online = on
	s.onlineMu.Unlock()
}

// Online reports whether the caches serve from memory (the node hears
// the database's changes).
func (s *Set) Online() bool {
	s.onlineMu.Lock()
	defer s.onlineMu.Unlock()
	return s.online
}

func (s *Set) list() []evicter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]evicter(nil), s.caches...)
}

// Cache is one bounded, expiring LRU map from K to V. Safe for concurrent
// use.
type Cache[K comparable, V any] struct {
	name string
	max  int
	ttl  time.Duration
	m    *metrics
	// hit and miss are m's counters for this cache, resolved once.
	hit, miss prometheus.Counter
	// Now is the clock (tests move it).
	Now func() time.Time

	mu     sync.Mutex
	online bool
	gen    uint64
	ll     *list.List // front: most recently used
	items  map[K]*list.Element
	byTag  map[Tag]map[K]struct{}
}

type entry[K comparable, V any] struct {
	key     K
	val     V
	tags    []Tag
	expires time.Time
}

// New adds a cache named name (its metrics label) to s, holding at most
// size entries for at most ttl each.
func New[K comparable, V any](s *Set, name string, size int, ttl time.Duration) *Cache[K, V] {
	c := &Cache[K, V]{name: name, max: max(size, 1), ttl: ttl, m: s.metrics, Now: time.Now,
		ll: list.New(), items: map[K]*list.Element{}, byTag: map[Tag]map[K]struct{}{},
		hit: s.metrics.lookups.WithLabelValues(name, "hit"), miss: s.metrics.lookups.WithLabelValues(name, "miss")}
	c.online = s.Online()
	s.mu.Lock()
	s.caches = append(s.caches, c)
	s.mu.Unlock()
	return c
}

// Get returns the cached value for k; ok is false on a miss, an expired
// entry or while the cache is offline.
func (c *Cache[K, V]) Get(k K) (v V, ok bool) {
	now := c.Now()
	c.mu.Lock()
	el, found := c.items[k]
	switch {
	case !c.online:
		found = false
	case found && !now.Before(el.Value.(*entry[K, V]).expires):
		c.remove(el)
		c.m.evicted(c.name, "expired")
		found = false
	case found:
		c.ll.MoveToFront(el)
		v = el.Value.(*entry[K, V]).val
	}
	c.mu.Unlock()
	if found {
		c.hit.Inc()
	} else {
		c.miss.Inc()
	}
	return v, found
}

// Generation is the cache's eviction count: pass it to Put, so an answer
// loaded while an eviction happened is not kept.
func (c *Cache[K, V]) Generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// Put stores v for k, tagged with what it was built from, unless the
// cache is offline or anything was evicted since gen was read.
func (c *Cache[K, V]) Put(gen uint64, k K, v V, tags ...Tag) {
	now := c.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.online || gen != c.gen {
		return
	}
	if el, ok := c.items[k]; ok {
		c.remove(el)
	}
	for c.ll.Len() >= c.max {
		c.remove(c.ll.Back())
		c.m.evicted(c.name, "capacity")
	}
	c.items[k] = c.ll.PushFront(&entry[K, V]{key: k, val: v, tags: tags, expires: now.Add(c.ttl)})
	for _, t := range tags {
		if c.byTag[t] == nil {
			c.byTag[t] = map[K]struct{}{}
		}
		c.byTag[t][k] = struct{}{}
	}
	c.m.size(c.name, c.ll.Len())
}

// Load returns the cached value for k or loads it (load also says what
// the value was built from) and keeps it. Errors are not cached.
func (c *Cache[K, V]) Load(ctx context.Context, k K, load func(ctx context.Context) (V, []Tag, error)) (V, error) {
	if v, ok := c.Get(k); ok {
		return v, nil
	}
	gen := c.Generation()
	v, tags, err := load(ctx)
	if err != nil {
		return v, err
	}
	c.Put(gen, k, v, tags...)
	return v, nil
}

// Delete drops k at once on this node (a write made here, before the
// database's announcement reaches every node).
func (c *Cache[K, V]) Delete(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if el, ok := c.items[k]; ok {
		c.remove(el)
		c.m.evicted(c.name, "invalidated")
		c.m.size(c.name, c.ll.Len())
	}
}

// Len is the number of entries held.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}

// remove drops el; the caller holds mu.
func (c *Cache[K, V]) remove(el *list.Element) {
	e := el.Value.(*entry[K, V])
	c.ll.Remove(el)
	delete(c.items, e.key)
	for _, t := range e.tags {
		if ks := c.byTag[t]; ks != nil {
			delete(ks, e.key)
			if len(ks) == 0 {
				delete(c.byTag, t)
			}
		}
	}
}

func (c *Cache[K, V]) evict(tags []Tag) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	n := 0
	for _, t := range tags {
		for k := range c.byTag[t] {
			if el, ok := c.items[k]; ok {
				c.remove(el)
				n++
			}
		}
	}
	c.m.evictedN(c.name, "invalidated", n)
	c.m.size(c.name, c.ll.Len())
}

func (c *Cache[K, V]) purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	n := c.ll.Len()
	c.ll.Init()
	clear(c.items)
	clear(c.byTag)
	c.m.evictedN(c.name, "invalidated", n)
	c.m.size(c.name, 0)
}

func (c *Cache[K, V]) setOnline(on bool) {
	c.purge()
	c.mu.Lock()
	c.online = on
	c.mu.Unlock()
}

// metrics are the caches' Prometheus series, labelled by cache name.
type metrics struct {
	lookups   *prometheus.CounterVec
	evictions *prometheus.CounterVec
	entries   *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "roost_cache_lookups_total",
			Help: "In-process cache lookups by cache and result (hit or miss; a miss loads from PostgreSQL)."}, []string{"cache", "result"}),
		evictions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "roost_cache_evictions_total",
			Help: "Entries dropped by cache and reason (invalidated: the database announced a change; capacity; expired)."}, []string{"cache", "reason"}),
		entries: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "roost_cache_entries",
			Help: "Entries held by cache."}, []string{"cache"}),
	}
	if reg != nil {
		reg.MustRegister(m.lookups, m.evictions, m.entries)
	}
	return m
}

func (m *metrics) evicted(name, reason string) { m.evictions.WithLabelValues(name, reason).Inc() }

func (m *metrics) evictedN(name, reason string, n int) {
	if n > 0 {
		m.evictions.WithLabelValues(name, reason).Add(float64(n))
	}
}

func (m *metrics) size(name string, n int) { m.entries.WithLabelValues(name).Set(float64(n)) }
