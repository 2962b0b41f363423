package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api"
	"github.com/roost-social/roost/api/mastodon"
	"github.com/roost-social/roost/federation"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/federation/social/card"
	"github.com/roost-social/roost/federation/social/quote"
	"github.com/roost-social/roost/internal/hotcache"
)

// homeNode is one web node of the home page cache test: an app over the
// shared database with its own caches and listener.
type homeNode struct {
	app   *fiber.App
	set   *hotcache.Set
	pages *hotcache.Cache[mastodon.HomePageKey, *mastodon.HomePageEntry]
	fence *hotcache.Cache[int, int]
}

// homeCluster is hiddenWorld's database served by two caching nodes and
// one that renders every request (fresh). Writes go through node a,
// which does not listen to the database (its caches are put online by
// hand): its pages are fresh after its viewer's write only through the
// write's own eviction. Node b hears the database's announcements.
type homeCluster struct {
	*hiddenWorld
	a, b   *homeNode
	fresh  *fiber.App
	fenceN int64
}

func newHomeCluster(t *testing.T) *homeCluster {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var h *mastodon.Handler
	na := &homeNode{set: hotcache.NewSet(nil)}
	na.pages = mastodon.NewHomePages(na.set, 0)
	w := newHiddenWorld(t, func(m *mastodon.Handler) {
		m.HomePages = na.pages
		if st, ok := m.Views.(*fedpg.Store); ok {
			m.Threads, m.InstanceData = st, st // thread mutes (statusroutes.go)
			m.Cards, m.Quotes = &card.Service{Views: st}, &quote.Service{Views: st, Quotes: st}
		}
		h = m
	})
	na.app = w.app
	hc := &homeCluster{hiddenWorld: w, a: na}
	node := func() *homeNode {
		n := &homeNode{set: hotcache.NewSet(nil)}
		n.pages = mastodon.NewHomePages(n.set, 0)
		hh := *h
		hh.HomePages = n.pages
		o := w.opts
		o.Metrics = nil
		o.Mastodon = &hh
		n.app = api.New(o)
		return n
	}
	hc.b = node()
	freshH := *h
	freshH.HomePages = nil
	o := w.opts
	o.Metrics = nil
	o.Mastodon = &freshH
	hc.fresh = api.New(o)
	var dones []chan struct{}
	hc.a.set.SetOnline(true)
	for _, n := range []*homeNode{hc.b} {
		n.fence = hotcache.New[int, int](n.set, "fence", 1, time.Hour)
		done := make(chan struct{})
		dones = append(dones, done)
		go func() {
			defer close(done)
			(&fedpg.CacheChanges{DB: w.db, Cache: n.set, Ping: time.Second}).Run(ctx)
		}()
		waitFor(t, "the cache listener to listen", n.set.Online)
	}
	t.Cleanup(func() {
		cancel()
		for _, d := range dones {
			<-d
		}
	})
	return hc
}

// home reads a's home timeline (query q) from app.
func (hc *homeCluster) home(t *testing.T, app *fiber.App, a *federation.Account, q string) string {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/api/v1/timelines/home"+q, nil)
	req.Host = hc.hosts[a.ID]
	req.Header.Set("Authorization", "Bearer "+hc.tokens[a.ID])
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("home: %d %s", resp.StatusCode, b)
	}
	return resp.Header.Get("Content-Type") + "\n" + resp.Header.Get("Link") + "\n" + string(b)
}

