package portability

import (
	"context"
	"fmt"
	"strings"

	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

// MoveStore is what moving accounts reads and writes (federation/postgres).
type MoveStore interface {
	AccountByUsername(ctx context.Context, tenantID int64, domain, username string) (*federation.Account, error)
	// LocalAccountsOn lists the accounts living on a tenant's domain that
	// have not moved away.
	LocalAccountsOn(ctx context.Context, tenantID int64, domain string) ([]*federation.Account, error)
	// RehomeAccount moves a local account in one transaction and leaves a
	// ghost in its place; it returns both.
	RehomeAccount(ctx context.Context, r federation.Rehome) (ghost, moved *federation.Account, err error)
	// RemoteFollowing lists a local account's follows of remote accounts.
	RemoteFollowing(ctx context.Context, accountID int64) ([]federation.RemoteFollow, error)
	// SetFollowURI gives a follow the id of the Follow sent again.
	SetFollowURI(ctx context.Context, followID int64, uri string) error
	MarkMoveAnnounced(ctx context.Context, ghostID int64) error
	// UnannouncedMoves lists the ghosts whose Move was never queued.
	UnannouncedMoves(ctx context.Context, tenantID int64) ([]*federation.Account, error)
}

// Sites finds the site (tenant and domain) answering a host.
type Sites interface {
	SiteByHost(ctx context.Context, host string) (*tenant.Site, error)
}

// Auditor records an action in the audit log, which outlives tenants.
type Auditor interface {
	Audit(ctx context.Context, by, action, target string, tenantID int64, detail string) error
}

// MoveSender queues the activities of a move (outbox.Service).
type MoveSender interface {
	// Move sends the Move of local to target to its followers' servers.
	Move(ctx context.Context, local *federation.Account, target string) (string, error)
	// Refollow sends a Follow with newID from moved and an Undo of the old
	// Follow from ghost, to the followed account's inbox.
	Refollow(ctx context.Context, ghost, moved *federation.Account, f federation.RemoteFollow, newID string) error
}

// Mover moves accounts between the domains (and tenants) of this
// instance: the account keeps its row and everything hanging off it, a
// ghost keeps its old identity, and remote servers are told by a Move
// (followers) and a Follow/Undo pair (those it follows).
type Mover struct {
	Store  MoveStore
	Sites  Sites
	Audit  Auditor
	Sender MoveSender
	// Reserved refuses the instance's own names (nil: none reserved).
	Reserved func(names ...string) error
	// Scheme and Port build actor URIs (federation.NewLinks).
	Scheme string
	Port   int
}

// Audit actions of moves.
const (
	ActionMoveDomain  = "tenant.move_domain"
	ActionAccountMove = "account.move"
)

// AccountMove is a parsed `roost account move`: from and to handles.
type AccountMove struct {
	From, To             string // as given, for the audit log
	FromUser, FromDomain string
	ToUser, ToDomain     string
}

// ParseAccountMove checks the handles of an account move before anything
// is looked up.
func ParseAccountMove(from, to string) (AccountMove, error) {
	fu, fd, ok1 := strings.Cut(strings.TrimPrefix(from, "@"), "@")
	tu, td, ok2 := strings.Cut(strings.TrimPrefix(to, "@"), "@")
	if !ok1 || !ok2 {
		return AccountMove{}, errs.E(errs.Invalid, "usage: roost account move --from user@domain --to user@domain")
	}
	if !federation.ValidUsername(tu) {
		return AccountMove{}, errs.E(errs.Invalid, "%q is not a valid username (1-30 letters, digits or _)", tu)
	}
	return AccountMove{From: from, To: to, FromUser: fu, FromDomain: fd, ToUser: tu, ToDomain: td}, nil
}

// MoveAccount moves one account to another tenant (or domain) of this
// instance and describes the move; the line is returned even when only
// the audit entry failed.
func (m *Mover) MoveAccount(ctx context.Context, mv AccountMove, by string) (string, error) {
	fromSite, err := m.site(ctx, mv.FromDomain)
	if err != nil {
		return "", err
	}
	toSite, err := m.site(ctx, mv.ToDomain)
	if err != nil {
		return "", err
	}
	if err := m.reserved(toSite.Domain); err != nil {
		return "", err
	}
	acct, err := m.Store.AccountByUsername(ctx, fromSite.TenantID, fromSite.Domain, mv.FromUser)
	if err != nil {
		return "", err
	}
	line, err := m.rehome(ctx, acct, fromSite, toSite, mv.ToUser, "account")
	if err != nil {
		return "", err
	}
	return line, m.Audit.Audit(ctx, by, ActionAccountMove, mv.From+" -> "+mv.To, fromSite.TenantID, "")
}

// MoveDomain moves every account living on old to the tenant's domain
// to, then (again) announces moves left unannounced by an earlier run
// that died, so running it twice finishes the job. It describes each
// move, also those done before an error.
func (m *Mover) MoveDomain(ctx context.Context, tenantID int64, old, to, by string) ([]string, error) {
	fromSite, toSite, err := m.domainSites(ctx, tenantID, old, to)
	if err != nil {
		return nil, err
	}
	accts, err := m.Store.LocalAccountsOn(ctx, tenantID, fromSite.Domain)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, a := range accts {
		line, err := m.rehome(ctx, a, fromSite, toSite, a.Username, "domain")
		if err != nil {
			return out, fmt.Errorf("@%s@%s: %w", a.Username, a.Domain, err)
		}
		out = append(out, line)
	}
	if err := m.announcePending(ctx, tenantID); err != nil {
		return out, err
	}
	return out, m.Audit.Audit(ctx, by, ActionMoveDomain, fromSite.Domain+" -> "+toSite.Domain, tenantID,
		fmt.Sprintf("%d accounts moved", len(out)))
}

// domainSites checks a change of domain: both verified domains of the
// tenant, different, and the target not one of the instance's names.
func (m *Mover) domainSites(ctx context.Context, tenantID int64, old, to string) (from, dest *tenant.Site, err error) {
	if from, err = m.site(ctx, old); err != nil {
		return nil, nil, err
	}
	dest, err = m.site(ctx, to)
	if errs.Is(err, errs.NotFound) {
		return nil, nil, errs.E(errs.Invalid, "%s is not a verified domain of tenant %d: add it first (roost tenant add-domain, or verify it on the portal)", to, tenantID)
	}
	if err != nil {
		return nil, nil, err
	}
	if from.TenantID != tenantID || dest.TenantID != tenantID {
		return nil, nil, errs.E(errs.Invalid, "%s and %s must both be verified domains of tenant %d", from.Domain, dest.Domain, tenantID)
	}
	if from.Domain == dest.Domain {
		return nil, nil, errs.E(errs.Invalid, "the account already lives on %s", dest.Domain)
	}
	// A name claimed before it was reserved.
	return from, dest, m.reserved(dest.Domain)
}

func (m *Mover) reserved(names ...string) error {
	if m.Reserved == nil {
		return nil
	}
	return m.Reserved(names...)
}

func (m *Mover) site(ctx context.Context, domain string) (*tenant.Site, error) {
	host, err := tenant.NormalizeHost(domain)
	if err != nil {
		return nil, err
	}
	return m.Sites.SiteByHost(ctx, host)
}

// rehome moves one account (MoveStore.RehomeAccount), then sends the
// Move from the identity left behind to every server following it, and
// carries its own follows of remote accounts to the new actor.
func (m *Mover) rehome(ctx context.Context, a *federation.Account, fromSite, toSite *tenant.Site, username, kind string) (string, error) {
	fromURI := federation.NewLinks(m.Scheme, fromSite.ActorHost(), m.Port).Actor(a.Username)
	toURI := federation.NewLinks(m.Scheme, toSite.ActorHost(), m.Port).Actor(username)
	ghost, moved, err := m.Store.RehomeAccount(ctx, federation.Rehome{
		AccountID: a.ID, ToTenantID: toSite.TenantID, ToDomain: toSite.Domain, ToUsername: username,
		FromURI: fromURI, ToURI: toURI, Kind: kind,
	})
	if err != nil {
		return "", err
	}
	if err := m.announce(ctx, ghost); err != nil {
		return "", err
	}
	if err := m.refollow(ctx, ghost, moved, toURI); err != nil {
		return "", err
	}
	return fmt.Sprintf("@%s@%s -> @%s@%s", ghost.Username, ghost.Domain, moved.Username, moved.Domain), nil
}

// refollow carries the moved account's follows of remote accounts to its
// new actor. Each row takes the new Follow's id before it is sent (the
// Accept names it) and keeps its state.
func (m *Mover) refollow(ctx context.Context, ghost, moved *federation.Account, toURI string) error {
	follows, err := m.Store.RemoteFollowing(ctx, moved.ID)
	if err != nil {
		return err
	}
	for _, f := range follows {
		id := ap.NewFollowID(toURI)
		if err := m.Store.SetFollowURI(ctx, f.ID, id); err != nil {
			return err
		}
		if err := m.Sender.Refollow(ctx, ghost, moved, f, id); err != nil {
			return fmt.Errorf("follow %s again: %w", f.TargetURI, err)
		}
	}
	return nil
}

// announce queues the Move of a ghost to its followers' servers.
func (m *Mover) announce(ctx context.Context, ghost *federation.Account) error {
	if _, err := m.Sender.Move(ctx, ghost, ghost.MovedTo); err != nil {
		return fmt.Errorf("announce the move of @%s@%s: %w", ghost.Username, ghost.Domain, err)
	}
	return m.Store.MarkMoveAnnounced(ctx, ghost.ID)
}

// announcePending announces the moves of a tenant an earlier run left
// unannounced.
func (m *Mover) announcePending(ctx context.Context, tenantID int64) error {
	ghosts, err := m.Store.UnannouncedMoves(ctx, tenantID)
	if err != nil {
		return err
	}
	for _, g := range ghosts {
		if err := m.announce(ctx, g); err != nil {
			return err
		}
	}
	return nil
}
