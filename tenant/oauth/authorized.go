package oauth

import (
	"context"
	"time"

	"github.com/roost-social/roost/internal/errs"
)

// AuthorizedApp is an app holding live tokens for one account: what the
// settings page "Authorised apps" lists (Mastodon's
// /oauth/authorized_applications).
type AuthorizedApp struct {
	App
	// Granted are every scope the account's live tokens of the app grant.
	Granted Scopes
	// Tokens is how many live tokens the app holds for the account.
	Tokens int
	// AuthorizedAt is when the oldest live token was issued.
	AuthorizedAt time.Time
	// LastUsedAt is the latest use of any of them; zero: never used.
	LastUsedAt time.Time
}

// AuthorizationStore lists and revokes an account's tokens by app.
// Every method is scoped by tenant and account: another tenant's app or
// another account's tokens are never listed or touched.
type AuthorizationStore interface {
	// AuthorizedApps lists the tenant's apps holding live tokens of
	// accountID, the most recently authorized first.
	AuthorizedApps(ctx context.Context, tenantID, accountID int64) ([]AuthorizedApp, error)
	// RevokeAppTokens revokes every live token of accountID issued to the
	// tenant's app appID, returning how many it revoked.
	RevokeAppTokens(ctx context.Context, tenantID, accountID, appID int64) (int64, error)
}

// Authorizations is the use case of a person reviewing the apps they let
// act for their account, and taking that back.
type Authorizations struct {
	Store AuthorizationStore
}

// Apps lists the apps acting for accountID on tenantID.
func (a *Authorizations) Apps(ctx context.Context, tenantID, accountID int64) ([]AuthorizedApp, error) {
	return a.Store.AuthorizedApps(ctx, tenantID, accountID)
}

// Revoke signs app appID out of accountID: every live token it holds for
// the account stops working at once (refresh tokens too). An app holding
// no live token of the account is errs.NotFound, so another tenant's or
// another account's app is indistinguishable from a missing one.
func (a *Authorizations) Revoke(ctx context.Context, tenantID, accountID, appID int64) error {
	n, err := a.Store.RevokeAppTokens(ctx, tenantID, accountID, appID)
	if err != nil {
		return err
	}
	if n == 0 {
		return errs.E(errs.NotFound, "no such authorized application")
	}
	return nil
}
