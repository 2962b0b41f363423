package public

import (
	"strings"
	"testing"
	"time"
)

func cpage(key string, n int) *CachedPage {
	return &CachedPage{Key: key, Body: []byte(strings.Repeat("x", n))}
}

// A page rendered while one of its keys changed is not stored: it may
// have been read before the change committed.
func TestIssue18PageRenderedDuringAChangeIsNotStored(t *testing.T) {
	pc := NewPageCache(1<<20, time.Hour)
	begun := pc.Begin()
	pc.Invalidate("s1")
	if pc.Put(cpage("p", 10), []string{"a1", "s1"}, begun) {
		t.Fatal("a page begun before its status changed was stored")
	}
	if !pc.Put(cpage("q", 10), []string{"a1", "s2"}, begun) {
		t.Fatal("a page not touching the change was refused")
	}
	begun = pc.Begin()
	pc.InvalidateAll()
	if pc.Put(cpage("r", 10), []string{"a9"}, begun) {
		t.Fatal("a page begun before everything was dropped was stored")
	}
}

// Invalidate drops exactly the pages filed under the key; the bytes
// bound evicts the least recently used; the age bound expires.
func TestIssue18PageCacheBoundsAndPreciseDrops(t *testing.T) {
	now := time.Unix(1000, 0)
	pc := NewPageCache(8000, time.Minute)
	pc.now = func() time.Time { return now }
	pc.Put(cpage("p1", 800), []string{"s1", "a1"}, pc.Begin())
	pc.Put(cpage("p2", 800), []string{"s2", "a1"}, pc.Begin())
	pc.Put(cpage("p3", 800), []string{"s3"}, pc.Begin())
	pc.Invalidate("s2")
	if _, ok := pc.Get("p2"); ok {
		t.Error("p2 kept after s2 changed")
	}
	if _, ok := pc.Get("p1"); !ok {
		t.Error("p1 dropped for s2")
	}
	pc.Invalidate("a1")
	if _, ok := pc.Get("p1"); ok {
		t.Error("p1 kept after a1 changed")
	}
	for i := range 20 { // 20 × ~900 bytes into 8000: the oldest go
		pc.Put(cpage("n"+string(rune('a'+i)), 800), []string{"s9"}, pc.Begin())
		if s := pc.Stats(); s.Bytes > 8000 {
			t.Fatalf("holds %d bytes", s.Bytes)
		}
	}
	if _, ok := pc.Get("na"); ok {
		t.Error("the least recently used page survived")
	}
	if _, ok := pc.Get("nt"); !ok {
		t.Error("the newest page was evicted")
	}
	if pc.Put(cpage("big", 2000), nil, pc.Begin()) {
		t.Error("a page over an eighth of the cache was stored")
	}
	now = now.Add(time.Minute)
	if _, ok := pc.Get("nt"); ok {
		t.Error("a page outlived its age bound")
	}
	pc.Invalidate("s9")
	if s := pc.Stats(); s.Pages != 0 || s.Bytes != 0 {
		t.Errorf("after dropping all: %+v", s)
	}
}

func TestIssue18ETagMatch(t *testing.T) {
	for _, c := range []struct {
		header string
		want   bool
	}{{`"abc"`, true}, {`W/"abc"`, true}, {`"x", "abc"`, true}, {`*`, true}, {`"abcd"`, false}, {``, false}} {
		if got := etagMatch(c.header, `"abc"`); got != c.want {
			t.Errorf("etagMatch(%q) = %v", c.header, got)
		}
	}
}
