package actors

import (
	"context"
	"net/url"
	"time"

	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/internal/errs"
)

// fetchTimeout bounds a shared key fetch, which runs detached from the
// first caller's cancellation since others may be waiting on it (the
// client's own deadline is shorter).
const fetchTimeout = 60 * time.Second

// fetchShared fetches keyID's owner once for all concurrent callers: a new
// actor delivering to several of our inboxes at once costs one fetch and
// one unit of its host's budget, not one per request. The result is
// public data kept in the shared remote-actor cache either way, so which
// caller's site signed the fetch does not matter to the others.
func (k *Keys) fetchShared(ctx context.Context, keyID string) (*federation.Account, error) {
	v, err, _ := k.fetches.Do(keyID, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
		defer cancel()
		return k.fetch(fctx, keyID)
	})
	if err != nil {
		return nil, err
	}
	return v.(*federation.Account), nil
}

// fetch resolves keyID's owner through the network under the host's
// budget, remembering failures, and caches the owner in the store.
func (k *Keys) fetch(ctx context.Context, keyID string) (*federation.Account, error) {
	host := ap.HostOf(keyID)
	if host == "" {
		return nil, errs.E(errs.Unauthorized, "keyId is not an absolute URL")
	}
	if k.ours(ctx, keyID) {
		return nil, errs.E(errs.Unauthorized, "keys of local accounts are not fetched")
	}
	t, err := k.admit(keyID, host)
	if err != nil {
		return nil, err
	}
	actor, err := k.fetchOwner(ctx, keyID)
	k.settle(host, t, err == nil)
	if err != nil {
		k.fail(keyID, err)
		return nil, errs.Wrap(errs.Unauthorized, err, "the signing key could not be fetched or does not belong to an actor")
	}
	return k.Store.UpsertRemoteActor(ctx, actor)
}

// fetchOwner reads the document at keyID. When it is the actor itself
// (Mastodon's "#main-key" and most others), that is the owner. Otherwise
// it must name an owner on keyID's origin (GoToSocial's stub actor, a
// standalone Key or Multikey), which is fetched with a signed GET. Either
// way the owner's own document must list keyID as its key, so a key
// document cannot vouch for someone else's actor.
func (k *Keys) fetchOwner(ctx context.Context, keyID string) (*federation.Account, error) {
	doc, _, err := k.Fetch.GetActivity(ctx, keyID, k.Sign)
	if err != nil {
		return nil, err
	}
	actor, perr := ap.ParseActorKey(doc, keyID, k.now())
	if perr == nil {
		return actor, nil
	}
	owner := ap.OwnerOfKey(doc, keyID)
	switch {
	case owner == "":
		return nil, perr
	case !ap.SameOrigin(owner, keyID):
		return nil, errs.E(errs.Invalid, "key owner is on another host")
	case sameDocument(owner, keyID):
		return nil, perr // the owner's document is the one just read
	}
	if doc, _, err = k.Fetch.GetActivity(ctx, owner, k.Sign); err != nil {
		return nil, err
	}
	if actor, err = ap.ParseActorKey(doc, keyID, k.now()); err != nil {
		return nil, err
	}
	if actor.Remote.URI != owner {
		return nil, errs.E(errs.Invalid, "the key's owner document describes another actor")
	}
	return actor, nil
}

// sameDocument reports whether two URLs name one document (they differ at
// most in their fragment).
func sameDocument(a, b string) bool {
	ua, errA := url.Parse(a)
	ub, errB := url.Parse(b)
	if errA != nil || errB != nil {
		return false
	}
	ua.Fragment, ua.RawFragment, ub.Fragment, ub.RawFragment = "", "", "", ""
	return ua.String() == ub.String()
}
