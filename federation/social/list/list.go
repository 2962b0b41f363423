// Package list is the use case of a person's lists: what a list may be
// called, which replies it shows, who may be put on it. The Mastodon API,
// the dashboards and the CLI call it; it reads and writes through
// federation.ListStore, which keeps the rules that need a transaction
// (the list and member limits, members must be followed).
package list

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// MaxTitle is the longest list title, in characters, as on Mastodon.
const MaxTitle = 200

// MaxMembersAtOnce bounds the accounts one request adds or removes.
const MaxMembersAtOnce = 100

// Service is the lists use case.
type Service struct {
	Store federation.ListStore
}

// Changes are the settings a create or update asks for; a nil field is
// left as it is (on create: the defaults, no title is an error).
type Changes struct {
	Title         *string
	RepliesPolicy *string
	Exclusive     *bool
}

// Lists returns the owner's lists.
func (s *Service) Lists(ctx context.Context, ownerID int64) ([]federation.List, error) {
	return s.Store.Lists(ctx, ownerID)
}

// List returns one of the owner's lists; another's is errs.NotFound.
func (s *Service) List(ctx context.Context, ownerID, id int64) (*federation.List, error) {
	return s.Store.List(ctx, ownerID, id)
}

// Create makes a list; its title is required.
func (s *Service) Create(ctx context.Context, ownerID int64, ch Changes) (*federation.List, error) {
	l := federation.List{RepliesPolicy: federation.RepliesList}
	if ch.Title == nil {
		ch.Title = new(string)
	}
	if err := apply(&l, ch); err != nil {
		return nil, err
	}
	return s.Store.SaveList(ctx, ownerID, l)
}

// Update changes one of the owner's lists.
func (s *Service) Update(ctx context.Context, ownerID, id int64, ch Changes) (*federation.List, error) {
	old, err := s.Store.List(ctx, ownerID, id)
	if err != nil {
		return nil, err
	}
	l := *old
	if err := apply(&l, ch); err != nil {
		return nil, err
	}
	return s.Store.SaveList(ctx, ownerID, l)
}

// apply checks and applies changes to l.
func apply(l *federation.List, ch Changes) error {
	if ch.Title != nil {
		l.Title = strings.TrimSpace(*ch.Title)
		if l.Title == "" {
			return errs.E(errs.Invalid, "Validation failed: Title can't be blank")
		}
		if utf8.RuneCountInString(l.Title) > MaxTitle {
			return errs.E(errs.Invalid, "Validation failed: Title is too long (maximum is %d characters)", MaxTitle)
		}
	}
	if ch.RepliesPolicy != nil {
		switch v := *ch.RepliesPolicy; v {
		case federation.RepliesFollowed, federation.RepliesList, federation.RepliesNone:
			l.RepliesPolicy = v
		default:
			return errs.E(errs.Invalid, "Validation failed: replies_policy must be followed, list or none")
		}
	}
	if ch.Exclusive != nil {
		l.Exclusive = *ch.Exclusive
	}
	return nil
}

// Delete removes one of the owner's lists.
func (s *Service) Delete(ctx context.Context, ownerID, id int64) error {
	return s.Store.DeleteList(ctx, ownerID, id)
}

// Members pages a list's accounts (a zero Limit: all of them).
func (s *Service) Members(ctx context.Context, ownerID, listID int64, p federation.Page) (ids, cursors []int64, err error) {
	if _, err := s.Store.List(ctx, ownerID, listID); err != nil {
		return nil, nil, err
	}
	return s.Store.ListMembers(ctx, ownerID, listID, p)
}

// checkMembers bounds one request's accounts.
func checkMembers(ids []int64) error {
	if len(ids) == 0 {
		return errs.E(errs.Invalid, "account_ids is required")
	}
	if len(ids) > MaxMembersAtOnce {
		return errs.E(errs.Invalid, "at most %d account_ids at once", MaxMembersAtOnce)
	}
	return nil
}

// AddMembers puts accounts the owner follows on one of the owner's lists
// (the store refuses anyone else, and the built-in "For you" list).
func (s *Service) AddMembers(ctx context.Context, ownerID, listID int64, ids []int64) error {
	if _, err := s.Store.List(ctx, ownerID, listID); err != nil {
		return err
	}
	if err := checkMembers(ids); err != nil {
		return err
	}
	return s.Store.AddListMembers(ctx, ownerID, listID, ids)
}

// RemoveMembers takes accounts off one of the owner's lists.
func (s *Service) RemoveMembers(ctx context.Context, ownerID, listID int64, ids []int64) error {
	if _, err := s.Store.List(ctx, ownerID, listID); err != nil {
		return err
	}
	if err := checkMembers(ids); err != nil {
		return err
	}
	return s.Store.RemoveListMembers(ctx, ownerID, listID, ids)
}

// With lists the owner's lists that have the account on them.
func (s *Service) With(ctx context.Context, ownerID, accountID int64) ([]federation.List, error) {
	return s.Store.ListsWith(ctx, ownerID, accountID)
}

// Timeline pages a list's timeline. The built-in "For you" list has no
// members: forYou reports that its timeline is the ranked feed instead.
func (s *Service) Timeline(ctx context.Context, ownerID, listID int64, p federation.Page) (ids []int64, forYou bool, err error) {
	l, err := s.Store.List(ctx, ownerID, listID)
	if err != nil {
		return nil, false, err
	}
	if l.ForYou {
		return nil, true, nil
	}
	ids, err = s.Store.ListTimeline(ctx, ownerID, l, p)
	return ids, false, err
}
