package notification

import (
	"context"
	"slices"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// PolicyChange is a PATCH of the policy: nil leaves a rule as it is.
type PolicyChange struct {
	ForNotFollowing, ForNotFollowers, ForNewAccounts, ForPrivateMentions, ForLimitedAccounts *string
}

var policyValues = []string{federation.PolicyAccept, federation.PolicyFilter, federation.PolicyDrop}

// Policy is v's notification policy with its pending requests.
func (s *Service) Policy(ctx context.Context, v Viewer) (federation.NotificationPolicy, error) {
	if s.Store == nil {
		return federation.NotificationPolicy{}, errNotFound
	}
	return s.Store.NotificationPolicy(ctx, v.ID)
}

// SetPolicy changes v's policy; a value other than accept, filter or drop
// is refused and nothing changes.
func (s *Service) SetPolicy(ctx context.Context, v Viewer, c PolicyChange) (federation.NotificationPolicy, error) {
	p, err := s.Policy(ctx, v)
	if err != nil {
		return p, err
	}
	for _, r := range []struct {
		name string
		in   *string
		out  *string
	}{
		{"for_not_following", c.ForNotFollowing, &p.ForNotFollowing},
		{"for_not_followers", c.ForNotFollowers, &p.ForNotFollowers},
		{"for_new_accounts", c.ForNewAccounts, &p.ForNewAccounts},
		{"for_private_mentions", c.ForPrivateMentions, &p.ForPrivateMentions},
		{"for_limited_accounts", c.ForLimitedAccounts, &p.ForLimitedAccounts},
	} {
		if r.in == nil {
			continue
		}
		if !slices.Contains(policyValues, *r.in) {
			return federation.NotificationPolicy{}, errs.E(errs.Invalid, "%s must be accept, filter or drop", r.name)
		}
		*r.out = *r.in
	}
	if err := s.Store.SetNotificationPolicy(ctx, v.ID, p); err != nil {
		return federation.NotificationPolicy{}, err
	}
	return s.Store.NotificationPolicy(ctx, v.ID)
}

// Requests pages v's notification requests, newest first.
func (s *Service) Requests(ctx context.Context, v Viewer, p federation.Page) ([]federation.NotificationRequest, error) {
	if s.Store == nil {
		return nil, errNotFound
	}
	return s.Store.NotificationRequests(ctx, v.ID, p)
}

// Request is one of v's requests (by its sender's id), or NotFound.
func (s *Service) Request(ctx context.Context, v Viewer, id int64) (*federation.NotificationRequest, error) {
	if s.Store == nil || id <= 0 {
		return nil, errNotFound
	}
	return s.Store.NotificationRequest(ctx, v.ID, id)
}

// maxBulk bounds the ids one bulk accept or dismiss takes.
const maxBulk = 100

// Accept accepts v's requests: their notifications are shown and their
// senders never filtered again. One id that names no request of v's is
// NotFound (single); in bulk such ids are skipped.
func (s *Service) Accept(ctx context.Context, v Viewer, ids []int64, single bool) error {
	ids, err := s.checkRequests(ctx, v, ids, single)
	if err != nil {
		return err
	}
	return s.Store.AcceptNotificationRequests(ctx, v.ID, ids)
}

// Dismiss dismisses v's requests: their filtered notifications go.
func (s *Service) Dismiss(ctx context.Context, v Viewer, ids []int64, single bool) error {
	ids, err := s.checkRequests(ctx, v, ids, single)
	if err != nil {
		return err
	}
	return s.Store.DismissNotificationRequests(ctx, v.ID, ids)
}

func (s *Service) checkRequests(ctx context.Context, v Viewer, ids []int64, single bool) ([]int64, error) {
	if s.Store == nil {
		return nil, errNotFound
	}
	if len(ids) > maxBulk {
		return nil, errs.E(errs.Invalid, "at most %d requests at once", maxBulk)
	}
	if single {
		if len(ids) != 1 {
			return nil, errNotFound
		}
		if _, err := s.Request(ctx, v, ids[0]); err != nil {
			return nil, err
		}
	}
	return ids, nil
}
