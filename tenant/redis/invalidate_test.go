package redis

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// store is an in-memory tenant.Store counting SiteByHost calls per host:
// one node's view of the database.
type store struct {
	mu    sync.Mutex
	sites map[string]*tenant.Site
	calls map[string]int
}

func newStore() *store {
	return &store{sites: map[string]*tenant.Site{}, calls: map[string]int{}}
}

func (s *store) set(host string, site *tenant.Site) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sites[host] = site
}

func (s *store) callsFor(host string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[host]
}

func (s *store) SiteByHost(_ context.Context, host string) (*tenant.Site, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[host]++
	if site, ok := s.sites[host]; ok {
		return site, nil
	}
	return nil, errs.E(errs.NotFound, "unknown host")
}

func (s *store) CreateTenant(context.Context, string, tenant.NewDomain) (*tenant.Tenant, error) {
	return nil, errs.E(errs.Internal, "not implemented")
}

func (s *store) Tenants(context.Context) ([]tenant.Tenant, error) { return nil, nil }

// node is one server: a store, its host cache and the cache's subscription.
type node struct {
	name  string
	store *store
	cache *tenant.HostCache
}

// startNode subscribes cache to channel on its own client, whose
// connections are named so the test can find them in CLIENT LIST, and waits for the subscription to
// be confirmed. The subscription ends, and is waited for, when t ends.
func startNode(t *testing.T, channel, name string, st *store, cache *tenant.HostCache) *node {
	t.Helper()
	opt, err := goredis.ParseURL(testenv.RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	opt.ClientName = name
	c := goredis.NewClient(opt)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan struct{})
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", name)
	go func() {
		defer close(done)
		Subscribe(ctx, c, channel, cache, log, ready)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		c.Close()
	})
	select {
	case <-ready:
	case <-done:
		t.Fatalf("%s: Subscribe returned before the subscription was confirmed", name)
	case <-time.After(30 * time.Second): // a hang guard, not a timing assertion
		t.Fatalf("%s: subscription not confirmed", name)
	}
	return &node{name: name, store: st, cache: cache}
}

func site(id int64, host string) *tenant.Site {
	return &tenant.Site{TenantID: id, TenantName: "tenant " + strconv.FormatInt(id, 10), Status: tenant.Active, Domain: host}
}

func (n *node) resolve(t *testing.T, host string) *tenant.Site {
	t.Helper()
	s, err := n.cache.Resolve(context.Background(), host)
	if err != nil {
		t.Fatalf("%s: Resolve(%q): %v", n.name, host, err)
	}
	return s
}

// waitUntil polls cond until it holds; the deadline only turns a lost
// message into a failure instead of a hang.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestHostsChangedReachesEveryNode: a published change makes every node
// reload exactly the changed hosts from its store; other entries stay
// cached.
func TestHostsChangedReachesEveryNode(t *testing.T) {
	t.Parallel()
	client, prefix := testenv.Redis(t)
	channel := Channel(prefix)
	if !strings.HasPrefix(channel, prefix) {
		t.Fatalf("Channel(%q) = %q, want it under the prefix", prefix, channel)
	}

	a1, b1, c1 := site(1, "a.example"), site(2, "b.example"), site(3, "c.example")
	var nodes []*node
	for i := range 2 {
		st := newStore()
		st.set("a.example", a1)
		st.set("b.example", b1)
		st.set("c.example", c1)
		cache := tenant.NewHostCache(st, time.Hour, 100)
		nodes = append(nodes, startNode(t, channel, fmt.Sprintf("%snode%d", prefix, i), st, cache))
	}
	for _, n := range nodes {
		for _, h := range []string{"a.example", "b.example", "c.example"} {
			n.resolve(t, h)
			n.resolve(t, h)
			if got := n.store.callsFor(h); got != 1 {
				t.Fatalf("%s: %d loads of %s while warming, want 1", n.name, got, h)
			}
		}
	}

	// The database changes: a.example moves to tenant 10.
	a2 := site(10, "a.example")
	for _, n := range nodes {
		n.store.set("a.example", a2)
	}
	ctx := context.Background()
	// A change published on another prefix's channel must not reach us; it
	// goes first, so were it delivered it would be seen before ours.
	other := &Notifier{Client: client, Channel: Channel(prefix + "other:")}
	if err := other.HostsChanged(ctx, "b.example"); err != nil {
		t.Fatal(err)
	}
	notifier := &Notifier{Client: client, Channel: channel}
	if err := notifier.HostsChanged(ctx, "a.example"); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		waitUntil(t, n.name+" to reload a.example", func() bool { return n.resolve(t, "a.example") == a2 })
		if got := n.store.callsFor("a.example"); got != 2 {
			t.Fatalf("%s: %d loads of a.example, want 2", n.name, got)
		}
		if n.resolve(t, "b.example") != b1 || n.resolve(t, "c.example") != c1 {
			t.Fatalf("%s: unchanged hosts answered differently", n.name)
		}
		if b, c := n.store.callsFor("b.example"), n.store.callsFor("c.example"); b != 1 || c != 1 {
			t.Fatalf("%s: unchanged hosts reloaded (b %d, c %d loads), want them still cached", n.name, b, c)
		}
	}

	// Several hosts in one message.
	b2, c2 := site(20, "b.example"), site(30, "c.example")
	for _, n := range nodes {
		n.store.set("b.example", b2)
		n.store.set("c.example", c2)
	}
	if err := notifier.HostsChanged(ctx, "b.example", "c.example"); err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		waitUntil(t, n.name+" to reload b.example and c.example", func() bool {
			return n.resolve(t, "b.example") == b2 && n.resolve(t, "c.example") == c2
		})
		if n.resolve(t, "a.example") != a2 || n.store.callsFor("a.example") != 2 {
			t.Fatalf("%s: a.example reloaded by a message not naming it", n.name)
		}
	}
}

