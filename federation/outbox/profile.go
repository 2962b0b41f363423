package outbox

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/internal/errs"
)

// Known finds a remote actor we already have by user@host, without any
// request (Mastodon's lookup without resolve).
func (s *Service) Known(ctx context.Context, handle string) (*federation.Account, error) {
	user, host, ok := strings.Cut(strings.TrimPrefix(handle, "@"), "@")
	if !ok || user == "" || host == "" {
		return nil, errs.E(errs.NotFound, "no such account")
	}
	return s.Store.RemoteActorByHandle(ctx, user, strings.ToLower(host))
}

// UpdateProfile tells the servers of local's followers that its actor
// document changed (Update(Person), carrying the whole actor).
func (s *Service) UpdateProfile(ctx context.Context, local *federation.Account) error {
	a, err := s.actor(ctx, local)
	if err != nil {
		return err
	}
	inboxes, err := s.Mover.FollowerInboxes(ctx, local.ID)
	if err != nil {
		return err
	}
	if len(inboxes) == 0 {
		return nil
	}
	doc := ap.NewActor(local, a.links)
	id := a.uri + "#updates/" + strconv.FormatInt(time.Now().UnixNano(), 10)
	return s.send(ctx, a, "Update", id, doc, []string{federation.PublicCollection}, []string{a.links.Followers(local.Username)}, inboxes, false)
}

// AnswerFollow accepts or rejects a pending follow of local by follower:
// recorded at once, and answered with Accept or Reject when the follower
// is remote. Rejecting removes the request.
func (s *Service) AnswerFollow(ctx context.Context, local, follower *federation.Account, accept bool) error {
	f, err := s.Follows.FollowBetween(ctx, follower.ID, local.ID)
	if err != nil {
		return err
	}
	if f.State != federation.FollowPending && accept {
		return nil
	}
	if accept {
		if _, err := s.Follows.AcceptFollow(ctx, f.URI, local.ID); err != nil {
			return err
		}
	} else if _, err := s.Follows.DeleteFollow(ctx, follower.ID, local.ID); err != nil {
		return err
	}
	if follower.Remote == nil {
		return nil
	}
	a, err := s.actor(ctx, local)
	if err != nil {
		return err
	}
	kind := "Reject"
	if accept {
		kind = "Accept"
	}
	id := fmt.Sprintf("%s#%ss/follows/%d", a.uri, strings.ToLower(kind), f.ID)
	follow := map[string]any{"id": f.URI, "type": "Follow", "actor": follower.Remote.URI, "object": a.uri}
	return s.send(ctx, a, kind, id, follow, []string{follower.Remote.URI}, nil, []string{follower.Remote.Inbox}, true)
}
