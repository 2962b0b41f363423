package oauth

import (
	"context"
	"strconv"

	"github.com/roost-social/roost/internal/errs"
)

// The web app (api/webapp) is a client of the tenant's own client API, like
// any Mastodon app: a browser session holds an access token of the tenant's
// built-in app, so the web app acts with exactly the rights a Mastodon app
// would be given, through the same routes, and signing out revokes it.

// WebAppName is the name the built-in web app has in a person's authorised
// apps.
const WebAppName = "Roost web"

// WebScopes are the scopes of a web session: everything an app may ask for
// but the moderation (admin:) scopes.
var WebScopes = Scopes{"follow", "push", "read", "write"}

// webClientID is the built-in app's client_id on a tenant. Registered apps
// get 43 random characters, so no registration can take it.
func webClientID(tenantID int64) string { return "roost-web-" + strconv.FormatInt(tenantID, 10) }

// WebApp returns the tenant's built-in web app, registering it on first use.
func (s *Service) WebApp(ctx context.Context, tenantID int64) (*App, error) {
	id := webClientID(tenantID)
	app, _, err := s.Store.AppByClientID(ctx, tenantID, id)
	if err == nil || !errs.Is(err, errs.NotFound) {
		return app, err
	}
	// The secret is thrown away: nobody authenticates as this app; its
	// tokens are issued by SignInWeb alone.
	app = &App{TenantID: tenantID, Name: WebAppName, RedirectURIs: []string{OOB}, Scopes: WebScopes, ClientID: id}
	if cerr := s.Store.CreateApp(ctx, app, hash(newSecret())); cerr != nil {
		// A concurrent first sign-in may have registered it.
		if app, _, err = s.Store.AppByClientID(ctx, tenantID, id); err == nil {
			return app, nil
		}
		return nil, cerr
	}
	return app, nil
}

// SignInWeb issues a web session's access token for accountID, whose
// password the caller checked, on tenantID. The token is shown this once.
func (s *Service) SignInWeb(ctx context.Context, tenantID, accountID int64) (*Grant, error) {
	if accountID <= 0 {
		return nil, errs.E(errs.Invalid, "no account")
	}
	app, err := s.WebApp(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	g := &Grant{AccessToken: newSecret()}
	tok, err := s.Store.CreateToken(ctx, &NewToken{TenantID: tenantID, AppID: app.ID, AccountID: accountID,
		TokenHash: hash(g.AccessToken), Scopes: WebScopes})
	if err != nil {
		return nil, err
	}
	return s.grant(g, tok, app), nil
}

// SignOutWeb revokes a web session's token on tenantID; an unknown one
// is not an error.
func (s *Service) SignOutWeb(ctx context.Context, tenantID int64, token string) error {
	if token == "" || len(token) > 200 {
		return nil
	}
	app, err := s.WebApp(ctx, tenantID)
	if err != nil {
		return err
	}
	return s.Store.RevokeToken(ctx, tenantID, app.ID, hash(token))
}
