// Package tag is the use case of hashtags as things a person follows and
// features: which names are hashtags, what a viewer sees of one (its id,
// its week on the tenant, whether they follow or feature it), following
// (which fills the home feed, federation/postgres), featuring on the
// profile, and the hashtag filters of the public and hashtag timelines.
// The Mastodon API calls it; it reads and writes through
// federation.TagStore.
package tag

import (
	"context"
	"strings"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/search"
	"github.com/roost-social/roost/internal/errs"
)

// MaxPerMode bounds the hashtags of each of any[], all[] and none[] on a
// hashtag timeline, as on Mastodon.
const MaxPerMode = 4

// MaxSuggestions is how many hashtags featured-tag suggestions offer.
const MaxSuggestions = 10

// Service is the hashtags use case.
type Service struct {
	Store federation.TagStore
}

// Tag is a hashtag as a viewer sees it: its state and its last week on
// the viewing tenant, newest day first.
type Tag struct {
	federation.TagState
	History []federation.TagDay
}

var errNotFound = errs.E(errs.NotFound, "Record not found")

// Name normalises a hashtag as apps send it ("#Cats", "cats"); ok is
// false when it is no hashtag name.
func Name(raw string) (string, bool) {
	name := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(raw), "#"))
	return name, search.ValidTag(name)
}

// pathName is Name for a hashtag named in a route: errs.NotFound when it
// is none, as Mastodon answers.
func pathName(raw string) (string, error) {
	name, ok := Name(raw)
	if !ok {
		return "", errNotFound
	}
	return name, nil
}

// Describe adds the viewer's state to hashtags whose week is known
// (trends), in order.
func (s *Service) Describe(ctx context.Context, viewerID int64, stats []federation.TagStats) ([]Tag, error) {
	if len(stats) == 0 {
		return nil, nil
	}
	names := make([]string, len(stats))
	for i, st := range stats {
		names[i] = st.Name
	}
	states, err := s.Store.TagStates(ctx, viewerID, names)
	if err != nil {
		return nil, err
	}
	out := make([]Tag, 0, len(states))
	for i, st := range states {
		out = append(out, Tag{TagState: st, History: stats[i].History})
	}
	return out, nil
}

// Lookup describes hashtags by name with their week on the tenant.
func (s *Service) Lookup(ctx context.Context, tenantID, viewerID int64, names []string) ([]Tag, error) {
	if len(names) == 0 {
		return nil, nil
	}
	stats, err := s.Store.TagHistories(ctx, tenantID, names)
	if err != nil {
		return nil, err
	}
	return s.Describe(ctx, viewerID, stats)
}

// Show is one hashtag named in a route.
func (s *Service) Show(ctx context.Context, tenantID, viewerID int64, raw string) (*Tag, error) {
	name, err := pathName(raw)
	if err != nil {
		return nil, err
	}
	return s.one(ctx, tenantID, viewerID, name)
}

func (s *Service) one(ctx context.Context, tenantID, viewerID int64, name string) (*Tag, error) {
	tags, err := s.Lookup(ctx, tenantID, viewerID, []string{name})
	if err != nil {
		return nil, err
	}
	if len(tags) != 1 {
		return nil, errNotFound
	}
	return &tags[0], nil
}

// Follow follows a hashtag: posts carrying it that the tenant sees join
// the account's home feed from now on. Idempotent.
func (s *Service) Follow(ctx context.Context, tenantID, accountID int64, raw string) (*Tag, error) {
	name, err := pathName(raw)
	if err != nil {
		return nil, err
	}
	if err := s.Store.FollowTag(ctx, accountID, name); err != nil {
		return nil, err
	}
	return s.one(ctx, tenantID, accountID, name)
}

// Unfollow stops following a hashtag. Idempotent.
func (s *Service) Unfollow(ctx context.Context, tenantID, accountID int64, raw string) (*Tag, error) {
	name, err := pathName(raw)
	if err != nil {
		return nil, err
	}
	if err := s.Store.UnfollowTag(ctx, accountID, name); err != nil {
		return nil, err
	}
	return s.one(ctx, tenantID, accountID, name)
}

// Followed pages the account's followed hashtags; cursors page on.
func (s *Service) Followed(ctx context.Context, tenantID, accountID int64, p federation.Page) ([]Tag, []int64, error) {
	names, cursors, err := s.Store.FollowedTags(ctx, accountID, p)
	if err != nil {
		return nil, nil, err
	}
	tags, err := s.Lookup(ctx, tenantID, accountID, names)
	return tags, cursors, err
}