// TestSubscribeClearsCache: a first subscription, and every one after a
// lost connection, drops the whole cache, since changes published while
// unsubscribed were missed.
func TestSubscribeClearsCache(t *testing.T) {
	t.Parallel()
	client, prefix := testenv.Redis(t)
	st := newStore()
	a := site(1, "a.example")
	st.set("a.example", a)
	cache := tenant.NewHostCache(st, time.Hour, 100)
	ctx := context.Background()
	if _, err := cache.Resolve(ctx, "a.example"); err != nil {
		t.Fatal(err)
	}
	if _, err := cache.Resolve(ctx, "nobody.example"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("Resolve(unknown) = %v, want %s", err, errs.NotFound)
	}
	if cache.Len() != 2 {
		t.Fatalf("pre-filled cache holds %d entries, want 2", cache.Len())
	}

	name := prefix + "node"
	n := startNode(t, Channel(prefix), name, st, cache)
	if cache.Len() != 0 {
		t.Fatalf("cache holds %d entries after subscribing, want 0", cache.Len())
	}
	if n.resolve(t, "a.example") != a || st.callsFor("a.example") != 2 {
		t.Fatalf("a.example not reloaded after subscribing (%d loads)", st.callsFor("a.example"))
	}

	// Drop the node's subscriber connection; go-redis reconnects and
	// resubscribes, and the confirmation must clear the cache again.
	if cache.Len() != 1 {
		t.Fatalf("cache holds %d entries before the reconnect, want 1", cache.Len())
	}
	id := clientID(t, client, name)
	if err := client.Do(ctx, "CLIENT", "KILL", "ID", id).Err(); err != nil {
		t.Fatalf("CLIENT KILL ID %s: %v", id, err)
	}
	waitUntil(t, "the resubscription to clear the cache", func() bool { return cache.Len() == 0 })
	if now := clientIDOrEmpty(t, client, name); now == "" || now == id {
		t.Fatalf("subscriber connection after the kill has id %q, want a new one (was %s)", now, id)
	}
	if n.resolve(t, "a.example") != a || st.callsFor("a.example") != 3 {
		t.Fatalf("a.example not reloaded after resubscribing (%d loads)", st.callsFor("a.example"))
	}
}

// clientID finds the id of the one connection named name.
func clientID(t *testing.T, client *goredis.Client, name string) string {
	t.Helper()
	id := clientIDOrEmpty(t, client, name)
	if id == "" {
		t.Fatalf("no Redis connection named %s", name)
	}
	return id
}

func clientIDOrEmpty(t *testing.T, client *goredis.Client, name string) string {
	t.Helper()
	list, err := client.ClientList(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(list, "\n") {
		var id string
		named := false
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "id="); ok {
				id = v
			}
			if f == "name="+name {
				named = true
			}
		}
		if named && id != "" {
			return id
		}
	}
	return ""
}
