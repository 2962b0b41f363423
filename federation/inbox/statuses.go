package inbox

import (
	"context"
	"time"

	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/internal/errs"
)

// object returns the activity's object document: embedded, or fetched
// through the safe client when only its id was sent.
func (a *activity) object(ctx context.Context) ([]byte, error) {
	if a.env.ObjectDoc != nil {
		return a.env.ObjectDoc, nil
	}
	if a.env.ObjectID == "" || a.Keys == nil {
		return nil, errs.E(errs.Invalid, "the activity has no object")
	}
	doc, _, err := a.Keys.Fetch.GetActivity(ctx, a.env.ObjectID, a.Keys.Sign)
	return doc, err
}

// create stores a post by the activity's actor (SECURITY 7: a Create
// whose object is attributed to anyone else is refused) and puts it in the
// home feeds of its followers on this tenant.
func (a *activity) create(ctx context.Context) error {
	doc, err := a.object(ctx)
	if err != nil {
		return err
	}
	// A vote on one of our polls is a Note too (see votes.go).
	if counted, err := a.vote(ctx, doc); counted {
		return err
	}
	st, author, err := ap.ParseStatus(doc, a.actor.Remote.Followers)
	if err != nil {
		return err
	}
	a.rejectMedia(st)
	if author == "" {
		author = a.actor.Remote.URI // no attributedTo: the actor's, on its host
	}
	if author != a.actor.Remote.URI || ap.HostOf(st.URI) != ap.HostOf(a.actor.Remote.URI) {
		return errs.E(errs.Forbidden, "the object is not the actor's own")
	}
	st.AccountID = a.actor.ID
	if late, err := a.outOfOrder(ctx, st); late || err != nil {
		return err
	}
	saved, err := a.Statuses.UpsertRemoteStatus(ctx, st)
	if err != nil {
		return err
	}
	if err := a.Social.AddMentions(ctx, saved.ID, a.mentionIDs(ctx, st.Mentions)); err != nil {
		return err
	}
	if err := a.quotePost(ctx, doc, saved); err != nil { // quote.go
		return err
	}
	return a.Social.AddToHomeFeeds(ctx, saved.ID, a.actor.ID, a.item.TenantID)
}

// mentionIDs resolves mentioned actor URIs to the accounts we know: this
// tenant's local accounts (each tenant's inbox adds its own) and cached
// remote actors. Unknown actors are not fetched for a mention.
func (a *activity) mentionIDs(ctx context.Context, uris []string) []int64 {
	var ids []int64
	for _, u := range uris {
		if acct, err := a.Locals.ByURI(ctx, a.item.TenantID, u); err == nil {
			ids = append(ids, acct.ID)
		} else if acct, err := a.Actors.RemoteActorByURI(ctx, u); err == nil {
			ids = append(ids, acct.ID)
		}
	}
	return ids
}

// update applies an edit of the actor's own post, or of the actor itself.
func (a *activity) update(ctx context.Context) error {
	doc, err := a.object(ctx)
	if err != nil {
		return err
	}
	if a.env.ObjectID == a.actor.Remote.URI {
		actor, err := ap.ParseActor(doc, time.Now())
		if err != nil {
			return err
		}
		if actor.Remote.URI != a.actor.Remote.URI {
			return errs.E(errs.Forbidden, "an actor can only update itself")
		}
		_, err = a.Actors.UpsertRemoteActor(ctx, actor)
		return err
	}
	st, author, err := ap.ParseStatus(doc, a.actor.Remote.Followers)
	if err != nil {
		return err
	}
	a.rejectMedia(st)
	if author == "" && ap.HostOf(st.URI) == ap.HostOf(a.actor.Remote.URI) {
		author = a.actor.Remote.URI
	}
	if author != a.actor.Remote.URI {
		return errs.E(errs.Forbidden, "an actor can only update its own posts")
	}
	old, err := a.Statuses.StatusByURI(ctx, st.URI)
	if errs.Is(err, errs.NotFound) {
		// An edit of a post not here yet: its Create may still be on its
		// way (retried deliveries arrive out of order). The Update carries
		// the whole post; it is stored as its Create would have been, and
		// the late Create, older, is then dropped (outOfOrder).
		return a.create(ctx)
	}
	if err != nil {
		return err
	}
	if old.AccountID != a.actor.ID {
		return errs.E(errs.Forbidden, "an actor can only update its own posts")
	}
	if old.EditedAt != nil && st.EditedAt != nil && !st.EditedAt.After(*old.EditedAt) {
		return nil // an older edit behind a newer one already applied
	}
	st.AccountID = a.actor.ID
	saved, err := a.Statuses.UpsertRemoteStatus(ctx, st)
	if err != nil {
		return err
	}
	return a.quotePost(ctx, doc, saved) // quote.go
}

// delete removes the actor's post, or, for Delete(Person) of the actor
// itself, the actor and everything of theirs.
func (a *activity) delete(ctx context.Context) error {
	if a.env.ObjectID == a.actor.Remote.URI {
		return a.Social.DeleteRemoteActor(ctx, a.actor.ID)
	}
	if done, err := a.deleteStamp(ctx); done { // quote.go
		return err
	}
	ok, err := a.Statuses.DeleteStatusByURI(ctx, a.env.ObjectID, a.actor.ID)
	if err == nil && !ok {
		// Not here: never sent to us, or its Create is still on its way.
		// Remembered (a post on the actor's own host only), so that the
		// late Create does not bring back what its author deleted.
		if a.Tombstones != nil && ap.HostOf(a.env.ObjectID) == ap.HostOf(a.actor.Remote.URI) {
			return a.Tombstones.Bury(ctx, a.actor.ID, a.env.ObjectID)
		}
		return errs.E(errs.NotFound, "no post %s of this actor", a.env.ObjectID)
	}
	return err
}

