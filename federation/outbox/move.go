package outbox

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/internal/errs"
)

// Mover is what moving an account needs from storage.
type Mover interface {
	SetMovedTo(ctx context.Context, accountID int64, uri string) error
	SetAliases(ctx context.Context, accountID int64, aliases []string) error
	FollowerInboxes(ctx context.Context, accountID int64) ([]string, error)
	// AllLocalFollowers lists local followers on every tenant.
	AllLocalFollowers(ctx context.Context, accountID int64) ([]*federation.Account, error)
}

// AddAlias lets another account move to local: its URI (or handle,
// resolved) joins local's alsoKnownAs.
func (s *Service) AddAlias(ctx context.Context, local *federation.Account, other string) (string, error) {
	uri, err := s.actorURI(ctx, local, other)
	if err != nil {
		return "", err
	}
	if slices.Contains(local.AlsoKnownAs, uri) {
		return uri, nil
	}
	return uri, s.Mover.SetAliases(ctx, local.ID, append(slices.Clone(local.AlsoKnownAs), uri))
}

// Move moves local to target, which must list local in its alsoKnownAs:
// local is marked moved, its local followers (on every tenant) follow the
// target at once, and its remote followers' servers get a Move.
func (s *Service) Move(ctx context.Context, local *federation.Account, target string) (string, error) {
	links, err := s.Locals.Links(ctx, local)
	if err != nil {
		return "", err
	}
	me := links.Actor(local.Username)
	// The target's actor is fetched afresh, signed as this site's instance
	// actor: servers with authorized fetch (GoToSocial, Mastodon's secure
	// mode) answer an unsigned GET with 401.
	ctx = federation.WithActingHost(ctx, hostOf(links.Base))
	newURI, aka, err := s.moveTarget(ctx, local, target)
	if err != nil {
		return "", err
	}
	if newURI == me {
		return "", errs.E(errs.Invalid, "an account cannot move to itself")
	}
	if !slices.Contains(aka, me) {
		return "", errs.E(errs.Invalid, "%s must list %s as an alias (alsoKnownAs) first", newURI, me)
	}
	if err := s.Mover.SetMovedTo(ctx, local.ID, newURI); err != nil {
		return "", err
	}
	if err := s.moveLocalFollowers(ctx, local, newURI); err != nil {
		return "", err
	}
	inboxes, err := s.Mover.FollowerInboxes(ctx, local.ID)
	if err != nil {
		return "", err
	}
	id := me + "#moves/" + ap.NewToken()
	body, err := json.Marshal(map[string]any{"@context": "https://www.w3.org/ns/activitystreams",
		"id": id, "type": "Move", "actor": me, "object": me, "target": newURI, "to": []string{links.Followers(local.Username)}})
	if err != nil {
		return "", err
	}
	return newURI, s.Send.Send(ctx, local.ID, id, body, inboxes, false)
}

// moveTarget resolves the account moved to and its current alsoKnownAs
// (a remote one fetched afresh).
func (s *Service) moveTarget(ctx context.Context, local *federation.Account, target string) (string, []string, error) {
	if other, ok, err := s.localTarget(ctx, target); err != nil {
		return "", nil, err
	} else if ok {
		links, err := s.Locals.Links(ctx, other)
		if err != nil {
			return "", nil, err
		}
		return links.Actor(other.Username), other.AlsoKnownAs, nil
	}
	uri, err := s.actorURI(ctx, local, target)
	if err != nil {
		return "", nil, err
	}
	fresh, err := s.Keys.Actor(ctx, uri, true)
	if err != nil {
		return "", nil, err
	}
	return uri, fresh.Remote.AlsoKnownAs, nil
}

// actorURI resolves a handle or URI to an actor URI, local or remote.
func (s *Service) actorURI(ctx context.Context, local *federation.Account, target string) (string, error) {
	if other, ok, err := s.localTarget(ctx, target); err != nil {
		return "", err
	} else if ok {
		links, err := s.Locals.Links(ctx, other)
		if err != nil {
			return "", err
		}
		return links.Actor(other.Username), nil
	}
	links, err := s.Locals.Links(ctx, local)
	if err != nil {
		return "", err
	}
	remote, err := s.Resolve(federation.WithActingHost(ctx, hostOf(links.Base)), target)
	if err != nil {
		return "", err
	}
	return remote.Remote.URI, nil
}

// moveLocalFollowers is local delivery of a Move: every local follower
// follows the new account and stops following the old one.
func (s *Service) moveLocalFollowers(ctx context.Context, local *federation.Account, newURI string) error {
	followers, err := s.Mover.AllLocalFollowers(ctx, local.ID)
	if err != nil {
		return err
	}
	for _, f := range followers {
		if _, err := s.Follow(ctx, f, newURI); err != nil && !errs.Is(err, errs.Invalid) {
			return err
		}
		if _, err := s.Follows.DeleteFollow(ctx, f.ID, local.ID); err != nil {
			return err
		}
	}
	return nil
}

// DeleteActor queues Delete(Person) of a local account, signed by it, to
// inboxes (every server that knows it): the last thing an account of a
// leaving tenant says. Its id is fixed per actor, so announcing twice
// delivers once.
func (s *Service) DeleteActor(ctx context.Context, local *federation.Account, inboxes []string) error {
	if len(inboxes) == 0 {
		return nil
	}
	links, err := s.Locals.Links(ctx, local)
	if err != nil {
		return err
	}
	me := links.Actor(local.Username)
	id := me + "#delete"
	body, err := json.Marshal(map[string]any{"@context": "https://www.w3.org/ns/activitystreams",
		"id": id, "type": "Delete", "actor": me, "object": me, "to": []string{federation.PublicCollection}})
	if err != nil {
		return err
	}
	return s.Send.Send(ctx, local.ID, id, body, inboxes, false)
}

// RemoveAlias takes an account (handle or URI) out of local's alsoKnownAs
// and returns what remains.
func (s *Service) RemoveAlias(ctx context.Context, local *federation.Account, other string) ([]string, error) {
	uri := other
	if !slices.Contains(local.AlsoKnownAs, other) {
		resolved, err := s.actorURI(ctx, local, other)
		if err != nil {
			return nil, err
		}
		uri = resolved
	}
	if !slices.Contains(local.AlsoKnownAs, uri) {
		return nil, errs.E(errs.NotFound, "%s is not an alias of this account", other)
	}
	rest := slices.DeleteFunc(slices.Clone(local.AlsoKnownAs), func(s string) bool { return s == uri })
	return rest, s.Mover.SetAliases(ctx, local.ID, rest)
}
