// Package tenant holds Roost's hosting model: tenants, the domains they
// answer on, user logins, and the resolution of a request's Host to a Site.
// It depends on nothing of ours but internal/errs; storage lives in
// tenant/postgres and cross-node cache invalidation in tenant/redis.
package tenant

import (
	"context"
	"time"
)

// Status is a tenant's standing.
type Status string

// Tenant standings. Only active tenants are served.
const (
	Active    Status = "active"
	Suspended Status = "suspended"
	Deleted   Status = "deleted"
	// Pending is a tenant signed up on the portal awaiting an operator's
	// approval (ROOST_SIGNUPS=approval): never served.
	Pending Status = "pending"
)

// Tenant is the unit of billing and moderation: a person, a family, a club.
type Tenant struct {
	ID        int64
	Name      string
	Status    Status
	CreatedAt time.Time
	Domains   []Domain
}

// Domain is a hostname pair a tenant answers on.
type Domain struct {
	// Domain is the handle domain: the part after @ in @alice@alice.example.
	Domain string
	// ServiceDomain, when set, is where actors live (social.alice.example).
	ServiceDomain string
	TenantID      int64
	// VerificationToken is the value expected in the TXT record.
	VerificationToken string
	VerifiedAt        *time.Time
	CreatedAt         time.Time
}

// Site is what a request's Host resolves to: one tenant's domain. Handlers
// take everything tenant-scoped from it.
type Site struct {
	TenantID      int64
	TenantName    string
	Status        Status
	Domain        string
	ServiceDomain string
	// AuthorizedFetch is the tenant's own authorized-fetch setting; nil
	// follows the instance's ROOST_AUTHORIZED_FETCH (issue 16).
	AuthorizedFetch *bool
}

// ActorHost is the host that actor and object URIs are issued on.
func (s *Site) ActorHost() string {
	if s.ServiceDomain != "" {
		return s.ServiceDomain
	}
	return s.Domain
}

// Store persists tenants and domains. Implementations MUST be safe for
// concurrent use.
type Store interface {
	// CreateTenant creates a tenant with its first domain in one transaction.
	CreateTenant(ctx context.Context, name string, d NewDomain) (*Tenant, error)
	// Tenants lists every tenant with its domains, oldest first.
	Tenants(ctx context.Context) ([]Tenant, error)
	// SiteByHost resolves a normalised host (handle or service domain) to a
	// verified domain of an active or suspended tenant, or returns
	// errs.NotFound.
	SiteByHost(ctx context.Context, host string) (*Site, error)
}

// NewDomain describes a domain to add.
type NewDomain struct {
	Domain        string
	ServiceDomain string
	// Verified marks the domain usable at once (an operator vouches for it).
	Verified bool
}

// Notifier tells every node that the answers for some hosts changed.
type Notifier interface {
	HostsChanged(ctx context.Context, hosts ...string) error
}
