package soak

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/oauth"
)

// Site is one database's use cases, wired by cmd/roost: the soak seeds
// the instance under test and each remote node's database through them,
// the way an operator creates tenants, and issues tokens the way the
// authorization code flow does.
type Site struct {
	// DB is the database (migrated).
	DB *pgxpool.Pool
	// Tenants creates tenants (tenant.Service).
	Tenants interface {
		CreateTenant(ctx context.Context, name, domain, serviceDomain string) (*tenant.Tenant, error)
	}
	// OAuth issues access tokens.
	OAuth *oauth.Service
	// Close releases the connections.
	Close func()
}

// Opener migrates the database at databaseURL and opens a Site on it
// (and on redisURL, for host-cache invalidation).
type Opener func(ctx context.Context, databaseURL, redisURL string) (*Site, error)

// account is a seeded local account of some node, and its client token.
type account struct {
	domain, user string
	id           int64
	tenantID     int64
	token        string
}

func (a *account) acct() string { return a.user + "@" + a.domain }

func (a *account) uri() string { return "http://" + a.domain + "/users/" + a.user }

// seed creates a tenant per domain with users accounts each (named u0,
// u1, ...), all sharing kp (key pairs are slow to make and nothing here
// depends on their being distinct), and a token per account.
func seed(ctx context.Context, s *Site, domains []string, users int, kp federation.KeyPair) ([]*account, error) {
	var out []*account
	for i, d := range domains {
		t, err := s.Tenants.CreateTenant(ctx, "Soak "+strconv.Itoa(i), d, "")
		if err != nil {
			return nil, fmt.Errorf("tenant %s: %w", d, err)
		}
		const oob = "urn:ietf:wg:oauth:2.0:oob"
		scopes := "read write follow"
		app, secret, err := s.OAuth.RegisterApp(ctx, t.ID, "soak", "", oob, scopes)
		if err != nil {
			return nil, err
		}
		for u := range users {
			a := &account{domain: d, user: "u" + strconv.Itoa(u), tenantID: t.ID}
			if err := s.DB.QueryRow(ctx, `
				insert into accounts (tenant_id, domain, username, display_name, public_key_pem, private_key_pem)
				values ($1, $2, $3, $4, $5, $6) returning id`,
				t.ID, d, a.user, "Soak "+a.user+" of "+d, kp.PublicPEM, kp.PrivatePEM).Scan(&a.id); err != nil {
				return nil, fmt.Errorf("account %s: %w", a.acct(), err)
			}
			code, err := s.OAuth.Authorize(ctx, app, a.id, oob, scopes, "", "")
			if err != nil {
				return nil, err
			}
			g, err := s.OAuth.Exchange(ctx, t.ID, oauth.TokenRequest{GrantType: "authorization_code", ClientID: app.ClientID,
				ClientSecret: secret, Code: code, RedirectURI: oob})
			if err != nil {
				return nil, err
			}
			a.token = g.AccessToken
			out = append(out, a)
		}
	}
	return out, nil
}