// caught waits until node n has heard every announcement committed so
// far: PostgreSQL delivers them in commit order, so once a fence sent
// now has dropped n's fence entry, everything before it was heard.
func (hc *homeCluster) caught(t *testing.T, n *homeNode) {
	t.Helper()
	hc.fenceN++
	tag := hotcache.Tag{Kind: hotcache.Tenant, ID: -hc.fenceN} // no tenant has it
	n.fence.Put(n.fence.Generation(), 1, 1, tag)
	if _, ok := n.fence.Get(1); !ok {
		t.Fatal("fence not kept")
	}
	if _, err := hc.db.Exec(context.Background(), `select pg_notify('roost_cache', $1)`, fmt.Sprintf("t %d", tag.ID)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the node to hear the fence", func() bool { _, ok := n.fence.Get(1); return !ok })
}

// TestIssue21HomePageCacheReadYourWrites: every write a Mastodon client
// makes that changes the viewer's home page is seen on the viewer's next
// read, on the node that made it (at once, without the database's
// announcement) and on a second node (once it heard the announcements);
// a change by someone else or by SQL (moderation, a card refetched, a
// custom emoji, a moderator hiding a post) too. Before
// each change both nodes answer from memory; after it each answers what
// a node without the cache renders.
func TestIssue21HomePageCacheReadYourWrites(t *testing.T) {
	hc := newHomeCluster(t)
	alice, bob := hc.aliceA, hc.bob
	hc.call(t, alice, http.MethodPost, fmt.Sprintf("/api/v1/accounts/%d/follow", bob.ID), nil).want(t, 200)
	p1 := hc.post(t, bob, map[string]any{"status": "hello from bob"})
	p2 := hc.post(t, bob, map[string]any{"status": "a question", "poll": map[string]any{"options": []string{"yes", "no"}, "expires_in": 3600}})
	p3 := hc.post(t, alice, map[string]any{"status": "mine :blob:"})
	hc.post(t, bob, map[string]any{"status": "for followers", "visibility": "private"})
	var p5 string
	pages := []string{"", "?limit=3", "?limit=2&max_id=" + p3, "?limit=1"}

	type change struct {
		name  string
		own   bool // alice's own write through node a: a's next read must see it
		write func(t *testing.T)
		same  bool // the pages may stay the same (nothing to show changed)
	}
	as := func(a *federation.Account, method, path string, body any) func(t *testing.T) {
		return func(t *testing.T) { hc.call(t, a, method, path, body).want(t, 200) }
	}
	sql := func(q string, args ...any) func(t *testing.T) {
		return func(t *testing.T) {
			if _, err := hc.db.Exec(context.Background(), q, args...); err != nil {
				t.Fatal(err)
			}
		}
	}
	changes := []change{
		{"favourite", true, as(alice, http.MethodPost, "/api/v1/statuses/"+p1+"/favourite", nil), false},
		{"unfavourite", true, as(alice, http.MethodPost, "/api/v1/statuses/"+p1+"/unfavourite", nil), false},
		{"reblog", true, as(alice, http.MethodPost, "/api/v1/statuses/"+p1+"/reblog", nil), false},
		{"unreblog", true, as(alice, http.MethodPost, "/api/v1/statuses/"+p1+"/unreblog", nil), false},
		{"bookmark", true, as(alice, http.MethodPost, "/api/v1/statuses/"+p1+"/bookmark", nil), false},
		{"pin", true, as(alice, http.MethodPost, "/api/v1/statuses/"+p3+"/pin", nil), false},
		{"vote", true, as(alice, http.MethodPost, "/api/v1/polls/"+p2+"/votes", map[string]any{"choices": []string{"0"}}), false},
		{"mute thread", true, as(alice, http.MethodPost, "/api/v1/statuses/"+p3+"/mute", nil), false},
		{"edit", true, as(alice, http.MethodPut, "/api/v1/statuses/"+p3, map[string]any{"status": "mine, edited :blob:"}), false},
		{"update credentials", true, as(alice, http.MethodPatch, "/api/v1/accounts/update_credentials", map[string]any{"display_name": "Alice Renamed"}), false},
		{"post", true, func(t *testing.T) { p5 = hc.post(t, alice, map[string]any{"status": "another of mine"}) }, false},
		{"filter", true, as(alice, http.MethodPost, "/api/v2/filters", map[string]any{"title": "no hello", "filter_action": "hide",
			"context": []string{"home"}, "keywords_attributes": []map[string]any{{"keyword": "hello"}}}), false},
		{"mute", true, as(alice, http.MethodPost, fmt.Sprintf("/api/v1/accounts/%d/mute", bob.ID), nil), false},
		{"unmute", true, as(alice, http.MethodPost, fmt.Sprintf("/api/v1/accounts/%d/unmute", bob.ID), nil), false},
		{"unfollow", true, as(alice, http.MethodPost, fmt.Sprintf("/api/v1/accounts/%d/unfollow", bob.ID), nil), false},
		{"follow", true, as(alice, http.MethodPost, fmt.Sprintf("/api/v1/accounts/%d/follow", bob.ID), nil), false},
		{"block", true, as(alice, http.MethodPost, fmt.Sprintf("/api/v1/accounts/%d/block", bob.ID), nil), false},
		{"unblock", true, as(alice, http.MethodPost, fmt.Sprintf("/api/v1/accounts/%d/unblock", bob.ID), nil), true},
		{"follow again", true, as(alice, http.MethodPost, fmt.Sprintf("/api/v1/accounts/%d/follow", bob.ID), nil), false},
		{"delete", true, func(t *testing.T) { hc.call(t, alice, http.MethodDelete, "/api/v1/statuses/"+p5, nil).want(t, 200) }, false},
		{"bob edits", false, as(bob, http.MethodPut, "/api/v1/statuses/"+p2, map[string]any{"status": "a question, edited",
			"poll": map[string]any{"options": []string{"yes", "no"}, "expires_in": 3600}}), false},
		{"bob renamed", false, as(bob, http.MethodPatch, "/api/v1/accounts/update_credentials", map[string]any{"display_name": "Robert"}), false},
		{"bob favourites alice's post", false, as(bob, http.MethodPost, "/api/v1/statuses/"+p3+"/favourite", nil), false},
		{"bob posts", false, func(t *testing.T) { hc.post(t, bob, map[string]any{"status": "news"}) }, false},
		{"bob suspended", false, sql(`insert into account_limits (account_id, tenant_id, suspended_at) values ($1, $2, now())`, bob.ID, hc.tenantA.ID), true},
		{"bob unsuspended", false, sql(`delete from account_limits where account_id = $1`, bob.ID), true},
		{"bob's row changed by SQL", false, sql(`update accounts set note = 'changed by SQL' where id = $1`, bob.ID), false},
		{"a card for bob's post", false, sql(`with c as (insert into link_cards (url, title, state) values ('https://link.example/x', 'X', 'ready') returning id)
			insert into status_cards (status_id, card_id) select $1, id from c`, p2), false},
		{"the card refetched", false, sql(`update link_cards set title = 'Y'`), false},
		{"a custom emoji added", false, sql(`insert into custom_emojis (tenant_id, shortcode, content_type, image) values ($1, 'blob', 'image/png', '\x89')`, hc.tenantA.ID), false},
		{"a moderator hides bob's post", false, sql(`insert into tenant_hidden_statuses (status_id, tenant_id) values ($1, $2)`, p2, hc.tenantA.ID), false},
		// Issue 21: bob is read (many followers, migration 060); his new
		// posts have no row in alice's feed, only his followers' pages
		// are told (P).
		{"bob is read", false, sql(`select home_pull($1)`, bob.ID), true},
		{"alice posts again", true, func(t *testing.T) { hc.post(t, alice, map[string]any{"status": "on top"}) }, false},
		// The first page (limit 1) shows only alice: bob's post reaches
		// it by its author's P alone.
		{"bob posts, read", false, func(t *testing.T) { hc.post(t, bob, map[string]any{"status": "read, not filed"}) }, false},
		{"bob boosts, read", false, as(bob, http.MethodPost, "/api/v1/statuses/"+p3+"/reblog", nil), false},
		{"alice takes none of bob's boosts", true, as(alice, http.MethodPost, fmt.Sprintf("/api/v1/accounts/%d/follow", bob.ID),
			map[string]any{"reblogs": false}), false},
		{"bob posts for followers, read", false, func(t *testing.T) {
			hc.post(t, bob, map[string]any{"status": "read, for followers", "visibility": "private"})
		}, false},
	}
	for _, ch := range changes {
		// Before: both nodes hold every page and answer it from memory.
		before := map[string]string{}
		for _, q := range pages {
			before[q] = hc.home(t, hc.fresh, alice, q)
			for _, n := range []*homeNode{hc.a, hc.b} {
				if n == hc.b {
					hc.caught(t, n)
				}
				hc.home(t, n.app, alice, q)
				if got := hc.home(t, n.app, alice, q); got != before[q] {
					t.Fatalf("%s: a cached page differs from a fresh one before the change:\n%s\nfresh:\n%s", ch.name, got, before[q])
				}
			}
		}
		for _, n := range []*homeNode{hc.a, hc.b} {
			if n.pages.Len() != len(pages) {
				t.Fatalf("%s: %d pages held before the change, want %d", ch.name, n.pages.Len(), len(pages))
			}
		}
		ch.write(t)
		changed := false
		for _, q := range pages {
			want := hc.home(t, hc.fresh, alice, q)
			changed = changed || want != before[q]
			if ch.own {
				if got := hc.home(t, hc.a.app, alice, q); got != want {
					t.Errorf("%s: node a's next read of %q is stale:\n%s\nfresh:\n%s", ch.name, q, got, want)
				}
			}
			hc.caught(t, hc.b)
			if got := hc.home(t, hc.b.app, alice, q); got != want {
				t.Errorf("%s: node b's read of %q after hearing the change is stale:\n%s\nfresh:\n%s", ch.name, q, got, want)
			}
		}
		if !ch.own {
			hc.a.set.SetOnline(true) // node a heard nothing of it: emptied, as a listener coming back does
		}
		if !changed && !ch.same {
			t.Errorf("%s changed no page: the case tests nothing", ch.name)
		}
	}
}

// homeAt reads the home timeline at host with bearer, answering the
// status and what a client sees.
func (hc *homeCluster) homeAt(t *testing.T, app *fiber.App, host, bearer, q string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/api/v1/timelines/home"+q, nil)
	req.Host = host
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type") + "\n" + resp.Header.Get("Link") + "\n" + string(b)
}

// TestIssue21HomePageCacheNeverCrossesViewersOrTenants: a cached page is
// only ever its own viewer's, on its own tenant and host; another
// viewer, another tenant's viewer, the same viewer on another host of
// the tenant and a token used on another tenant's host each get their
// own answer (a fresh node's), and bad paging input neither fails nor
// poisons what is kept.
func TestIssue21HomePageCacheNeverCrossesViewersOrTenants(t *testing.T) {
	hc := newHomeCluster(t)
	alice, bob, aliceB := hc.aliceA, hc.bob, hc.aliceB
	hc.call(t, alice, http.MethodPost, fmt.Sprintf("/api/v1/accounts/%d/follow", bob.ID), nil).want(t, 200)
	for i := range 3 {
		hc.post(t, bob, map[string]any{"status": fmt.Sprintf("bob %d", i)})
		hc.post(t, aliceB, map[string]any{"status": fmt.Sprintf("alice of B %d", i)})
	}
	hc.post(t, alice, map[string]any{"status": "alice of A"})
	long := "?x=" + strings.Repeat("y", 600)
	type read struct{ host, bearer, q string }
	reads := []read{
		{"a.example", hc.tokens[alice.ID], ""}, {"a.example", hc.tokens[bob.ID], ""},
		{"b.example", hc.tokens[aliceB.ID], ""}, {"social.b.example", hc.tokens[aliceB.ID], ""},
		{"b.example", hc.tokens[alice.ID], ""}, {"a.example", hc.tokens[aliceB.ID], ""},
		{"a.example", hc.tokens[alice.ID], "?limit=2"}, {"A.EXAMPLE", hc.tokens[alice.ID], ""},
	}
	for _, q := range []string{"?max_id=abc", "?limit=-5", "?limit=99999", "?limit=abc", "?max_id=1&max_id=99",
		"?since_id=0&min_id=", "?%zz", long, "?limit=2&access_token=x", "?local=true&limit=2"} {
		reads = append(reads, read{"a.example", hc.tokens[alice.ID], q})
	}
	for round := range 3 { // a miss, then hits, in between every other reader's
		for _, r := range reads {
			for _, n := range []*homeNode{hc.a, hc.b} {
				code, got := hc.homeAt(t, n.app, r.host, r.bearer, r.q)
				wantCode, want := hc.homeAt(t, hc.fresh, r.host, r.bearer, r.q)
				if code != wantCode || got != want {
					t.Fatalf("round %d, %s%s as %.8s: %d %s\nfresh: %d %s", round, r.host, r.q, r.bearer, code, got, wantCode, want)
				}
			}
		}
	}
	// Kept: alice, bob and alice of B (on each of B's hosts), alice's
	// pages of 2 (with and without an access_token parameter: one key)
	// and her pages under normalised paging; never the refused tokens',
	// the long query's or the malformed one's.
	if n := hc.b.pages.Len(); n < 5 || n > 12 {
		t.Fatalf("%d pages kept", n)
	}
}
