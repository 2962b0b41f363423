package tenant

import (
	"context"
	"log/slog"
	"strings"
	"unicode/utf8"

	"github.com/roost-social/roost/internal/errs"
)

// Service applies the rules around tenants and domains on top of a Store
// and tells every node when host answers change.
type Service struct {
	Store  Store
	Notify Notifier
	Log    *slog.Logger
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
	s.hostsChanged(ctx, nd.Domain, nd.ServiceDomain)
	return t, nil
}

// hostsChanged publishes an invalidation. A failure is logged, not
// returned: the change is committed and caches expire on their own.
func (s *Service) hostsChanged(ctx context.Context, hosts ...string) {
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
