package api_test

import (
	"net/url"
	"testing"
)

// Two tenants each host an "alice": every discovery and actor answer on one
// domain describes only that tenant's alice, with her own key.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	w := newWorld(t)

	t.Run("webfinger answers each domain's own alice", func(t *testing.T) {
		cases := []struct{ host, resource, subject, self string }{
			{"a.example", "acct:alice@a.example", "acct:alice@a.example", "https://a.example/users/alice"},
			{"b.example", "acct:alice@b.example", "acct:alice@b.example", "https://social.b.example/users/alice"},
			// The service domain answers for its handle domain's accounts.
			{"social.b.example", "acct:alice@b.example", "acct:alice@b.example", "https://social.b.example/users/alice"},
			{"social.b.example", "acct:alice@social.b.example", "acct:alice@b.example", "https://social.b.example/users/alice"},
			{"b.example", "https://social.b.example/users/alice", "acct:alice@b.example", "https://social.b.example/users/alice"},
		}
		for _, c := range cases {
			resp := w.get(t, c.host, "/.well-known/webfinger?resource="+url.QueryEscape(c.resource))
			if ct := resp.Header.Get("Content-Type"); ct != "application/jrd+json" {
				t.Errorf("%s %s: content type %q", c.host, c.resource, ct)
			}
			if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("%s: no CORS header", c.host)
			}
			m := decode(t, resp, 200)
			if m["subject"] != c.subject {
				t.Errorf("%s %s: subject %v, want %s", c.host, c.resource, m["subject"], c.subject)
			}
			if got := links(t, m)["self"]; got != c.self {
				t.Errorf("%s %s: self %s, want %s", c.host, c.resource, got, c.self)
			}
		}
	})

	t.Run("webfinger never answers for another tenant's domain", func(t *testing.T) {
		for _, c := range []struct{ host, resource string }{
			{"a.example", "acct:alice@b.example"},
			{"b.example", "acct:alice@a.example"},
			{"social.b.example", "acct:bob@a.example"},
			{"a.example", "https://social.b.example/users/alice"},
			{"b.example", "acct:bob@b.example"}, // bob exists only on a.example
		} {
			wantError(t, w.get(t, c.host, "/.well-known/webfinger?resource="+url.QueryEscape(c.resource)), 404)
		}
	})

	t.Run("actor documents carry each tenant's own key", func(t *testing.T) {
		a := decode(t, w.get(t, "a.example", "/users/alice", "Accept", asAccept), 200)
		b := decode(t, w.get(t, "social.b.example", "/users/alice", "Accept", asAccept), 200)
		if a["id"] != "https://a.example/users/alice" || b["id"] != "https://social.b.example/users/alice" {
			t.Fatalf("ids: %v, %v", a["id"], b["id"])
		}
		ka := a["publicKey"].(map[string]any)["publicKeyPem"]
		kb := b["publicKey"].(map[string]any)["publicKeyPem"]
		if ka != w.aliceA.PublicKeyPEM || kb != w.aliceB.PublicKeyPEM || ka == kb {
			t.Fatal("actor documents do not carry their own tenant's distinct keys")
		}
		if a["name"] != "alice of a.example" || b["name"] != "alice of b.example" {
			t.Fatalf("names: %v, %v", a["name"], b["name"])
		}
	})

	t.Run("an account exists only on its own tenant", func(t *testing.T) {
		decode(t, w.get(t, "a.example", "/users/bob", "Accept", asAccept), 200)
		wantError(t, w.get(t, "b.example", "/users/bob", "Accept", asAccept), 404)
		wantError(t, w.get(t, "social.b.example", "/@bob"), 404)
	})

	t.Run("nodeinfo counts each tenant's own users", func(t *testing.T) {
		na := decode(t, w.get(t, "a.example", "/nodeinfo/2.0"), 200)
		nb := decode(t, w.get(t, "b.example", "/nodeinfo/2.1"), 200)
		total := func(m map[string]any) any { return m["usage"].(map[string]any)["users"].(map[string]any)["total"] }
		if total(na) != 2.0 || total(nb) != 1.0 {
			t.Fatalf("user totals: A %v (want 2), B %v (want 1)", total(na), total(nb))
		}
		if na["metadata"].(map[string]any)["nodeName"] != "Tenant A" || nb["metadata"].(map[string]any)["nodeName"] != "Tenant B" {
			t.Fatal("nodeName is not the tenant's")
		}
	})
}
