package tenant

import (
	"testing"
	"time"
)

// Cached answers from the cache only: no load on a miss, nil site for a
// cached "not ours", and nothing once the entry expired.
func TestHostCacheCachedForTLS(t *testing.T) {
	store := newFakeStore()
	a := site(1, "a.example")
	store.set("a.example", a)
	c, clk := newTestCache(store, 10*time.Minute, 100)

	if s, ok := c.Cached("a.example"); ok || s != nil {
		t.Fatalf("Cached before any load = %v, %v", s, ok)
	}
	wantCalls(t, store, "a.example", 0)
	mustResolve(t, c, "a.example", a)
	mustNotFound(t, c, "nobody.example")
	if s, ok := c.Cached("a.example"); !ok || s != a {
		t.Fatalf("Cached(a.example) = %v, %v", s, ok)
	}
	if s, ok := c.Cached("nobody.example"); !ok || s != nil {
		t.Fatalf("Cached(nobody.example) = %v, %v; want a cached negative", s, ok)
	}
	clk.Advance(time.Minute)
	if _, ok := c.Cached("nobody.example"); ok {
		t.Fatal("an expired negative answer is still cached")
	}
	wantCalls(t, store, "a.example", 1)
	wantCalls(t, store, "nobody.example", 1)
}
