package public

import (
	"container/list"
	"sync"
	"sync/atomic"
	"time"
)

// PageCache keeps rendered signed-out pages of one web node in memory,
// bounded by bytes (least recently used first out) and by age. Each page
// is filed under the keys of what it shows (statuses, accounts, the
// tenant, hashtags: see Deps and migrations/042); Invalidate drops every
// page filed under a changed key, so a page never outlives what it shows
// by more than the time an invalidation takes to arrive. The age bound
// (TTL) is the backstop for an invalidation lost while no relay listened
// or Redis was away.
//
// A page rendered while one of its keys was invalidated is not stored
// (Begin/Put): it may have been read before the change committed.
type PageCache struct {
	maxBytes int64
	ttl      time.Duration
	now      func() time.Time

	mu     sync.Mutex
	pages  map[string]*list.Element // of *CachedPage
	lru    list.List                // front: most recently used
	byKey  map[string]map[*CachedPage]struct{}
	bytes  int64
	seq    uint64            // invalidations so far
	recent map[string]uint64 // key -> seq of its last invalidation after floor
	floor  uint64            // every invalidation after floor is in recent

	hits, misses, stores, drops atomic.Uint64
}

// CachedPage is one stored response: its body and the headers to send
// again.
type CachedPage struct {
	Key     string
	Body    []byte
	ETag    string
	Headers [][2]string
	deps    []string
	expires int64
	size    int64
}

// maxRecent bounds the invalidation memory; past it the floor rises and
// renders begun before are not stored.
const maxRecent = 10000

// NewPageCache returns a cache of at most maxBytes of pages, each kept at
// most ttl.
func NewPageCache(maxBytes int64, ttl time.Duration) *PageCache {
	return &PageCache{maxBytes: maxBytes, ttl: ttl, now: time.Now, pages: map[string]*list.Element{},
		byKey: map[string]map[*CachedPage]struct{}{}, recent: map[string]uint64{}}
}

// Get returns the fresh page stored under key.
func (pc *PageCache) Get(key string) (*CachedPage, bool) {
	now := pc.now().UnixNano()
	pc.mu.Lock()
	defer pc.mu.Unlock()
	el, ok := pc.pages[key]
	if !ok {
		pc.misses.Add(1)
		return nil, false
	}
	p := el.Value.(*CachedPage)
	if now >= p.expires {
		pc.remove(el)
		pc.misses.Add(1)
		return nil, false
	}
	pc.lru.MoveToFront(el)
	pc.hits.Add(1)
	return p, true
}

// Begin marks the start of a render: Put refuses its page if one of the
// page's keys is invalidated after this.
func (pc *PageCache) Begin() uint64 {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return pc.seq
}

// Put stores p under p.Key, filed under deps, unless a dep changed since
// begun (the render may have read it before the change) or p is too big
// to share the cache (an eighth of it).
func (pc *PageCache) Put(p *CachedPage, deps []string, begun uint64) bool {
	p.deps = deps
	p.size = int64(len(p.Body) + len(p.Key) + 64)
	for _, d := range deps {
		p.size += int64(len(d) + 16)
	}
	for _, h := range p.Headers {
		p.size += int64(len(h[0]) + len(h[1]))
	}
	if p.size > pc.maxBytes/8 {
		return false
	}
	p.expires = pc.now().Add(pc.ttl).UnixNano()
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if begun < pc.floor {
		return false
	}
	for _, d := range deps {
		if pc.recent[d] > begun {
			return false
		}
	}
	if el, ok := pc.pages[p.Key]; ok {
		pc.remove(el)
	}
	pc.pages[p.Key] = pc.lru.PushFront(p)
	pc.bytes += p.size
	for _, d := range deps {
		set := pc.byKey[d]
		if set == nil {
			set = map[*CachedPage]struct{}{}
			pc.byKey[d] = set
		}
		set[p] = struct{}{}
	}
	for pc.bytes > pc.maxBytes {
		pc.remove(pc.lru.Back())
		pc.drops.Add(1)
	}
	pc.stores.Add(1)
	return true
}

// Invalidate drops every page filed under one of keys; "*" drops all.
func (pc *PageCache) Invalidate(keys ...string) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	pc.seq++
	for _, k := range keys {
		if k == AllPages {
			pc.clear()
			return
		}
		pc.recent[k] = pc.seq
		for p := range pc.byKey[k] {
			pc.remove(pc.pages[p.Key])
		}
	}
	if len(pc.recent) > maxRecent {
		pc.floor, pc.recent = pc.seq, map[string]uint64{}
	}
}

// AllPages is the key that stands for every page.
const AllPages = "*"

// InvalidateAll drops every page (after a reconnection to the channel
// that announces changes, as some may have been missed).
func (pc *PageCache) InvalidateAll() { pc.Invalidate(AllPages) }

func (pc *PageCache) clear() {
	pc.floor = pc.seq
	pc.pages, pc.byKey, pc.recent = map[string]*list.Element{}, map[string]map[*CachedPage]struct{}{}, map[string]uint64{}
	pc.lru.Init()
	pc.bytes = 0
}

// remove takes one page out (el may be nil).
func (pc *PageCache) remove(el *list.Element) {
	if el == nil {
		return
	}
	p := pc.lru.Remove(el).(*CachedPage)
	delete(pc.pages, p.Key)
	pc.bytes -= p.size
	for _, d := range p.deps {
		if set := pc.byKey[d]; set != nil {
			delete(set, p)
			if len(set) == 0 {
				delete(pc.byKey, d)
			}
		}
	}
}

// PageCacheStats are a cache's counters since it was made.
type PageCacheStats struct {
	Hits, Misses, Stores, Evictions uint64
	Pages                           int
	Bytes                           int64
}

// Stats reports the cache's counters and size.
func (pc *PageCache) Stats() PageCacheStats {
	pc.mu.Lock()
	n, b := len(pc.pages), pc.bytes
	pc.mu.Unlock()
	return PageCacheStats{Hits: pc.hits.Load(), Misses: pc.misses.Load(), Stores: pc.stores.Load(),
		Evictions: pc.drops.Load(), Pages: n, Bytes: b}
}
