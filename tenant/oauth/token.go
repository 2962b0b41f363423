package oauth

import (
	"context"
	"time"
)

// Token is a verified access token: who it acts for, on which tenant,
// with what scopes.
type Token struct {
	ID       int64
	TenantID int64
	AppID    int64
	// AccountID is the account the token acts as; zero for an app-only
	// (client_credentials) token.
	AccountID  int64
	Scopes     Scopes
	AppName    string
	AppWebsite string
	CreatedAt  time.Time
}

// Authenticator resolves a bearer token presented on a tenant's domain.
// A token issued on another tenant is errs.Unauthorized, exactly as an
// unknown or revoked one.
type Authenticator interface {
	Authenticate(ctx context.Context, tenantID int64, bearer string) (*Token, error)
}
