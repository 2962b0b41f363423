// Package account is the use case of creating a local account: the rules
// the admin CLI (`roost account create`) and the signup portal share. It
// checks everything cheap first, so bad input never costs a key
// generation, then creates the account with its actor keys and links it
// to its login (created when the email is new) through the store.
// Relations (relations.go) is the rest of an account's own rules: notes,
// endorsements, removing followers, suggestions, the directory.
package account

import (
	"context"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

// Sites resolves a host to the tenant domain it belongs to (tenant.Store).
type Sites interface {
	SiteByHost(ctx context.Context, host string) (*tenant.Site, error)
}

// Store creates the account and links it to its login in one transaction
// (federation.AccountStore).
type Store interface {
	CreateAccount(ctx context.Context, a federation.NewAccount) (*federation.Account, error)
}

// Service creates local accounts.
type Service struct {
	Sites Sites
	Store Store
	// Keys makes the actor's key pair; nil is federation.GenerateKeyPair.
	Keys func() (federation.KeyPair, error)
}

// New is an account to create: its handle domain and username, and the
// login that owns it (an existing login's password must match).
type New struct {
	Domain, Username, DisplayName string
	Email, Password               string
}

// Create validates n and creates the account on the handle domain of a
// verified tenant domain.
func (s *Service) Create(ctx context.Context, n New) (*federation.Account, error) {
	site, err := s.site(ctx, n.Domain)
	if err != nil {
		return nil, err
	}
	if !federation.ValidUsername(n.Username) {
		return nil, errs.E(errs.Invalid, "username must be 1 to 30 letters, digits or underscores")
	}
	email, err := tenant.NormalizeEmail(n.Email)
	if err != nil {
		return nil, err
	}
	hash, err := tenant.HashPassword(n.Password)
	if err != nil {
		return nil, err
	}
	keys, err := s.keys()
	if err != nil {
		return nil, err
	}
	return s.Store.CreateAccount(ctx, federation.NewAccount{
		TenantID: site.TenantID, Domain: site.Domain, Username: n.Username, DisplayName: n.DisplayName,
		Email: email, Password: n.Password, PasswordHash: hash, Keys: keys,
	})
}

// site finds the tenant whose handle domain is domain; accounts never
// live on a service domain.
func (s *Service) site(ctx context.Context, domain string) (*tenant.Site, error) {
	host, err := tenant.NormalizeHost(domain)
	if err != nil {
		return nil, errs.E(errs.Invalid, "domain %q: %s", domain, errs.MessageOf(err))
	}
	site, err := s.Sites.SiteByHost(ctx, host)
	if err != nil && errs.CodeOf(err) != errs.NotFound {
		return nil, err // the database away is not "no such domain"
	}
	if err != nil {
		return nil, errs.E(errs.NotFound, "no verified tenant domain %s", host)
	}
	if site.Domain != host {
		return nil, errs.E(errs.Invalid, "%s is a service domain; accounts belong to the handle domain %s", host, site.Domain)
	}
	return site, nil
}

func (s *Service) keys() (federation.KeyPair, error) {
	if s.Keys != nil {
		return s.Keys()
	}
	return federation.GenerateKeyPair()
}
