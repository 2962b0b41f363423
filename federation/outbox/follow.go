// Package outbox starts activities of local accounts towards the rest of
// the fediverse.
package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/federation/actors"
	"github.com/roost-social/roost/federation/fetch"
	"github.com/roost-social/roost/internal/errs"
)

// Service sends a local account's activities.
type Service struct {
	Keys    *actors.Keys
	Fetch   *fetch.Client
	Follows federation.FollowStore
	Locals  federation.Locals
	Send    federation.Sender
	// Publisher and Dispatch publish posts (see Post).
	Publisher Publisher
	Dispatch  Dispatcher
	// Mover moves accounts (see Move).
	Mover Mover
	// Store backs likes, boosts, edits, deletes and blocks.
	Store Store
	// Scheme is this instance's URL scheme, for the URLs of its own actors
	// (WebFinger goes out over the peer's scheme: fetch.DiscoveryURL).
	Scheme string
	// Now is the clock of RefreshCollections' interval (nil: time.Now).
	Now func() time.Time
}

// Resolve finds a remote actor by handle (user@host, @user@host) or by
// actor URI, through WebFinger when given a handle.
func (s *Service) Resolve(ctx context.Context, handle string) (*federation.Account, error) {
	if strings.HasPrefix(handle, "https://") || strings.HasPrefix(handle, "http://") {
		return s.Keys.Actor(ctx, handle, false)
	}
	res, err := ap.ParseResource("acct:" + strings.TrimPrefix(handle, "@"))
	if err != nil {
		return nil, err
	}
	q := url.Values{"resource": {"acct:" + res.Username + "@" + res.Host}}
	// The scheme is the peer's (https, or what a resolve override fixes
	// for it), never this instance's own URL scheme.
	doc, err := s.Fetch.GetJSON(ctx, s.Fetch.DiscoveryURL(res.Host, "/.well-known/webfinger?"+q.Encode()),
		"application/jrd+json", []string{"application/jrd+json", "application/json"})
	if err != nil {
		return nil, fmt.Errorf("WebFinger %s@%s: %w", res.Username, res.Host, err)
	}
	var jrd ap.JRD
	if err := json.Unmarshal(doc, &jrd); err != nil {
		return nil, errs.E(errs.Invalid, "WebFinger answer is not a JRD")
	}
	for _, l := range jrd.Links {
		if l.Rel == "self" && (l.Type == ap.ContentType || strings.HasPrefix(l.Type, "application/ld+json")) {
			return s.Keys.Actor(ctx, l.Href, false)
		}
	}
	return nil, errs.E(errs.NotFound, "%s has no ActivityPub actor", handle)
}

// Follow makes local follow target (a handle or actor URI): a pending
// follow until the remote side answers with Accept.
func (s *Service) Follow(ctx context.Context, local *federation.Account, target string) (*federation.Follow, error) {
	if other, ok, err := s.localTarget(ctx, target); err != nil {
		return nil, err
	} else if ok {
		return s.followLocal(ctx, local, other)
	}
	links, err := s.Locals.Links(ctx, local)
	if err != nil {
		return nil, err
	}
	remote, err := s.Resolve(federation.WithActingHost(ctx, hostOf(links.Base)), target)
	if err != nil {
		return nil, err
	}
	me := links.Actor(local.Username)
	id := ap.NewFollowID(me)
	f, created, err := s.Follows.CreateFollow(ctx, local.ID, remote.ID, id, federation.FollowPending)
	if err != nil || !created {
		return f, err
	}
	body, err := json.Marshal(ap.NewFollow(id, me, remote.Remote.URI))
	if err != nil {
		return nil, err
	}
	return f, s.Send.Send(ctx, local.ID, id, body, []string{remote.Remote.Inbox}, true)
}

// localTarget resolves a handle or actor URI naming an account hosted here,
// on any tenant. ok is false when it names none; an error is a failure to
// tell (the database away), never "not ours": taken for a remote account, a
// local one was looked up over WebFinger and refused (soak finding 6).
func (s *Service) localTarget(ctx context.Context, target string) (*federation.Account, bool, error) {
	var user, host string
	if u, err := url.Parse(target); err == nil && (u.Scheme == "https" || u.Scheme == "http") {
		name, ok := strings.CutPrefix(u.Path, "/users/")
		user, host = name, u.Hostname()
		if !ok {
			return nil, false, nil
		}
	} else {
		user, host, _ = strings.Cut(strings.TrimPrefix(target, "@"), "@")
	}
	a, err := s.Locals.ByHandle(ctx, user, host)
	if errs.CodeOf(err) == errs.NotFound {
		return nil, false, nil
	}
	return a, err == nil, err
}

// followLocal is local delivery of a Follow: both accounts are hosted
// here, so the follow is recorded (and, unless the account is locked,
// accepted) at once, with no HTTP and no signature.
func (s *Service) followLocal(ctx context.Context, local, other *federation.Account) (*federation.Follow, error) {
	if local.ID == other.ID {
		return nil, errs.E(errs.Invalid, "an account cannot follow itself")
	}
	links, err := s.Locals.Links(ctx, local)
	if err != nil {
		return nil, err
	}
	state := federation.FollowAccepted
	if other.Locked {
		state = federation.FollowPending
	}
	f, _, err := s.Follows.CreateFollow(ctx, local.ID, other.ID, ap.NewFollowID(links.Actor(local.Username)), state)
	return f, err
}

// hostOf is the host (with port) of a base URL.
func hostOf(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	return u.Host
}
