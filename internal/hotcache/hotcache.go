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
	"slices"
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
	// domain blocks, exclusive lists) and, for timeline pages, anything
	// else of that viewer's pages: their home feed's rows, mutes, blocks,
	// follows and thread mutes (migration 054).
	Viewer
	// Status is one status as rendered: its row, counts, media, poll and
	// votes, card, quote, mentions, or a viewer's favourite, boost,
	// bookmark or pin of it (migration 054).
	Status
	// Shown is one account (local or remote) as rendered in a status:
	// its row and its counts (migration 054).
	Shown
	// Timelines is every rendered timeline page (ID 0): a rare change
	// that may alter any of them (moderation limits, instance or tenant
	// domain blocks, custom emojis, apps' names; migration 054).
	Timelines
	// Posts are a read author's new posts (migration 060): the home
	// pages of their followers, which read them without feed rows.
	Posts
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

	// Set by NewBytes: a bound on the entries' bytes (sizeOf), and a
	// racing load refused only when one of its own tags was evicted
	// since it began (history), not on every eviction: a busy node's
	// page cache must still fill.
	maxBytes int
	bytes    int
	sizeOf   func(V) int
	history  []evicted
}

type entry[K comparable, V any] struct {
	key     K
	val     V
	tags    []Tag
	expires time.Time
	size    int
}

// evicted is one eviction: its generation and tags (all: everything,
// or too many tags to keep).
type evicted struct {
	gen  uint64
	tags []Tag
	all  bool
}

// The eviction history NewBytes caches keep: a load that began more
// than historyLen evictions ago is refused, as is one racing an eviction
// of more than historyTags tags.
const (
	historyLen  = 1024
	historyTags = 64
)

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

// NewBytes adds a cache bounded by the bytes its values hold (sizeOf),
// at most maxBytes in all, each for at most ttl (PutUntil may say
// sooner). A load racing an eviction is refused only when the eviction
// named one of the load's tags (or everything).
func NewBytes[K comparable, V any](s *Set, name string, maxBytes int, ttl time.Duration, sizeOf func(V) int) *Cache[K, V] {
	c := New[K, V](s, name, 1<<62, ttl)
	c.mu.Lock()
	c.maxBytes, c.sizeOf = max(maxBytes, 1), sizeOf
	c.mu.Unlock()
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
	c.PutUntil(gen, k, v, time.Time{}, tags...)
}

// PutUntil is Put for a value that must not be served at or after until
// (zero: the TTL alone bounds it), e.g. a page showing a poll that ends.
func (c *Cache[K, V]) PutUntil(gen uint64, k K, v V, until time.Time, tags ...Tag) {
	now := c.Now()
	expires := now.Add(c.ttl)
	if !until.IsZero() && until.Before(expires) {
		expires = until
	}
	size := 0
	if c.sizeOf != nil {
		size = c.sizeOf(v)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.online || !c.unchangedSince(gen, tags) || !now.Before(expires) || c.maxBytes > 0 && size > c.maxBytes {
		return
	}
	if el, ok := c.items[k]; ok {
		c.remove(el)
	}
	for c.ll.Len() > 0 && (c.ll.Len() >= c.max || c.maxBytes > 0 && c.bytes+size > c.maxBytes) {
		c.remove(c.ll.Back())
		c.m.evicted(c.name, "capacity")
	}
	c.bytes += size
	c.items[k] = c.ll.PushFront(&entry[K, V]{key: k, val: v, tags: tags, expires: expires, size: size})
	for _, t := range tags {
		if c.byTag[t] == nil {
			c.byTag[t] = map[K]struct{}{}
		}
		c.byTag[t][k] = struct{}{}
	}
	c.m.size(c.name, c.ll.Len())
	c.held()
}

// unchangedSince reports whether an answer loaded from generation gen
// with tags may be kept: nothing was evicted since, or (NewBytes
// caches) nothing the history still holds named one of its tags. The
// caller holds mu.
func (c *Cache[K, V]) unchangedSince(gen uint64, tags []Tag) bool {
	if gen == c.gen {
		return true
	}
	if c.sizeOf == nil || gen > c.gen || len(c.history) == 0 || c.history[0].gen > gen+1 {
		return false // not tracked, or evictions since gen are no longer known
	}
	mine := make(map[Tag]struct{}, len(tags))
	for _, t := range tags {
		mine[t] = struct{}{}
	}
	for _, h := range c.history {
		if h.gen <= gen {
			continue
		}
		if h.all {
			return false
		}
		for _, t := range h.tags {
			if _, ok := mine[t]; ok {
				return false
			}
		}
	}
	return true
}

// record notes an eviction in the history (NewBytes caches); the caller
// holds mu and has just bumped gen.
func (c *Cache[K, V]) record(tags []Tag, all bool) {
	if c.sizeOf == nil {
		return
	}
	if len(tags) > historyTags {
		tags, all = nil, true
	}
	if len(c.history) >= historyLen {
		n := copy(c.history, c.history[1:])
		c.history = c.history[:n]
	}
	c.history = append(c.history, evicted{gen: c.gen, tags: slices.Clone(tags), all: all})
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
	c.record(nil, true)
	if el, ok := c.items[k]; ok {
		c.remove(el)
		c.m.evicted(c.name, "invalidated")
		c.m.size(c.name, c.ll.Len())
		c.held()
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
	c.bytes -= e.size
	for _, t := range e.tags {
		if ks := c.byTag[t]; ks != nil {
			delete(ks, e.key)
			if len(ks) == 0 {
				delete(c.byTag, t)
			}
		}
	}
}

// EvictTags drops this cache's entries built from any of tags at once
// (a write made on this node, before the database's announcement
// arrives).
func (c *Cache[K, V]) EvictTags(tags ...Tag) { c.evict(tags) }

func (c *Cache[K, V]) evict(tags []Tag) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.record(tags, false)
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
	c.held()
}

func (c *Cache[K, V]) purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.record(nil, true)
	n := c.ll.Len()
	c.ll.Init()
	clear(c.items)
	clear(c.byTag)
	c.bytes = 0
	c.m.evictedN(c.name, "invalidated", n)
	c.m.size(c.name, 0)
	c.held()
}

func (c *Cache[K, V]) setOnline(on bool) {
	c.purge()
	c.mu.Lock()
	c.online = on
	c.mu.Unlock()
}

// held exports the bytes a NewBytes cache holds; the caller holds mu.
func (c *Cache[K, V]) held() {
	if c.sizeOf != nil {
		c.m.bytes.WithLabelValues(c.name).Set(float64(c.bytes))
	}
}

// metrics are the caches' Prometheus series, labelled by cache name.
type metrics struct {
	lookups   *prometheus.CounterVec
	evictions *prometheus.CounterVec
	entries   *prometheus.GaugeVec
	bytes     *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "roost_cache_lookups_total",
			Help: "In-process cache lookups by cache and result (hit or miss; a miss loads from PostgreSQL)."}, []string{"cache", "result"}),
		evictions: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "roost_cache_evictions_total",
			Help: "Entries dropped by cache and reason (invalidated: the database announced a change; capacity; expired)."}, []string{"cache", "reason"}),
		entries: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "roost_cache_entries",
			Help: "Entries held by cache."}, []string{"cache"}),
		bytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "roost_cache_bytes",
			Help: "Bytes held by caches bounded in bytes (home_pages)."}, []string{"cache"}),
	}
	if reg != nil {
		reg.MustRegister(m.lookups, m.evictions, m.entries, m.bytes)
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