// outOfOrder reports whether a Create (or an Update stored as one) came
// after what it would undo (soak finding 3): its author deleted the post
// before it arrived, or a newer edit of it is already stored.
func (a *activity) outOfOrder(ctx context.Context, st *federation.Status) (bool, error) {
	if a.Tombstones != nil {
		if buried, err := a.Tombstones.Buried(ctx, a.actor.ID, st.URI); err != nil || buried {
			return buried, err
		}
	}
	old, err := a.Statuses.StatusByURI(ctx, st.URI)
	if errs.Is(err, errs.NotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return old.AccountID == a.actor.ID && old.EditedAt != nil && (st.EditedAt == nil || !st.EditedAt.After(*old.EditedAt)), nil
}

// like records a like of a known status.
func (a *activity) like(ctx context.Context) error {
	st, err := a.Statuses.StatusByURI(ctx, a.env.ObjectID)
	if err != nil {
		return err
	}
	return a.Social.Favourite(ctx, a.actor.ID, st.ID, a.env.ID)
}

func (a *activity) unlike(ctx context.Context, inner map[string]any) error {
	var statusID int64
	if st, err := a.Statuses.StatusByURI(ctx, idOf(inner["object"])); err == nil {
		statusID = st.ID
	}
	_, err := a.Social.Unfavourite(ctx, a.actor.ID, idOf(inner["id"]), statusID)
	return err
}

// announce records a boost of a known (or fetched) status.
func (a *activity) announce(ctx context.Context) error {
	orig, err := a.Statuses.StatusByURI(ctx, a.env.ObjectID)
	if errs.Is(err, errs.NotFound) {
		orig, err = a.fetchStatus(ctx)
	}
	if err != nil {
		return err
	}
	r := &federation.Status{
		AccountID: a.actor.ID, URI: a.env.ID, To: a.env.To, Cc: a.env.Cc,
		Visibility: ap.VisibilityOf(a.env.To, a.env.Cc, a.actor.Remote.Followers), Published: time.Now(),
	}
	if r.URI == "" {
		return errs.E(errs.Invalid, "an Announce needs an id")
	}
	saved, err := a.Social.Reblog(ctx, r, orig.ID)
	if err != nil {
		return err
	}
	return a.Social.AddToHomeFeeds(ctx, saved.ID, a.actor.ID, a.item.TenantID)
}

// fetchStatus fetches an announced status from its origin and stores it
// under its author (fetched too when unknown).
func (a *activity) fetchStatus(ctx context.Context) (*federation.Status, error) {
	doc, err := a.object(ctx)
	if err != nil {
		return nil, err
	}
	st, author, err := ap.ParseStatus(doc, "")
	if err != nil {
		return nil, err
	}
	a.rejectMedia(st)
	if !ap.SameOrigin(st.URI, a.env.ObjectID) {
		return nil, errs.E(errs.Invalid, "the announced object claims another origin")
	}
	owner, err := a.Keys.Actor(ctx, author, false)
	if err != nil {
		return nil, err
	}
	st.AccountID = owner.ID
	return a.Statuses.UpsertRemoteStatus(ctx, st)
}

// block records a remote actor blocking a local account.
func (a *activity) block(ctx context.Context) error {
	target, err := a.Locals.ByURI(ctx, a.item.TenantID, a.env.ObjectID)
	if err != nil {
		return err
	}
	return a.Social.Block(ctx, a.actor.ID, target.ID, a.env.ID)
}

// flag stores a report for the tenant's moderators: the objects name the
// reported account (ours) and, optionally, posts.
func (a *activity) flag(ctx context.Context) error {
	r := federation.Report{TenantID: a.item.TenantID, ReporterID: a.actor.ID, URI: a.env.ID}
	r.Comment, _ = a.doc["content"].(string)
	for _, id := range ap.IDs(a.env.Object) {
		if acct, err := a.Locals.ByURI(ctx, a.item.TenantID, id); err == nil {
			r.TargetID = acct.ID
			continue
		}
		if st, err := a.Statuses.StatusByURI(ctx, id); err == nil {
			r.StatusURIs = append(r.StatusURIs, id)
			if r.TargetID == 0 && st.TenantID == a.item.TenantID {
				r.TargetID = st.AccountID
			}
		}
	}
	if r.TargetID == 0 {
		return errs.E(errs.NotFound, "the report names no account of this tenant")
	}
	r.Comment = ap.SanitizeHTML(r.Comment)
	return a.Social.AddReport(ctx, r)
}

// rejectMedia drops the attachments of a post from a domain whose media
// the instance rejects: they are never stored, so never shown or fetched.
// A tenant's own reject-media block is applied when that tenant's viewers
// are shown the post (api/mastodon): remote posts are stored once for the
// whole instance, so stripping them here would take the media away from
// every other tenant too.
func (a *activity) rejectMedia(st *federation.Status) {
	if a.Blocks != nil && a.Blocks.Check(0, ap.HostOf(st.URI)).RejectMedia {
		st.Attachments = nil
	}
}
