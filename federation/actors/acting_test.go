package actors

import (
	"context"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/tenant"
)

type tenantDomains map[int64]string

func (d tenantDomains) TenantDomains(_ context.Context, id int64) ([]federation.TenantDomain, error) {
	if d[id] == "" {
		return nil, nil
	}
	return []federation.TenantDomain{{Domain: d[id]}}, nil
}

type serviceSites struct{ lookups *int }

func (s serviceSites) Resolve(_ context.Context, host string) (*tenant.Site, error) {
	*s.lookups++
	return &tenant.Site{Domain: host, ServiceDomain: "social." + host}, nil
}

// Issue 15 finding 1 (out of cmd) and 10 (injected clock): a tenant acts
// as its first domain's actor host, with the port links carry; the answer
// is reused for ActingHostTTL on the injected clock and looked up again
// after; a tenant without a domain acts as no host.
func TestIssue15ActingHostCachedOnTheClock(t *testing.T) {
	now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	lookups := 0
	domains := tenantDomains{1: "club.example"}
	a := &ActingHosts{Domains: domains, Sites: serviceSites{&lookups}, Scheme: "https", Port: 8443,
		Now: func() time.Time { return now }}
	ctx := context.Background()
	if h := a.Host(ctx, 1); h != "social.club.example:8443" {
		t.Fatalf("host %q", h)
	}
	domains[1] = "moved.example"
	now = now.Add(ActingHostTTL - time.Second)
	if h := a.Host(ctx, 1); h != "social.club.example:8443" || lookups != 1 {
		t.Fatalf("within the TTL: %q after %d lookups", h, lookups)
	}
	now = now.Add(time.Second)
	if h := a.Host(ctx, 1); h != "social.moved.example:8443" || lookups != 2 {
		t.Fatalf("after the TTL: %q after %d lookups", h, lookups)
	}
	if h := a.Host(ctx, 2); h != "" {
		t.Fatalf("a tenant without a domain acts as %q", h)
	}
}
