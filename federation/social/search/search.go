// Package search is the use case of search: what a query may be, who may
// look things up on the network, how a handle or a URL names one account
// or post, and which hashtags a tenant offers. The Mastodon API calls it;
// what it finds is ids, which the caller hydrates through the views
// (where visibility is decided).
package search

import (
	"context"
	"log/slog"
	"regexp"
	"slices"
	"strings"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

// MaxQuery bounds a query's length, in bytes.
const MaxQuery = 500

// MaxOffset bounds how deep results are paged.
const MaxOffset = 10000

// tagNameRE is a valid hashtag name, as posts make them.
var tagNameRE = regexp.MustCompile(`^[\p{L}\p{N}_]{1,100}$`)

// handleRE is user@host (an acct), user alone, or with a leading @.
var handleRE = regexp.MustCompile(`^@?([A-Za-z0-9_.-]{1,200})(?:@([A-Za-z0-9.-]{1,253}(?::[0-9]{1,5})?))?$`)

// ValidTag reports whether name (lower case, no #) is a hashtag name.
func ValidTag(name string) bool { return tagNameRE.MatchString(name) }

// Network looks accounts and posts up on other servers (outbox.Service).
type Network interface {
	// Known finds a remote account by handle among those already fetched.
	Known(ctx context.Context, handle string) (*federation.Account, error)
	// Resolve finds a remote account by handle through WebFinger.
	Resolve(ctx context.Context, handle string) (*federation.Account, error)
	// ResolveURL fetches the account or post a remote URL names.
	ResolveURL(ctx context.Context, raw string) (*federation.Account, *federation.Status, error)
}

// Store is what search reads here.
type Store interface {
	federation.SearchStore
	AccountByUsername(ctx context.Context, tenantID int64, domain, username string) (*federation.Account, error)
	RemoteActorByURI(ctx context.Context, uri string) (*federation.Account, error)
	StatusByURI(ctx context.Context, uri string) (*federation.Status, error)
	StatusByID(ctx context.Context, id int64) (*federation.Status, error)
}

// Collections reads a remote account's counts and recent posts from its
// collections when due (outbox.Service.RefreshCollections).
type Collections interface {
	RefreshCollections(ctx context.Context, a *federation.Account) error
}

// Service is the search use case.
type Service struct {
	Store   Store
	Network Network
	Sites   tenant.Resolver
	// Collections, when set, refreshes an account resolved by handle
	// (nil: counts come from deliveries only).
	Collections Collections
}

// Query is one search, on site, by ViewerID (0: anonymous).
type Query struct {
	Text      string
	Type      string // "", accounts, hashtags or statuses
	Resolve   bool   // look up on the network (signed-in only)
	Following bool   // accounts the viewer follows only (signed-in only)
	Limit     int
	Offset    int
	AccountID int64 // statuses: only this author's
	MaxID     int64
	MinID     int64
	ViewerID  int64
	Site      *tenant.Site
	// Log is the request's logger: a failed lookup on the network is
	// no result for the client, so the reason is logged for operators.
	Log *slog.Logger
}

// Results are what a search found, in order: account and status ids (to
// hydrate as the viewer may see them) and hashtag names.
type Results struct {
	Accounts []int64
	Statuses []int64
	Hashtags []string
}

// check validates q and drops what an anonymous search may not do.
func check(q *Query) error {
	q.Text = strings.TrimSpace(q.Text)
	if q.Text == "" {
		return errs.E(errs.Invalid, "q is required")
	}
	if len(q.Text) > MaxQuery {
		return errs.E(errs.Invalid, "q is too long")
	}
	q.Offset = min(max(q.Offset, 0), MaxOffset)
	if q.ViewerID == 0 {
		q.Resolve, q.Following = false, false // lookups on the network need a signed-in user
	}
	if q.Log == nil {
		q.Log = slog.Default()
	}
	return nil
}

// Search finds accounts, statuses and hashtags. A URL names one thing: an
// account or a post, here or elsewhere.
func (s *Service) Search(ctx context.Context, q Query) (Results, error) {
	var out Results
	if err := check(&q); err != nil {
		return out, err
	}
	switch q.Type {
	case "", "accounts", "hashtags", "statuses":
	default:
		return out, nil // as Mastodon: a type it does not know finds nothing (it was a 422 here)
	}
	want := func(t string) bool { return q.Type == "" || q.Type == t }
	if isURL(q.Text) {
		acct, status := s.resolveURL(ctx, q)
		if acct != 0 && want("accounts") {
			out.Accounts = []int64{acct}
		}
		if status != 0 && want("statuses") {
			out.Statuses = []int64{status}
		}
		return out, nil
	}
	var err error
	if want("accounts") {
		if out.Accounts, err = s.accounts(ctx, q); err != nil {
			return out, err
		}
	}
	if want("hashtags") {
		if out.Hashtags, err = s.tags(ctx, q); err != nil {
			return out, err
		}
	}
	if want("statuses") && q.ViewerID != 0 {
		out.Statuses, err = s.Store.SearchStatuses(ctx, federation.StatusQuery{Text: q.Text, ViewerID: q.ViewerID,
			AccountID: q.AccountID, MaxID: q.MaxID, MinID: q.MinID, Limit: q.Limit, Offset: q.Offset})
	}
	return out, err
}

// Accounts finds accounts only (GET /api/v1/accounts/search).
func (s *Service) Accounts(ctx context.Context, q Query) ([]int64, error) {
	if err := check(&q); err != nil {
		return nil, err
	}
	return s.accounts(ctx, q)
}

// accounts finds an exact handle first (looked up on the network with
// Resolve), then prefix matches on username or display name.
func (s *Service) accounts(ctx context.Context, q Query) ([]int64, error) {
	aq := federation.AccountQuery{Text: strings.TrimPrefix(q.Text, "@"), ViewerID: q.ViewerID, Following: q.Following,
		Limit: q.Limit, Offset: q.Offset}
	var first int64
	var err error
	if m := handleRE.FindStringSubmatch(q.Text); m != nil {
		aq.Text = m[1]
		if m[2] != "" {
			aq.Domain = strings.ToLower(m[2])
			if q.Offset == 0 {
				if first, err = s.exactAccount(ctx, q, m[1], m[2]); err != nil {
					return nil, err
				}
			}
		}
	}
	ids, err := s.Store.SearchAccounts(ctx, aq)
	if err != nil || first == 0 {
		return ids, err
	}
	rest := []int64{first}
	for _, id := range ids {
		if id != first {
			rest = append(rest, id)
		}
	}
	return rest[:min(len(rest), q.Limit)], nil
}

// tags finds the tenant's hashtags by prefix; a valid name comes first as
// itself, used or not, as on Mastodon.
func (s *Service) tags(ctx context.Context, q Query) ([]string, error) {
	name := strings.ToLower(strings.TrimPrefix(q.Text, "#"))
	if !ValidTag(name) {
		return []string{}, nil
	}
	names, err := s.Store.SearchTags(ctx, q.Site.TenantID, name, q.Limit, q.Offset)
	if err != nil {
		return nil, err
	}
	if q.Offset == 0 && !slices.Contains(names, name) {
		names = append([]string{name}, names...)
		names = names[:min(len(names), q.Limit)]
	}
	return names, nil
}

// FamiliarFollowers lists, for each account, those the viewer follows
// that follow it.
func (s *Service) FamiliarFollowers(ctx context.Context, viewerID, accountID int64, limit int) ([]int64, error) {
	return s.Store.FamiliarFollowers(ctx, viewerID, accountID, limit)
}

func isURL(s string) bool {
	return (strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")) && !strings.ContainsAny(s, " \t\n")
}
