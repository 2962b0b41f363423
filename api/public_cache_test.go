package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/public"
	publicredis "github.com/roost-social/roost/api/public/redis"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/internal/testenv"
)

// Issue 18, speed: signed-out pages are kept rendered per node and
// dropped when what they show changes, on every node.

// cachedWeb is a webWorld whose nodes cache pages, with the database's
// page events relayed to Redis and every node's cache subscribed.
type cachedWeb struct {
	*webWorld
	caches []*public.PageCache
	apps   []*fiber.App
}

// newCachedWeb starts n nodes sharing the database and Redis, the relay
// (elected, as in serve) and each node's subscription, and waits until
// they all listen.
func newCachedWeb(t *testing.T, n int) *cachedWeb {
	t.Helper()
	first := public.NewPageCache(8<<20, time.Hour) // an hour: only invalidations refresh a page here
	cw := &cachedWeb{webWorld: newWebWorld(t, first), caches: []*public.PageCache{first}}
	cw.apps = []*fiber.App{cw.app}
	for len(cw.caches) < n {
		c := public.NewPageCache(8<<20, time.Hour)
		cw.caches = append(cw.caches, c)
		cw.apps = append(cw.apps, cw.node(c))
	}
	rdb, prefix := testenv.Redis(t)
	ctx, cancel := context.WithCancel(context.Background())
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	channel := publicredis.Channel(prefix)
	done := make(chan struct{}, n+1)
	t.Cleanup(func() {
		cancel()
		for range n + 1 {
			<-done
		}
	})
	for _, c := range cw.caches {
		ready := make(chan struct{})
		go func() {
			defer func() { done <- struct{}{} }()
			publicredis.Subscribe(ctx, rdb, channel, c, quiet, ready)
		}()
		<-ready
	}
	pub := &publicredis.Publisher{Client: rdb, Channel: channel, Log: quiet}
	relay := &fedpg.Relay{DB: cw.db, Log: quiet, Poll: 50 * time.Millisecond,
		Handle: func(ctx context.Context, p string) { pub.Publish(ctx, p) }}
	go func() {
		defer func() { done <- struct{}{} }()
		relay.Run(ctx)
	}()
	waitFor(t, "the relay to be elected", relay.Leading)
	return cw
}

// waitFor polls cond until it holds (the invalidation crosses the
// database, the relay and Redis), failing after a generous bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// open reads a page from node i as a signed-out browser.
func (cw *cachedWeb) open(t *testing.T, i int, host, target string, headers ...string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Host = host
	req.Header.Set("Accept", "text/html")
	for j := 0; j+1 < len(headers); j += 2 {
		req.Header.Set(headers[j], headers[j+1])
	}
	resp, err := cw.apps[i].Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// shows waits until node i's page at target does (or, with want false,
// does not) contain text.
func (cw *cachedWeb) shows(t *testing.T, i int, target, text string, want bool) {
	t.Helper()
	waitFor(t, target+" on node "+string(rune('0'+i))+" to change", func() bool {
		_, body := cw.open(t, i, "a.example", target)
		return strings.Contains(body, text) == want
	})
}

func TestIssue18CachedPageServedAgainWithETagAnd304(t *testing.T) {
	t.Parallel()
	cw := newCachedWeb(t, 1)
	st := cw.post(t, cw.aliceA, map[string]any{"status": "a post worth caching"})
	// The post's own change events reach the cache a moment after the
	// API answered, and drop (or keep from being stored) a page read
	// before them: read until the second of a pair is served stored.
	var r1, r2 *http.Response
	var body1, body2 string
	for deadline := time.Now().Add(30 * time.Second); ; {
		before := cw.caches[0].Stats().Hits
		r1, body1 = cw.open(t, 0, "a.example", "/@alice/"+st.ID)
		r2, body2 = cw.open(t, 0, "a.example", "/@alice/"+st.ID+"?utm_source=x") // ignored parameters: the same page
		if cw.caches[0].Stats().Hits > before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never served from the cache: %+v", cw.caches[0].Stats())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r1.StatusCode != 200 || r2.StatusCode != 200 || body1 != body2 || !strings.Contains(body1, "a post worth caching") {
		t.Fatalf("pages: %d %d, same %v", r1.StatusCode, r2.StatusCode, body1 == body2)
	}
	tag := r1.Header.Get("ETag")
	if tag == "" || r2.Header.Get("ETag") != tag || r1.Header.Get("Cache-Control") != "no-cache" ||
		!strings.Contains(r1.Header.Get("Vary"), "Cookie") || !strings.Contains(r1.Header.Get("Vary"), "Accept") {
		t.Errorf("headers: %v", r1.Header)
	}
	if r1.Header.Get("Content-Security-Policy") != r2.Header.Get("Content-Security-Policy") || r2.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("a cached page lost its policy: %q", r2.Header.Get("Content-Security-Policy"))
	}
	if r1.Header.Get("X-Request-Id") == r2.Header.Get("X-Request-Id") {
		t.Error("a cached page repeats the request id of the read that rendered it")
	}
	r3, body3 := cw.open(t, 0, "a.example", "/@alice/"+st.ID, "If-None-Match", tag)
	if r3.StatusCode != http.StatusNotModified || body3 != "" {
		t.Errorf("If-None-Match: %d %q", r3.StatusCode, body3)
	}
	// An ActivityPub client at the post's id is never given the page.
	r4, _ := cw.open(t, 0, "a.example", strings.TrimPrefix(st.URI, "https://a.example"), "Accept", "application/activity+json")
	if !strings.Contains(r4.Header.Get("Content-Type"), "activity+json") {
		t.Errorf("AP read answered %q", r4.Header.Get("Content-Type"))
	}
	r5, _ := cw.open(t, 0, "a.example", "/@alice/"+st.ID, "Accept", "application/activity+json")
	if r5.StatusCode != http.StatusFound {
		t.Errorf("AP read of the page URL: %d", r5.StatusCode)
	}
}

