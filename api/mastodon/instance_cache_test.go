package mastodon

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/hotcache"
)

// usageCounter counts the instance document's reads of the store.
type usageCounter struct {
	srAccountStore
	n atomic.Int64
}

func (u *usageCounter) Usage(ctx context.Context, tenantID int64) (federation.Usage, error) {
	u.n.Add(1)
	return u.srAccountStore.Usage(ctx, tenantID)
}

// With the node's cache, the instance document is rendered once per
// tenant, version and URL and served byte for byte as rendered: another
// tenant gets its own, and a change announced for the tenant (or its
// contact account) renders it afresh.
func TestIssue21InstanceDocumentCachedPerTenant(t *testing.T) {
	w := newSRWorld()
	set := hotcache.NewSet(nil)
	set.SetOnline(true)
	usage := &usageCounter{}
	h := &Handler{Auth: srAuth{}, Accounts: usage, Views: srViews{w: w}, Client: shClient{}, Sites: srResolver{},
		URL: httpx.URLConfig{Scheme: "https"}, InstanceData: srInstance{}, Emojis: srEmojis{}}
	app := fiber.New(fiber.Config{ErrorHandler: httpx.ErrorHandler})
	app.Use(func(c *fiber.Ctx) error {
		s, ok := srSites[c.Hostname()]
		if !ok {
			return srNotFound
		}
		httpx.SetSite(c, s)
		return c.Next()
	})
	h.Register(app)
	get := func(host, path string) string {
		t.Helper()
		res, err := app.Test(httptest.NewRequest("GET", "https://"+host+path, nil), -1)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("GET %s%s: %v %v", host, path, res, err)
		}
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("content type %q", ct)
		}
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := res.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return b.String()
	}
	uncached := map[string]string{}
	for _, p := range []string{"/api/v1/instance", "/api/v2/instance"} {
		for _, host := range []string{"a.example", "b.example"} {
			uncached[host+p] = get(host, p)
		}
	}
	h.InstanceDocs = NewInstanceDocs(set)
	usage.n.Store(0)
	for range 3 {
		for k, want := range uncached {
			host, path, _ := strings.Cut(k, "/")
			if got := get(host, "/"+path); got != want {
				t.Fatalf("%s cached:\n%s\nrendered:\n%s", k, got, want)
			}
		}
	}
	if n := usage.n.Load(); n != 4 {
		t.Fatalf("store read %d times for 4 documents read 3 times each", n)
	}
	if !strings.Contains(uncached["b.example/api/v2/instance"], `"account":null`) ||
		strings.Contains(uncached["a.example/api/v2/instance"], `"account":null`) {
		t.Fatal("the tenants' documents are not their own")
	}
	set.Evict(hotcache.Tag{Kind: hotcache.Tenant, ID: srSites["a.example"].TenantID})
	get("a.example", "/api/v2/instance")
	get("b.example", "/api/v2/instance")
	if n := usage.n.Load(); n != 5 {
		t.Fatalf("after tenant a's change: %d store reads, want 5 (a's document alone rendered again)", n)
	}
	set.Evict(hotcache.Tag{Kind: hotcache.Account, ID: 10}) // a's contact account
	get("a.example", "/api/v1/instance")
	if n := usage.n.Load(); n != 6 {
		t.Fatalf("after the contact account's change: %d store reads, want 6", n)
	}
}
