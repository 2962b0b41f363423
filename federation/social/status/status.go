// Package status is the use case of what a person does with posts around
// writing them: settling a new post's settings (compose.go), favouriting,
// boosting, bookmarking and pinning, and which posts count as their own
// to edit or delete. Writing, editing and deleting posts is
// federation/outbox's; this package decides who may act on what.
package status

import (
	"context"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

var errNotFound = errs.E(errs.NotFound, "Record not found")

// Views tells which statuses a viewer may see (federation.ViewStore).
type Views interface {
	StatusViews(ctx context.Context, viewerID int64, ids []int64) ([]*federation.StatusView, error)
}

// Marks keeps what does not federate: bookmarks and pins
// (federation.ClientStore).
type Marks interface {
	SetBookmark(ctx context.Context, accountID, statusID int64, on bool) error
	SetPin(ctx context.Context, accountID, statusID int64, on bool) error
}

// Publisher sends favourites and boosts (outbox.Service).
type Publisher interface {
	Like(ctx context.Context, local *federation.Account, statusURI string, undo bool) error
	// Boost returns the boost's own status id (0 when undoing); boosting
	// what local already boosted answers that boost and sends nothing.
	Boost(ctx context.Context, local *federation.Account, statusURI string, undo bool) (int64, error)
}

// Service is the status actions use case.
type Service struct {
	Views     Views
	Marks     Marks
	Drafts    Drafts
	Publisher Publisher
}

// Visible returns a status viewer may see; any other, existing or not, is
// NotFound alike.
func (s *Service) Visible(ctx context.Context, viewerID, id int64) (*federation.StatusView, error) {
	if id <= 0 {
		return nil, errNotFound
	}
	views, err := s.Views.StatusViews(ctx, viewerID, []int64{id})
	if err != nil {
		return nil, err
	}
	if len(views) == 0 {
		return nil, errNotFound
	}
	return views[0], nil
}

// Own returns one of me's own posts (not a boost); any other is NotFound.
func (s *Service) Own(ctx context.Context, me *federation.Account, id int64) (*federation.StatusView, error) {
	v, err := s.Visible(ctx, me.ID, id)
	if err != nil {
		return nil, err
	}
	if v.AccountID != me.ID || v.ReblogOfID != 0 {
		return nil, errNotFound
	}
	return v, nil
}

// target is the status an action on id acts on: acting on a boost acts
// on what it boosted, as Mastodon does.
func (s *Service) target(ctx context.Context, me *federation.Account, id int64) (*federation.StatusView, error) {
	v, err := s.Visible(ctx, me.ID, id)
	if err != nil || v.ReblogOfID == 0 {
		return v, err
	}
	return s.Visible(ctx, me.ID, v.ReblogOfID)
}

// Favourite favourites (or not) a status me may see; it returns the id
// of the status acted on.
func (s *Service) Favourite(ctx context.Context, me *federation.Account, id int64, on bool) (int64, error) {
	v, err := s.target(ctx, me, id)
	if err != nil {
		return 0, err
	}
	if v.Favourited == on {
		return v.ID, nil
	}
	return v.ID, s.Publisher.Like(ctx, me, v.URI, !on)
}

// Reblog boosts (or not) a status me may see: public and unlisted posts
// only.
func (s *Service) Reblog(ctx context.Context, me *federation.Account, id int64, on bool) (int64, error) {
	v, err := s.target(ctx, me, id)
	if err != nil {
		return 0, err
	}
	if !on {
		if !v.Reblogged {
			return v.ID, nil
		}
		_, err := s.Publisher.Boost(ctx, me, v.URI, true)
		return v.ID, err
	}
	if v.Visibility != federation.Public && v.Visibility != federation.Unlisted {
		return 0, errs.E(errs.Forbidden, "This action is not allowed")
	}
	return s.Publisher.Boost(ctx, me, v.URI, false)
}

// Bookmark bookmarks (or not) a status me may see.
func (s *Service) Bookmark(ctx context.Context, me *federation.Account, id int64, on bool) (int64, error) {
	v, err := s.target(ctx, me, id)
	if err != nil {
		return 0, err
	}
	return v.ID, s.Marks.SetBookmark(ctx, me.ID, v.ID, on)
}

// Pin pins (or not) one of me's own posts; the store keeps the limit of
// federation.MaxPins and the public-or-unlisted rule under its lock.
func (s *Service) Pin(ctx context.Context, me *federation.Account, id int64, on bool) (int64, error) {
	v, err := s.target(ctx, me, id)
	if err != nil {
		return 0, err
	}
	if v.AccountID != me.ID {
		return 0, errs.E(errs.Invalid, "Validation failed: only your own posts can be pinned")
	}
	return v.ID, s.Marks.SetPin(ctx, me.ID, v.ID, on)
}
