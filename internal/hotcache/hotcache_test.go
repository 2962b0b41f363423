package hotcache

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// counter is the value of the series name{cache="test", label=value}.
func counter(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := 0
			for _, l := range m.GetLabel() {
				if (l.GetName() == "cache" && l.GetValue() == "test") || (l.GetName() == label && l.GetValue() == value) {
					match++
				}
			}
			if match == 2 {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTest(t *testing.T, size int) (*Set, *Cache[string, int], *clock, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	s := NewSet(reg)
	c := New[string, int](s, "test", size, time.Minute)
	clk := &clock{t: time.Unix(1_000_000, 0)}
	c.Now = clk.now
	s.SetOnline(true)
	return s, c, clk, reg
}

// The cache is bounded: the least recently used entry goes first.
func TestIssue21CacheBoundedLRU(t *testing.T) {
	_, c, _, reg := newTest(t, 2)
	c.Put(c.Generation(), "a", 1)
	c.Put(c.Generation(), "b", 2)
	if _, ok := c.Get("a"); !ok { // a is now the most recent
		t.Fatal("a missing")
	}
	c.Put(c.Generation(), "c", 3)
	if _, ok := c.Get("b"); ok {
		t.Fatal("b, the least recently used, was kept past the bound")
	}
	if v, ok := c.Get("a"); !ok || v != 1 {
		t.Fatalf("a = %d, %v", v, ok)
	}
	if c.Len() != 2 {
		t.Fatalf("len %d", c.Len())
	}
	if n := counter(t, reg, "roost_cache_evictions_total", "reason", "capacity"); n != 1 {
		t.Fatalf("capacity evictions %v", n)
	}
	if n := counter(t, reg, "roost_cache_lookups_total", "result", "hit"); n != 2 {
		t.Fatalf("hits %v", n)
	}
	if n := counter(t, reg, "roost_cache_lookups_total", "result", "miss"); n != 1 {
		t.Fatalf("misses %v", n)
	}
}

// Entries expire after the TTL (the clock is the test's).
func TestIssue21CacheExpires(t *testing.T) {
	_, c, clk, _ := newTest(t, 10)
	c.Put(c.Generation(), "a", 1)
	clk.t = clk.t.Add(59 * time.Second)
	if _, ok := c.Get("a"); !ok {
		t.Fatal("expired early")
	}
	clk.t = clk.t.Add(time.Second)
	if _, ok := c.Get("a"); ok {
		t.Fatal("served past its TTL")
	}
}

// Evicting a tag drops exactly the entries built from it, in every cache
// of the set; a load that raced an eviction is not kept.
func TestIssue21CacheEvictByTagAndRacingLoad(t *testing.T) {
	s, c, _, _ := newTest(t, 10)
	other := New[int, string](s, "other", 10, time.Minute)
	t1, t2 := Tag{Kind: Tenant, ID: 1}, Tag{Kind: Tenant, ID: 2}
	c.Put(c.Generation(), "one", 1, t1, Tag{Kind: Account, ID: 10})
	c.Put(c.Generation(), "two", 2, t2)
	other.Put(other.Generation(), 1, "one", t1)
	s.Evict(Tag{Kind: Account, ID: 10})
	if _, ok := c.Get("one"); ok {
		t.Fatal("entry of the evicted account kept")
	}
	if _, ok := other.Get(1); !ok {
		t.Fatal("an entry of another tag was dropped")
	}
	s.Evict(t1)
	if _, ok := other.Get(1); ok {
		t.Fatal("tenant eviction did not reach the other cache")
	}
	if _, ok := c.Get("two"); !ok {
		t.Fatal("tenant 2's entry dropped by tenant 1's change")
	}

	// A load that started before an eviction does not store its answer.
	v, err := c.Load(context.Background(), "racing", func(context.Context) (int, []Tag, error) {
		s.Evict(Tag{Kind: Account, ID: 99}) // a change lands while loading
		return 7, nil, nil
	})
	if err != nil || v != 7 {
		t.Fatalf("load: %d, %v", v, err)
	}
	if _, ok := c.Get("racing"); ok {
		t.Fatal("an answer loaded across an eviction was kept")
	}
	// Errors are not cached.
	if _, err := c.Load(context.Background(), "err", func(context.Context) (int, []Tag, error) {
		return 0, nil, errors.New("boom")
	}); err == nil {
		t.Fatal("error swallowed")
	}
	if _, ok := c.Get("err"); ok {
		t.Fatal("an error was cached")
	}
}

// Offline (the node does not hear changes), nothing is served or kept;
// going online again starts empty.
func TestIssue21CacheOfflineServesNothing(t *testing.T) {
	s, c, _, _ := newTest(t, 10)
	c.Put(c.Generation(), "a", 1)
	s.SetOnline(false)
	if _, ok := c.Get("a"); ok {
		t.Fatal("served while offline")
	}
	c.Put(c.Generation(), "b", 2)
	s.SetOnline(true)
	if _, ok := c.Get("a"); ok {
		t.Fatal("an entry from before the outage survived it")
	}
	if _, ok := c.Get("b"); ok {
		t.Fatal("an entry stored while offline was kept")
	}
	if late := New[string, int](s, "late", 1, time.Minute); !late.online {
		t.Fatal("a cache made while the set is online starts offline")
	}
}

// A NewBytes cache is bounded by its values' bytes, least recently used
// out first; a value larger than the bound is not kept.
func TestIssue21HomePagesBoundedInBytes(t *testing.T) {
	s := NewSet(nil)
	c := NewBytes[string, string](s, "bytes", 10, time.Minute, func(v string) int { return len(v) })
	s.SetOnline(true)
	c.Put(c.Generation(), "a", "aaaa")
	c.Put(c.Generation(), "b", "bbbb")
	c.Put(c.Generation(), "c", "cccc") // 12 bytes: a goes
	if _, ok := c.Get("a"); ok {
		t.Fatal("kept past the byte bound")
	}
	if _, ok := c.Get("c"); !ok {
		t.Fatal("newest entry missing")
	}
	c.Put(c.Generation(), "big", "01234567890")
	if _, ok := c.Get("big"); ok {
		t.Fatal("a value larger than the whole bound was kept")
	}
	if c.Len() != 2 {
		t.Fatalf("len %d", c.Len())
	}
}

// A NewBytes cache refuses a load that raced an eviction of one of its
// own tags (or a purge, or a key deletion) and keeps one that raced only
// others'; PutUntil bounds an entry's life below the TTL.
func TestIssue21HomePagesRacingLoadPerTagAndUntil(t *testing.T) {
	s := NewSet(nil)
	c := NewBytes[string, int](s, "pages", 1<<20, time.Minute, func(int) int { return 8 })
	clk := &clock{t: time.Unix(1_000_000, 0)}
	c.Now = clk.now
	s.SetOnline(true)
	mine, other := Tag{Kind: Status, ID: 1}, Tag{Kind: Status, ID: 2}

	gen := c.Generation()
	s.Evict(other)
	c.Put(gen, "kept", 1, mine)
	if _, ok := c.Get("kept"); !ok {
		t.Fatal("a load racing only another tag's eviction was refused")
	}
	for name, race := range map[string]func(){
		"own tag":  func() { s.Evict(mine) },
		"purge":    func() { s.SetOnline(true) },
		"delete":   func() { c.Delete("x") },
		"own, mid": func() { s.Evict(other); c.EvictTags(mine); s.Evict(other) },
	} {
		gen := c.Generation()
		race()
		c.Put(gen, name, 1, mine)
		if _, ok := c.Get(name); ok {
			t.Errorf("%s: a load racing it was kept", name)
		}
	}
	// History lost: refused.
	gen = c.Generation()
	for i := range historyLen + 1 {
		s.Evict(Tag{Kind: Status, ID: int64(100 + i)})
	}
	c.Put(gen, "old", 1, mine)
	if _, ok := c.Get("old"); ok {
		t.Fatal("a load older than the history was kept")
	}

	c.PutUntil(c.Generation(), "poll", 1, clk.t.Add(10*time.Second), mine)
	clk.t = clk.t.Add(9 * time.Second)
	if _, ok := c.Get("poll"); !ok {
		t.Fatal("expired early")
	}
	clk.t = clk.t.Add(time.Second)
	if _, ok := c.Get("poll"); ok {
		t.Fatal("served at its end")
	}
	c.PutUntil(c.Generation(), "past", 1, clk.t, mine)
	if _, ok := c.Get("past"); ok {
		t.Fatal("kept an entry already ended")
	}
}
