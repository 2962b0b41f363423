package inbox

import (
	"context"
	"strings"

	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

// SiteLocals implements federation.Locals with host routing's resolver: an actor URI
// is ours when its host is one of a tenant's names and its path is
// /users/<name> of an account on that tenant's handle domain.
type SiteLocals struct {
	Sites    tenant.Resolver
	Accounts federation.AccountStore
	Scheme   string
	Port     int
}

var _ federation.Locals = (*SiteLocals)(nil)

// ByURI finds a tenant's local account by actor URI.
func (l *SiteLocals) ByURI(ctx context.Context, tenantID int64, uri string) (*federation.Account, error) {
	host := ap.HostOf(uri)
	if host == "" {
		return nil, errs.E(errs.NotFound, "not a local actor")
	}
	name, err := tenant.NormalizeHost(host)
	if err != nil {
		return nil, errs.E(errs.NotFound, "not a local actor")
	}
	site, err := l.Sites.Resolve(ctx, name)
	if err != nil && errs.CodeOf(err) != errs.NotFound {
		return nil, err // the database away is not "not ours" (soak finding 6)
	}
	if err != nil || site.TenantID != tenantID {
		return nil, errs.E(errs.NotFound, "not an actor of this tenant")
	}
	links := federation.NewLinks(l.Scheme, site.ActorHost(), l.Port)
	username, ok := strings.CutPrefix(uri, links.Base+"/users/")
	if !ok || !federation.ValidUsername(username) {
		return nil, errs.E(errs.NotFound, "not a local actor")
	}
	return l.Accounts.AccountByUsername(ctx, tenantID, site.Domain, username)
}

// Links returns the URL builder of a local account's actor host.
func (l *SiteLocals) Links(ctx context.Context, a *federation.Account) (federation.Links, error) {
	site, err := l.Sites.Resolve(ctx, a.Domain)
	if err != nil {
		return federation.Links{}, err
	}
	return federation.NewLinks(l.Scheme, site.ActorHost(), l.Port), nil
}

// ByHandle finds user@host among this instance's accounts, on any tenant.
func (l *SiteLocals) ByHandle(ctx context.Context, user, host string) (*federation.Account, error) {
	name, err := tenant.NormalizeHost(host)
	if err != nil || !federation.ValidUsername(user) {
		return nil, errs.E(errs.NotFound, "not a local account")
	}
	site, err := l.Sites.Resolve(ctx, name)
	if errs.CodeOf(err) == errs.NotFound {
		return nil, errs.E(errs.NotFound, "not a local account")
	}
	if err != nil {
		return nil, err // the database away is not "not ours" (soak finding 6)
	}
	return l.Accounts.AccountByUsername(ctx, site.TenantID, site.Domain, user)
}
