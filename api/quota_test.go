package api_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-social/roost/api"
	"github.com/roost-social/roost/api/mastodon"
	apioauth "github.com/roost-social/roost/api/oauth"
	"github.com/roost-social/roost/federation/outbox"
	ratelimitredis "github.com/roost-social/roost/internal/ratelimit/redis"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/oauth"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
	"github.com/roost-social/roost/tenant/quota"
)

// clock is a test's injected time.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Issue 20: a tenant's quota of client API requests per second holds
// across the instance — two app instances (nodes), each with its own
// quota service and copy of the quotas, share one Redis — refuses with
// 429 and Retry-After before anything is changed, leaves other tenants
// alone, and lets requests through again in the next second. The clock
// is injected: nothing depends on timing.
func TestIssue20RequestQuotaHoldsAcrossNodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	rdb, prefix := testenv.Redis(t)
	store := tenantpg.NewOAuthStore(w.db)
	auth := &oauth.Service{Store: store}
	clk := &clock{now: time.Date(2030, 1, 2, 3, 4, 5, 500_000_000, time.UTC)} // mid-second
	nodes := make([]*world, 2)
	quotas := make([]*quota.Service, 2)
	for i := range nodes {
		quotas[i] = &quota.Service{Store: w.tenants, Counter: ratelimitredis.NewWindows(rdb), Prefix: prefix, Now: clk.Now}
		o := w.opts
		o.Metrics = nil
		o.OAuth = &apioauth.Handler{OAuth: auth, Logins: store, URL: o.URL, Log: o.Log}
		o.Mastodon = &mastodon.Handler{Auth: auth, Views: w.accounts, Client: w.accounts, Accounts: w.accounts,
			Outbox: &outbox.Service{}, Sites: o.Sites, URL: o.URL}
		o.Quotas = quotas[i]
		n := *w
		n.app = api.New(o)
		nodes[i] = &n
	}
	app, secret, err := auth.RegisterApp(ctx, w.tenantA.ID, "quota", "", oauth.OOB, "read write")
	if err != nil {
		t.Fatal(err)
	}
	code, err := auth.Authorize(ctx, app, w.aliceA.ID, oauth.OOB, "read write", "", "")
	if err != nil {
		t.Fatal(err)
	}
	g, err := auth.Exchange(ctx, w.tenantA.ID, oauth.TokenRequest{GrantType: "authorization_code", ClientID: app.ClientID,
		ClientSecret: secret, Code: code, RedirectURI: oauth.OOB})
	if err != nil {
		t.Fatal(err)
	}
	bearer := "Bearer " + g.AccessToken
	if err := quotas[0].Set(ctx, tenant.CommandLine, w.tenantA.ID, tenant.Quotas{RequestsPerSecond: 4}); err != nil {
		t.Fatal(err)
	}
	// Four requests in the second, alternating nodes: all served.
	for i := range 4 {
		if r := nodes[i%2].get(t, "a.example", "/api/v1/accounts/verify_credentials", "Authorization", bearer); r.StatusCode != 200 {
			t.Fatalf("request %d on node %d: %d, want 200 within the quota", i, i%2, r.StatusCode)
		}
	}
	// The fifth, on either node: 429 with Retry-After, and a write is
	// refused before it changes anything.
	for i, n := range nodes {
		r := n.get(t, "a.example", "/api/v1/accounts/verify_credentials", "Authorization", bearer)
		if msg := wantError(t, r, http.StatusTooManyRequests); !strings.Contains(msg, "4 requests per second") {
			t.Fatalf("node %d: error %q does not name the quota", i, msg)
		}
		if ra := r.Header.Get("Retry-After"); ra != "1" {
			t.Fatalf("node %d: Retry-After %q, want 1", i, ra)
		}
	}
	r := nodes[1].do(t, http.MethodPatch, "a.example", "/api/v1/accounts/update_credentials",
		strings.NewReader(`{"display_name":"changed"}`), "Authorization", bearer, "Content-Type", "application/json")
	wantError(t, r, http.StatusTooManyRequests)
	var name string
	if err := w.db.QueryRow(ctx, `select display_name from accounts where id = $1`, w.aliceA.ID).Scan(&name); err != nil || name == "changed" {
		t.Fatalf("a refused request changed the account: %q %v", name, err)
	}
	// Another tenant is not slowed by A's quota.
	if r := nodes[0].get(t, "b.example", "/api/v1/instance"); r.StatusCode != 200 {
		t.Fatalf("tenant B: %d, want 200", r.StatusCode)
	}
	// The next second, A is served again.
	clk.add(time.Second)
	if r := nodes[1].get(t, "a.example", "/api/v1/accounts/verify_credentials", "Authorization", bearer); r.StatusCode != 200 {
		t.Fatalf("next second: %d, want 200", r.StatusCode)
	}
}
