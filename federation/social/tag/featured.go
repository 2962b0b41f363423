package tag

import (
	"context"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// Feature features a hashtag given as a parameter (POST
// /api/v1/featured_tags): a name that is no hashtag is errs.Invalid.
func (s *Service) Feature(ctx context.Context, accountID int64, raw string) (*federation.FeaturedTag, error) {
	name, ok := Name(raw)
	if !ok {
		return nil, errs.E(errs.Invalid, "Validation failed: Tag is invalid")
	}
	return s.Store.FeatureTag(ctx, accountID, name)
}

// FeatureNamed features a hashtag named in a route and shows it.
func (s *Service) FeatureNamed(ctx context.Context, tenantID, accountID int64, raw string) (*Tag, error) {
	name, err := pathName(raw)
	if err != nil {
		return nil, err
	}
	if _, err := s.Store.FeatureTag(ctx, accountID, name); err != nil {
		return nil, err
	}
	return s.one(ctx, tenantID, accountID, name)
}

// UnfeatureNamed stops featuring a hashtag named in a route and shows
// it. Idempotent.
func (s *Service) UnfeatureNamed(ctx context.Context, tenantID, accountID int64, raw string) (*Tag, error) {
	name, err := pathName(raw)
	if err != nil {
		return nil, err
	}
	if err := s.Store.UnfeatureTagName(ctx, accountID, name); err != nil {
		return nil, err
	}
	return s.one(ctx, tenantID, accountID, name)
}

// Unfeature removes one of the account's featured tags by id; another
// account's is errs.NotFound.
func (s *Service) Unfeature(ctx context.Context, accountID, id int64) error {
	return s.Store.UnfeatureTag(ctx, accountID, id)
}

// Featured lists an account's featured tags. Remote accounts have none
// known here.
func (s *Service) Featured(ctx context.Context, accountID int64) ([]federation.FeaturedTag, error) {
	return s.Store.FeaturedTags(ctx, accountID)
}

// Suggestions offers the hashtags the account uses most and does not
// feature yet.
func (s *Service) Suggestions(ctx context.Context, tenantID, accountID int64) ([]Tag, error) {
	names, err := s.Store.TagSuggestions(ctx, accountID, MaxSuggestions)
	if err != nil {
		return nil, err
	}
	return s.Lookup(ctx, tenantID, accountID, names)
}
