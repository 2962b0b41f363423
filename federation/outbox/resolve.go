package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/internal/errs"
)

// remoteStatusSaver stores fetched remote statuses; the store behind
// Service.Store has it (federation.StatusStore).
type remoteStatusSaver interface {
	UpsertRemoteStatus(ctx context.Context, s *federation.Status) (*federation.Status, error)
}

// ResolveURL finds what a remote URL (an actor, a profile page serving
// its actor, or a post) is, fetching it through the safe client when we
// do not know it, as search with resolve=true does. Only public and
// unlisted posts are stored this way: nothing fetched on one person's
// behalf becomes visible to others that they should not see.
func (s *Service) ResolveURL(ctx context.Context, raw string) (*federation.Account, *federation.Status, error) {
	if host := ap.HostOf(raw); host == "" || (s.Keys.Ours != nil && s.Keys.Ours(ctx, host)) {
		return nil, nil, errs.E(errs.NotFound, "not a remote URL")
	}
	if a, err := s.Keys.Store.RemoteActorByURI(ctx, raw); err == nil {
		return a, nil, nil
	}
	if st, err := s.Store.StatusByURI(ctx, raw); err == nil {
		if st.TenantID != 0 {
			return nil, nil, errs.E(errs.NotFound, "not a remote URL")
		}
		return nil, st, nil
	}
	doc, final, err := s.Fetch.GetActivity(ctx, raw, s.Keys.Sign)
	if err != nil {
		return nil, nil, err
	}
	if a, err := ap.ParseActor(doc, time.Now()); err == nil {
		if a.Remote.URI != final {
			// A profile page answered with its actor: take the actor from
			// its own address.
			a, err := s.Keys.Actor(ctx, a.Remote.URI, false)
			return a, nil, err
		}
		saved, err := s.Keys.Store.UpsertRemoteActor(ctx, a)
		return saved, nil, err
	}
	st, author, err := ap.ParseStatus(doc, "")
	if err != nil {
		return nil, nil, errs.E(errs.NotFound, "%s is neither an actor nor a post", ap.HostOf(raw))
	}
	if !ap.SameOrigin(st.URI, final) || author == "" {
		return nil, nil, errs.E(errs.NotFound, "the post at %s is not its own", ap.HostOf(raw))
	}
	if st.Visibility != federation.Public && st.Visibility != federation.Unlisted {
		return nil, nil, errs.E(errs.NotFound, "only public posts can be looked up")
	}
	if known, err := s.Store.StatusByURI(ctx, st.URI); err == nil {
		return nil, known, nil
	}
	owner, err := s.Keys.Actor(ctx, author, false)
	if err != nil {
		return nil, nil, err
	}
	saver, ok := s.Store.(remoteStatusSaver)
	if !ok {
		return nil, nil, errs.E(errs.Internal, "the outbox store cannot save remote posts")
	}
	st.AccountID = owner.ID
	saved, err := saver.UpsertRemoteStatus(ctx, st)
	return nil, saved, err
}

var _ federation.FlagBuilder = (*Service)(nil)

// Flag writes the Flag that forwards a report about a remote account (and
// some of its posts) to its server, as the instance actor of actingHost,
// the reporter's site, as Mastodon forwards reports: the remote
// moderators learn what was reported, not who reported it.
func (s *Service) Flag(actingHost string, target *federation.Account, statusURIs []string, comment string) (*federation.ReportForward, error) {
	if target.Remote == nil {
		return nil, errs.E(errs.Invalid, "only reports of remote accounts are forwarded")
	}
	scheme := s.Scheme
	if scheme == "" {
		scheme = "https"
	}
	instance := federation.NewLinks(scheme, actingHost, 0).InstanceActor()
	id := instance + "#flags/" + ap.NewToken()
	objects := append([]string{target.Remote.URI}, statusURIs...)
	body, err := json.Marshal(map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       id,
		"type":     "Flag",
		"actor":    instance,
		"content":  comment,
		"object":   objects,
		"to":       []string{target.Remote.URI},
	})
	if err != nil {
		return nil, fmt.Errorf("encode flag: %w", err)
	}
	inbox := target.Remote.SharedInbox
	if inbox == "" {
		inbox = target.Remote.Inbox
	}
	return &federation.ReportForward{ActingHost: actingHost, ActivityID: id, Inbox: inbox, Body: body}, nil
}

// ForwardReport sends a report's Flag (see Flag) at once, straight
// through the safe client, for a moderator who forwards a report by hand;
// it returns an error when the server did not take it. The client API
// queues its forwards as deliveries instead (federation/social/report).
func (s *Service) ForwardReport(ctx context.Context, actingHost string, target *federation.Account, statusURIs []string, comment string) error {
	f, err := s.Flag(actingHost, target, statusURIs, comment)
	if err != nil {
		return err
	}
	status, err := s.Fetch.Post(federation.WithActingHost(ctx, actingHost), f.Inbox, f.Body, s.Keys.Sign)
	if err != nil {
		return err
	}
	if status < 200 || status > 299 {
		return errs.E(errs.Unavailable, "%s answered the report with status %d", ap.HostOf(f.Inbox), status)
	}
	return nil
}
