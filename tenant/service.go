package tenant

import (
	"context"
	"log/slog"
	"strings"
	"unicode/utf8"

	"github.com/roost-social/roost/internal/errs"
)

// Service applies the rules around tenants and domains on top of a Store
// and tells every node when host answers change. Every change to a
// tenant's standing, domains or served settings goes through one of its
// methods, which invalidates the host caches itself: no caller publishes.
type Service struct {
	Store Store
	// Statuses, Approvals, Domains and Settings write the state changes;
	// a nil port makes its method fail with errs.Unavailable.
	Statuses  StatusStore
	Approvals ApprovalStore
	Domains   DomainStore
	Settings  SettingsStore
	Notify    Notifier
	Log       *slog.Logger
}

// StatusStore moves a tenant between standings with its audit entry in
// one transaction, refusing (errs.Invalid) a tenant not in from, and
// returns the tenant's host names.
type StatusStore interface {
	SetTenantStatus(ctx context.Context, by Actor, id int64, from, to, action string) ([]string, error)
}

// ApprovalStore activates a tenant waiting for approval and returns its
// host names; errs.Invalid when it is not pending.
type ApprovalStore interface {
	ApproveTenant(ctx context.Context, id int64) ([]string, error)
}

// DomainStore adds a domain to an existing tenant, with its audit entry.
type DomainStore interface {
	AddDomain(ctx context.Context, tenantID int64, d NewDomain, by Actor) (*Domain, error)
}

// SettingsStore changes a tenant's settings that its Site carries, and
// returns the tenant's host names.
type SettingsStore interface {
	SetAuthorizedFetch(ctx context.Context, tenantID int64, on *bool) ([]string, error)
}

// Invalidator is told when a change committed elsewhere (a domain
// verified, a domain move) alters the answers for some hosts. *Service
// implements it, publishing through its Notifier and logging a failure.
type Invalidator interface {
	HostsChanged(ctx context.Context, hosts ...string)
}

var _ Invalidator = (*Service)(nil)

// unwired is the error of a state change whose store is not wired.
func unwired(what string) error {
	return errs.E(errs.Unavailable, "tenant %s store is not configured", what)
}

// SetStatus moves tenant id from one standing to another (approve,
// suspend, unsuspend, billing's suspension), recorded as action by by,
// then tells every node's host cache.
func (s *Service) SetStatus(ctx context.Context, by Actor, id int64, from, to Status, action string) error {
	if s.Statuses == nil {
		return unwired("status")
	}
	hosts, err := s.Statuses.SetTenantStatus(ctx, by, id, string(from), string(to), action)
	if err != nil {
		return err
	}
	s.HostsChanged(ctx, hosts...)
	return nil
}

// Approve activates a tenant signed up on the portal and waiting for the
// operator's approval, then tells every node's host cache.
func (s *Service) Approve(ctx context.Context, id int64) error {
	if s.Approvals == nil {
		return unwired("approval")
	}
	hosts, err := s.Approvals.ApproveTenant(ctx, id)
	if err != nil {
		return err
	}
	s.HostsChanged(ctx, hosts...)
	return nil
}

// AddDomain adds a domain to tenant tenantID (verified when d.Verified:
// the operator vouches for it), then tells every node's host cache.
func (s *Service) AddDomain(ctx context.Context, by Actor, tenantID int64, d NewDomain) (*Domain, error) {
	if s.Domains == nil {
		return nil, unwired("domain")
	}
	dom, err := s.Domains.AddDomain(ctx, tenantID, d, by)
	if err != nil {
		return nil, err
	}
	s.HostsChanged(ctx, d.Domain, d.ServiceDomain)
	return dom, nil
}

// SetAuthorizedFetch sets a tenant's own authorized-fetch setting (nil:
// follow the instance's), then tells every node's host cache, since the
// setting travels in the cached Site.
func (s *Service) SetAuthorizedFetch(ctx context.Context, tenantID int64, on *bool) error {
	if s.Settings == nil {
		return unwired("settings")
	}
	hosts, err := s.Settings.SetAuthorizedFetch(ctx, tenantID, on)
	if err != nil {
		return err
	}
	s.HostsChanged(ctx, hosts...)
	return nil
}

// CreateTenant validates and creates a tenant with one verified domain
// (an operator creating it vouches for the domain).
func (s *Service) CreateTenant(ctx context.Context, name, domain, serviceDomain string) (*Tenant, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 200 {
		return nil, errs.E(errs.Invalid, "tenant name must be 1 to 200 characters")
	}
	nd, err := normalizeDomains(domain, serviceDomain)
	if err != nil {
		return nil, err
	}
	nd.Verified = true
	t, err := s.Store.CreateTenant(ctx, name, nd)
	if err != nil {
		return nil, err
	}
	s.HostsChanged(ctx, nd.Domain, nd.ServiceDomain)
	return t, nil
}

// HostsChanged tells every node that the answers for hosts changed (empty
// names are skipped). A failure is logged, not returned: the change is
// committed and caches expire on their own (ROOST_DOMAIN_CACHE_TTL).
func (s *Service) HostsChanged(ctx context.Context, hosts ...string) {
	var hs []string
	for _, h := range hosts {
		if h != "" {
			hs = append(hs, h)
		}
	}
	if s.Notify == nil || len(hs) == 0 {
		return
	}
	if err := s.Notify.HostsChanged(ctx, hs...); err != nil && s.Log != nil {
		s.Log.WarnContext(ctx, "publishing host invalidation failed; caches will expire", "hosts", hs, "err", err)
	}
}

func normalizeDomains(domain, serviceDomain string) (NewDomain, error) {
	d, err := NormalizeDomain(strings.TrimSpace(domain))
	if err != nil {
		return NewDomain{}, errs.E(errs.Invalid, "domain %q: %s", domain, errs.MessageOf(err))
	}
	nd := NewDomain{Domain: d}
	if strings.TrimSpace(serviceDomain) != "" {
		sd, err := NormalizeDomain(strings.TrimSpace(serviceDomain))
		if err != nil {
			return NewDomain{}, errs.E(errs.Invalid, "service domain %q: %s", serviceDomain, errs.MessageOf(err))
		}
		if sd == d {
			return NewDomain{}, errs.E(errs.Invalid, "service domain must differ from the handle domain")
		}
		nd.ServiceDomain = sd
	}
	return nd, nil
}
