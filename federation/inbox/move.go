package inbox

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strings"

	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/internal/errs"
)

// FollowersOf lists the local accounts (of one tenant) following an actor,
// and records a remote actor's verified move.
type FollowersOf interface {
	LocalFollowers(ctx context.Context, accountID, tenantID int64) ([]*federation.Account, error)
	SetRemoteMovedTo(ctx context.Context, accountID int64, uri string) error
}

// move follows an account's move: when the new actor, fetched fresh,
// lists the old one in alsoKnownAs, every local follower of the old
// account on this tenant follows the new one (and stops following the old).
func (a *activity) move(ctx context.Context) error {
	if a.env.ObjectID != "" && a.env.ObjectID != a.actor.Remote.URI {
		return errs.E(errs.Forbidden, "an actor can only move itself")
	}
	if a.env.Target == "" || a.Keys == nil {
		return errs.E(errs.Invalid, "a Move needs a target")
	}
	target, aka, err := a.moveTarget(ctx)
	if err != nil {
		return err
	}
	if !slices.Contains(aka, a.actor.Remote.URI) {
		return errs.E(errs.Forbidden, "the move target does not name %s in alsoKnownAs", a.actor.Remote.URI)
	}
	// The old account shows where it went (the Account entity's moved).
	if err := a.Movers.SetRemoteMovedTo(ctx, a.actor.ID, a.env.Target); err != nil {
		return err
	}
	followers, err := a.Movers.LocalFollowers(ctx, a.actor.ID, a.item.TenantID)
	if err != nil {
		return err
	}
	for _, local := range followers {
		if err := a.refollow(ctx, local, target); err != nil {
			return err
		}
	}
	return nil
}

// moveTarget returns the account moved to and its alsoKnownAs: a local
// account as stored, a remote one fetched afresh.
func (a *activity) moveTarget(ctx context.Context) (*federation.Account, []string, error) {
	u, err := url.Parse(a.env.Target)
	if err == nil {
		name, _ := strings.CutPrefix(u.Path, "/users/")
		if local, err := a.Locals.ByHandle(ctx, name, u.Hostname()); err == nil {
			return local, local.AlsoKnownAs, nil
		}
	}
	target, err := a.Keys.Actor(ctx, a.env.Target, true)
	if err != nil {
		return nil, nil, err
	}
	return target, target.Remote.AlsoKnownAs, nil
}

// refollow moves one local follower: a pending follow of target with a
// Follow sent to it, and the old follow removed.
func (a *activity) refollow(ctx context.Context, local, target *federation.Account) error {
	links, err := a.Locals.Links(ctx, local)
	if err != nil {
		return err
	}
	me := links.Actor(local.Username)
	id := ap.NewFollowID(me)
	state := federation.FollowPending
	if target.Local() && !target.Locked {
		state = federation.FollowAccepted // local delivery: no Follow over HTTP
	}
	if _, created, err := a.Follows.CreateFollow(ctx, local.ID, target.ID, id, state); err != nil {
		return err
	} else if created && !target.Local() {
		body, err := json.Marshal(ap.NewFollow(id, me, target.Remote.URI))
		if err != nil {
			return err
		}
		if err := a.Send.Send(ctx, local.ID, id, body, []string{target.Remote.Inbox}, true); err != nil {
			return err
		}
	}
	_, err = a.Follows.DeleteFollow(ctx, local.ID, a.actor.ID)
	return err
}