func TestIssue18SignedInBrowsersBypassThePageCache(t *testing.T) {
	t.Parallel()
	cw := newCachedWeb(t, 1)
	cw.post(t, cw.aliceA, map[string]any{"status": "seen by all"})
	cw.open(t, 0, "a.example", "/@alice")
	before := cw.caches[0].Stats()
	for _, name := range []string{"roost_web_session", "__Host-roost_web_session", "__Secure-roost_web_session"} {
		r, body := cw.open(t, 0, "a.example", "/@alice", "Cookie", name+"=whoever")
		if r.StatusCode != 200 || !strings.Contains(body, "seen by all") || r.Header.Get("Cache-Control") != "no-store" ||
			r.Header.Get("ETag") != "" {
			t.Errorf("%s: %d, Cache-Control %q, ETag %q", name, r.StatusCode, r.Header.Get("Cache-Control"), r.Header.Get("ETag"))
		}
	}
	if after := cw.caches[0].Stats(); after.Hits != before.Hits || after.Stores != before.Stores || after.Misses != before.Misses {
		t.Errorf("signed-in reads touched the cache: %+v then %+v", before, after)
	}
}

// Every change a page shows drops it: a delete, an edit, a profile
// change, a reply, a moderator hiding a post, on both nodes.
func TestIssue18PageCacheInvalidatedOnEveryNode(t *testing.T) {
	t.Parallel()
	cw := newCachedWeb(t, 2)
	keep := cw.post(t, cw.aliceA, map[string]any{"status": "the post that stays"})
	gone := cw.post(t, cw.aliceA, map[string]any{"status": "the post to delete"})
	edit := cw.post(t, cw.aliceA, map[string]any{"status": "the text before"})
	hide := cw.post(t, cw.aliceA, map[string]any{"status": "the post a moderator hides"})
	pages := []string{"/@alice", "/@alice/" + gone.ID, "/@alice/" + edit.ID, "/@alice.rss", "/@alice/" + keep.ID}
	for i := range cw.apps {
		// A page rendered while the posts' own events still arrive is
		// not stored (it may predate them): read until all are held.
		waitFor(t, "every page cached", func() bool {
			for _, p := range pages {
				if r, _ := cw.open(t, i, "a.example", p); r.StatusCode != 200 {
					t.Fatalf("%s: %d", p, r.StatusCode)
				}
			}
			return cw.caches[i].Stats().Pages == len(pages)
		})
	}
	auth := "Bearer " + cw.tokens[cw.aliceA.ID]

	// Deleted: gone from the profile, its feed, and its own page is a 404.
	if r := cw.do(t, http.MethodDelete, "a.example", "/api/v1/statuses/"+gone.ID, nil, "Authorization", auth); r.StatusCode != 200 {
		t.Fatalf("delete: %d", r.StatusCode)
	}
	for i := range cw.apps {
		cw.shows(t, i, "/@alice", "the post to delete", false)
		cw.shows(t, i, "/@alice.rss", "the post to delete", false)
		waitFor(t, "the deleted post's page to answer 404", func() bool {
			r, _ := cw.open(t, i, "a.example", "/@alice/"+gone.ID)
			return r.StatusCode == http.StatusNotFound
		})
	}

	// Edited.
	b, _ := json.Marshal(map[string]any{"status": "the text after"})
	if r := cw.do(t, http.MethodPut, "a.example", "/api/v1/statuses/"+edit.ID, bytes.NewReader(b),
		"Authorization", auth, "Content-Type", "application/json"); r.StatusCode != 200 {
		t.Fatalf("edit: %d", r.StatusCode)
	}
	for i := range cw.apps {
		cw.shows(t, i, "/@alice/"+edit.ID, "the text after", true)
		cw.shows(t, i, "/@alice", "the text before", false)
	}

	// The profile: a new name on the profile and on every post page.
	b, _ = json.Marshal(map[string]any{"display_name": "Alice Renamed"})
	if r := cw.do(t, http.MethodPatch, "a.example", "/api/v1/accounts/update_credentials", bytes.NewReader(b),
		"Authorization", auth, "Content-Type", "application/json"); r.StatusCode != 200 {
		t.Fatalf("update_credentials: %d", r.StatusCode)
	}
	for i := range cw.apps {
		cw.shows(t, i, "/@alice", "Alice Renamed", true)
		cw.shows(t, i, "/@alice/"+keep.ID, "Alice Renamed", true)
	}

	// A reply by someone else joins the thread page.
	cw.post(t, cw.bob, map[string]any{"status": "the late reply by bob", "in_reply_to_id": keep.ID})
	for i := range cw.apps {
		cw.shows(t, i, "/@alice/"+keep.ID, "the late reply by bob", true)
	}

	// Hidden by the tenant's moderators: no longer public.
	for i := range cw.apps {
		cw.shows(t, i, "/@alice", "the post a moderator hides", true) // cached again since the rename
	}
	if _, err := cw.db.Exec(context.Background(), `insert into tenant_hidden_statuses (status_id, tenant_id) values ($1, $2)`,
		hide.ID, cw.tenantA.ID); err != nil {
		t.Fatal(err)
	}
	for i := range cw.apps {
		cw.shows(t, i, "/@alice", "the post a moderator hides", false)
	}
}
