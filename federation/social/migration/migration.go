// Package migration is the use case of an account's aliases and its move
// to another account: the names it may be known by, and moving once. The
// ActivityPub side (resolving the target, checking it lists this account,
// the Move activity) is federation/outbox's; this package decides when a
// request may go there and what the account looks like afterwards.
package migration

import (
	"context"
	"slices"
	"strings"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// Mover resolves aliases and sends moves (outbox.Service).
type Mover interface {
	AddAlias(ctx context.Context, local *federation.Account, acct string) (string, error)
	RemoveAlias(ctx context.Context, local *federation.Account, acct string) ([]string, error)
	Move(ctx context.Context, local *federation.Account, acct string) (string, error)
}

// Service is the aliases and moves use case.
type Service struct {
	Mover Mover
}

// target checks a handle or actor URI was given.
func target(acct string) (string, error) {
	acct = strings.TrimSpace(acct)
	if acct == "" {
		return "", errs.E(errs.Invalid, "acct is required (user@domain or an actor URI)")
	}
	return acct, nil
}

// AddAlias lets the account acct names move to me; it returns me with
// the alias added.
func (s *Service) AddAlias(ctx context.Context, me *federation.Account, acct string) (*federation.Account, error) {
	acct, err := target(acct)
	if err != nil {
		return nil, err
	}
	uri, err := s.Mover.AddAlias(ctx, me, acct)
	if err != nil {
		return nil, err
	}
	out := *me
	if !slices.Contains(me.AlsoKnownAs, uri) {
		out.AlsoKnownAs = append(slices.Clone(me.AlsoKnownAs), uri)
	}
	return &out, nil
}

// RemoveAlias takes an alias (handle or actor URI) off me.
func (s *Service) RemoveAlias(ctx context.Context, me *federation.Account, acct string) (*federation.Account, error) {
	acct, err := target(acct)
	if err != nil {
		return nil, err
	}
	aliases, err := s.Mover.RemoveAlias(ctx, me, acct)
	if err != nil {
		return nil, err
	}
	out := *me
	out.AlsoKnownAs = aliases
	return &out, nil
}

// Move moves me to the account acct names, which must list me as an
// alias; an account moves once.
func (s *Service) Move(ctx context.Context, me *federation.Account, acct string) (*federation.Account, error) {
	if me.MovedTo != "" {
		return nil, errs.E(errs.Invalid, "this account has already moved to %s", me.MovedTo)
	}
	acct, err := target(acct)
	if err != nil {
		return nil, err
	}
	uri, err := s.Mover.Move(ctx, me, acct)
	if err != nil {
		return nil, err
	}
	out := *me
	out.MovedTo = uri
	return &out, nil
}
