package account

import (
	"context"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

// Finder loads an account by id (federation.Locals' AccountByID).
type Finder interface {
	AccountByID(ctx context.Context, id int64) (*federation.Account, error)
}

// Follows reads a follow between two accounts (federation.FollowStore).
type Follows interface {
	FollowBetween(ctx context.Context, followerID, followeeID int64) (*federation.Follow, error)
}

// FollowAnswerer removes a follower and tells a remote one's server with
// Reject{Follow} through the outbox (outbox.Service).
type FollowAnswerer interface {
	AnswerFollow(ctx context.Context, local, follower *federation.Account, accept bool) error
}

// Relations is the use case of what a local account keeps about other
// accounts: private notes, endorsements, dismissed suggestions, who may
// follow it; and of listing accounts (blocks, mutes, the directory,
// suggestions). Every action is me's, on me's own rows: naming an
// account another tenant's person noted, endorsed or is followed by
// changes nothing of theirs.
type Relations struct {
	Store    federation.RelationStore
	Accounts Finder
	Follows  Follows
	Answer   FollowAnswerer
}

// Limits of the listing routes, as on Mastodon.
const (
	MaxAccountsByID  = 40
	MaxSuggestions   = 80
	MaxDirectoryPage = 80
	// MaxDirectoryOffset keeps a directory page's cost bounded.
	MaxDirectoryOffset = 10000
	// MaxAttributionDomains is how many domains may credit an account.
	MaxAttributionDomains = 10
)

// target loads the account an action names: errs.NotFound when none.
func (r *Relations) target(ctx context.Context, id int64) (*federation.Account, error) {
	a, err := r.Accounts.AccountByID(ctx, id)
	if errs.CodeOf(err) == errs.NotFound {
		return nil, errs.E(errs.NotFound, "Record not found")
	}
	return a, err
}

// Note sets me's private note on the account; blank removes it.
func (r *Relations) Note(ctx context.Context, me *federation.Account, targetID int64, comment string) error {
	if _, err := r.target(ctx, targetID); err != nil {
		return err
	}
	if utf8.RuneCountInString(comment) > federation.MaxAccountNote {
		return errs.E(errs.Invalid, "Validation failed: Comment is too long (maximum is %d characters)", federation.MaxAccountNote)
	}
	if strings.TrimSpace(comment) == "" {
		comment = ""
	}
	return r.Store.SetAccountNote(ctx, me.ID, targetID, comment)
}

// RemoveFromFollowers ends the account's accepted follow of me, and tells
// its server when it is remote, as Mastodon does. A follow request, or no
// follow at all, is left as it is.
func (r *Relations) RemoveFromFollowers(ctx context.Context, me *federation.Account, targetID int64) error {
	a, err := r.target(ctx, targetID)
	if err != nil {
		return err
	}
	f, err := r.Follows.FollowBetween(ctx, a.ID, me.ID)
	if errs.CodeOf(err) == errs.NotFound {
		return nil
	} else if err != nil {
		return err
	}
	if f.State != federation.FollowAccepted {
		return nil
	}
	return r.Answer.AnswerFollow(ctx, me, a, false)
}

// Endorse features (or, off, stops featuring) the account on me's profile.
func (r *Relations) Endorse(ctx context.Context, me *federation.Account, targetID int64, on bool) error {
	if _, err := r.target(ctx, targetID); err != nil {
		return err
	}
	if !on {
		return r.Store.Unendorse(ctx, me.ID, targetID)
	}
	if targetID == me.ID {
		return errs.E(errs.Invalid, "Validation failed: You cannot endorse yourself")
	}
	return r.Store.Endorse(ctx, me.ID, targetID)
}

// AccountEndorsements pages the accounts a local account features (none
// for a remote one: their collection is not fetched).
func (r *Relations) AccountEndorsements(ctx context.Context, accountID int64, p federation.Page) ([]int64, []int64, error) {
	a, err := r.target(ctx, accountID)
	if err != nil {
		return nil, nil, err
	}
	if !a.Local() {
		return nil, nil, nil
	}
	return r.Store.Endorsements(ctx, a.ID, p)
}

// Suggestions lists up to limit accounts for me to follow (at most
// MaxSuggestions; 0 is the default of 40).
func (r *Relations) Suggestions(ctx context.Context, me *federation.Account, limit int) ([]federation.Suggestion, error) {
	if limit <= 0 {
		limit = 40
	}
	return r.Store.Suggestions(ctx, me.ID, me.TenantID, min(limit, MaxSuggestions))
}

// Dismiss stops the account being suggested to me.
func (r *Relations) Dismiss(ctx context.Context, me *federation.Account, targetID int64) error {
	if _, err := r.target(ctx, targetID); err != nil {
		return err
	}
	return r.Store.DismissSuggestion(ctx, me.ID, targetID)
}

// Directory pages the tenant's profile directory; an order other than
// "new" is "active", as on Mastodon.
func (r *Relations) Directory(ctx context.Context, q federation.DirectoryQuery) ([]int64, error) {
	if q.Order != "new" {
		q.Order = "active"
	}
	if q.Limit <= 0 {
		q.Limit = 40
	}
	q.Limit = min(q.Limit, MaxDirectoryPage)
	q.Offset = min(max(q.Offset, 0), MaxDirectoryOffset)
	return r.Store.Directory(ctx, q)
}

// AccountsByID keeps the ids (as sent: id[]) naming accounts the tenant
// may show, in order, without repeats; unknown and suspended ones are
// left out. More than MaxAccountsByID ids is refused.
func (r *Relations) AccountsByID(ctx context.Context, tenantID int64, raw []string) ([]int64, error) {
	seen := map[int64]bool{}
	var ids []int64
	for _, s := range raw {
		id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || id <= 0 || seen[id] {
			continue
		}
		seen[id] = true
		ids = append(ids, id)
	}
	if len(ids) > MaxAccountsByID {
		return nil, errs.E(errs.Invalid, "Too many accounts requested (at most %d)", MaxAccountsByID)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	return r.Store.ListedAccounts(ctx, tenantID, ids)
}

// Quote policies of an account's posts, as Mastodon 4.5 names them.
var quotePolicies = []string{"public", "followers", "nobody"}

// CheckSettings checks a change of attribution domains and default quote
// policy (nil: left as it is) and returns the domains normalised, so a
// caller can refuse a bad value before it saves anything else.
func (r *Relations) CheckSettings(domains *[]string, quotePolicy *string) (*[]string, error) {
	if quotePolicy != nil && !contains(quotePolicies, *quotePolicy) {
		return nil, errs.E(errs.Invalid, "Validation failed: quote_policy must be public, followers or nobody")
	}
	if domains == nil {
		return nil, nil
	}
	clean, err := attributionDomains(*domains)
	if err != nil {
		return nil, err
	}
	return &clean, nil
}

// SetSettings checks and saves me's attribution domains and default quote
// policy; nil leaves one as it is.
func (r *Relations) SetSettings(ctx context.Context, me *federation.Account, domains *[]string, quotePolicy *string) error {
	if domains == nil && quotePolicy == nil {
		return nil
	}
	clean, err := r.CheckSettings(domains, quotePolicy)
	if err != nil {
		return err
	}
	return r.Store.SetAccountSettings(ctx, me.ID, clean, quotePolicy)
}

// attributionDomains normalises a list of domains (blank ones dropped,
// repeats removed) and checks its length.
func attributionDomains(in []string) ([]string, error) {
	out := []string{}
	for _, d := range in {
		if strings.TrimSpace(d) == "" {
			continue
		}
		n, err := tenant.NormalizeDomain(strings.TrimSpace(d))
		if err != nil {
			return nil, errs.E(errs.Invalid, "Validation failed: Attribution domains %q is not a valid domain", d)
		}
		if !contains(out, n) {
			out = append(out, n)
		}
	}
	if len(out) > MaxAttributionDomains {
		return nil, errs.E(errs.Invalid, "Validation failed: Attribution domains can have at most %d entries", MaxAttributionDomains)
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
