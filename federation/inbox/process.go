package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/federation/actors"
	"github.com/roost-social/roost/federation/domainblock"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/jobs"
)

// Processor applies queued activities, tenant by tenant.
type Processor struct {
	Items    federation.InboxStore
	Follows  federation.FollowStore
	Actors   federation.RemoteActorStore
	Statuses federation.StatusStore
	Social   federation.SocialStore
	// Movers lists local followers for Move.
	Movers FollowersOf
	// Keys fetches actors and objects the activity only names.
	Keys   *actors.Keys
	Locals federation.Locals
	Send   federation.Sender
	Log    *slog.Logger
	// MaxAttempts bounds retries of an item that keeps failing (default 10).
	MaxAttempts int
	// Blocks are the domain blocks in force: items from a domain suspended
	// since they were queued are dropped, Flags from one rejecting reports
	// ignored, and media of one rejecting media not kept.
	Blocks Policy
	// ActingHost names the host whose instance actor signs the fetches
	// made while applying a tenant's items (objects an Announce names, a
	// Move's target): servers with authorized fetch (GoToSocial,
	// Mastodon's secure mode) answer unsigned GETs with 401. "" or nil
	// leaves fetches unsigned.
	ActingHost func(ctx context.Context, tenantID int64) string
	// Quotes answers and records quote posts (quote.go); zero: none.
	Quotes QuotePorts
	// Tombstones remember Deletes that arrived before their post, which
	// is then not stored when it comes (statuses.go); nil: not remembered.
	Tombstones federation.Tombstones

	// cursor is the tenant the next fair claim starts after (issue 20).
	cursor atomic.Int64
}

// Run processes items until ctx ends, polling when the queue is empty.
// While the database fails (down, restarting) it backs off, doubling to
// ten seconds with jitter, and resumes on its own: no busy loop, no exit,
// and items it had leased come back when their lease ends.
func (p *Processor) Run(ctx context.Context) {
	backoff := jobs.Backoff{Min: 200 * time.Millisecond, Max: 10 * time.Second, Jitter: jobs.DefaultJitter}
	for ctx.Err() == nil {
		n, err := p.Once(ctx, 64)
		switch {
		case err != nil:
			wait := backoff.Next()
			p.Log.Warn("processing inbox items", "err", err, "retry_in", wait)
			sleep(ctx, wait)
		case n == 0:
			backoff.Reset()
			sleep(ctx, 200*time.Millisecond)
		default:
			backoff.Reset()
		}
	}
}

// Once claims and processes one batch, returning how many it claimed. An
// item whose outcome cannot be recorded stays leased: it is applied again
// when its lease ends (applying is idempotent), and Once returns that
// error after finishing the rest of the batch, so Run backs off.
func (p *Processor) Once(ctx context.Context, limit int) (int, error) {
	items, next, err := p.Items.ClaimInboxItems(ctx, p.cursor.Load(), limit, time.Minute)
	if err != nil {
		return 0, fmt.Errorf("claim inbox items: %w", err)
	}
	p.cursor.Store(next)
	var failed []error
	for _, it := range items {
		done, reason := p.outcome(ctx, it, p.apply(ctx, it))
		if !done {
			continue
		}
		if err := p.Items.FinishInboxItem(ctx, it.ID, reason); err != nil {
			failed = append(failed, fmt.Errorf("finish inbox item %d: %w", it.ID, err))
		}
	}
	return len(items), errors.Join(failed...)
}

// outcome logs what applying an item did and says whether the item is
// done (with the reason to record; "" when applied) or left for a retry.
func (p *Processor) outcome(ctx context.Context, it federation.InboxItem, err error) (done bool, reason string) {
	switch {
	case err == nil:
		return true, ""
	case errs.CodeOf(err) != errs.Internal && errs.CodeOf(err) != errs.Unavailable:
		// Unavailable (a fetch the activity needed timed out or was
		// answered 5xx: its origin overloaded or restarting) passes, and is
		// retried below like an internal failure (issue 19, finding 10).
		// Not applicable (unknown target, unsupported type): done. An
		// unknown target is everyday traffic (Deletes of accounts never
		// seen here); anything else is worth an operator's eye.
		level := slog.LevelInfo
		if errs.CodeOf(err) == errs.NotFound {
			level = slog.LevelDebug
		}
		p.Log.Log(ctx, level, "inbox item not applied", "id", it.ID, "activity", it.ActivityID, "reason", errs.MessageOf(err))
		return true, errs.MessageOf(err)
	case it.Attempts >= p.maxAttempts():
		p.Log.Warn("inbox item failed for good", "id", it.ID, "activity", it.ActivityID, "err", err)
		return true, err.Error()
	default:
		p.Log.Warn("inbox item failed; will retry", "id", it.ID, "activity", it.ActivityID, "err", err)
		return false, ""
	}
}

func (p *Processor) maxAttempts() int {
	if p.MaxAttempts > 0 {
		return p.MaxAttempts
	}
	return 10
}

// apply dispatches on the activity type.
func (p *Processor) apply(ctx context.Context, it federation.InboxItem) error {
	var m map[string]any
	if err := json.Unmarshal(it.Activity, &m); err != nil {
		return errs.E(errs.Invalid, "stored activity is not JSON")
	}
	env, err := ap.ParseActivity(it.Activity)
	if err != nil {
		return err
	}
	actor, err := p.Actors.RemoteActorByURI(ctx, it.ActorURI)
	if err != nil {
		return err
	}
	if p.ActingHost != nil && federation.ActingHost(ctx) == "" {
		if host := p.ActingHost(ctx, it.TenantID); host != "" {
			ctx = federation.WithActingHost(ctx, host)
		}
	}
	a := &activity{Processor: p, item: it, doc: m, env: env, actor: actor}
	if p.Blocks != nil {
		a.verdict = p.Blocks.Check(it.TenantID, ap.HostOf(it.ActorURI))
	}
	switch {
	case a.verdict.Suspend:
		return errs.E(errs.Forbidden, "dropped: the sender's domain is suspended")
	case env.Type == "Flag" && a.verdict.RejectReports:
		return errs.E(errs.Forbidden, "ignored: reports from the sender's domain are rejected")
	}
	switch env.Type {
	case "Follow":
		return a.follow(ctx)
	case "Undo":
		return a.undo(ctx)
	case "Accept", "Reject":
		if done, err := a.quoteAnswer(ctx, env.Type == "Accept"); done { // quote.go
			return err
		}
		return a.answer(ctx, env.Type == "Accept")
	case "QuoteRequest":
		return a.quoteRequest(ctx) // quote.go
	case "Create":
		return a.create(ctx)
	case "Update":
		return a.update(ctx)
	case "Delete":
		return a.delete(ctx)
	case "Like", "EmojiReact":
		return a.like(ctx)
	case "Announce":
		return a.announce(ctx)
	case "Block":
		return a.block(ctx)
	case "Flag":
		return a.flag(ctx)
	case "Move":
		return a.move(ctx)
	}
	return errs.E(errs.Invalid, "activity type %q is not handled yet", env.Type)
}

// activity is one item being applied.
type activity struct {
	*Processor
	item  federation.InboxItem
	doc   map[string]any
	env   *ap.Activity
	actor *federation.Account
	// verdict is what the domain blocks say of the sender's domain.
	verdict domainblock.Verdict
}

// follow records a remote actor following a local account and, unless the
// account approves followers by hand, answers with Accept.
func (a *activity) follow(ctx context.Context) error {
	target, err := a.Locals.ByURI(ctx, a.item.TenantID, idOf(a.doc["object"]))
	if err != nil {
		return err
	}
	state := federation.FollowAccepted
	if target.Locked {
		state = federation.FollowPending
	}
	f, _, err := a.Follows.CreateFollow(ctx, a.actor.ID, target.ID, a.item.ActivityID, state)
	if err != nil {
		return err
	}
	if f.State != federation.FollowAccepted {
		return nil // a follow request, answered when the owner decides
	}
	return a.sendAccept(ctx, target, f)
}

func (a *activity) sendAccept(ctx context.Context, target *federation.Account, f *federation.Follow) error {
	links, err := a.Locals.Links(ctx, target)
	if err != nil {
		return err
	}
	me := links.Actor(target.Username)
	id := fmt.Sprintf("%s#accepts/follows/%d", me, f.ID)
	body, err := json.Marshal(map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       id,
		"type":     "Accept",
		"actor":    me,
		"object": map[string]any{
			"id": f.URI, "type": "Follow", "actor": a.actor.Remote.URI, "object": me,
		},
	})
	if err != nil {
		return err
	}
	return a.Send.Send(ctx, target.ID, id, body, []string{a.actor.Remote.Inbox}, true)
}

// undo reverses the actor's own earlier activity; Undo(Follow) for now.
func (a *activity) undo(ctx context.Context) error {
	inner, ok := a.doc["object"].(map[string]any)
	if !ok {
		return errs.E(errs.Invalid, "Undo without an embedded object is not handled")
	}
	if idOf(inner["actor"]) != a.actor.Remote.URI {
		return errs.E(errs.Forbidden, "an actor can only undo its own activities")
	}
	switch typeOf(inner) {
	case "Follow":
		target, err := a.Locals.ByURI(ctx, a.item.TenantID, idOf(inner["object"]))
		if err != nil {
			return err
		}
		_, err = a.Follows.DeleteFollow(ctx, a.actor.ID, target.ID)
		return err
	case "Like", "EmojiReact":
		return a.unlike(ctx, inner)
	case "Announce":
		_, err := a.Statuses.DeleteStatusByURI(ctx, idOf(inner["id"]), a.actor.ID)
		return err
	case "Block":
		target, err := a.Locals.ByURI(ctx, a.item.TenantID, idOf(inner["object"]))
		if err != nil {
			return err
		}
		_, err = a.Social.Unblock(ctx, a.actor.ID, target.ID)
		return err
	}
	return errs.E(errs.Invalid, "Undo of %q is not handled yet", typeOf(inner))
}

// answer applies Accept or Reject of one of our follows by its followee.
func (a *activity) answer(ctx context.Context, accepted bool) error {
	followID := idOf(a.doc["object"])
	if followID == "" {
		return errs.E(errs.Invalid, "Accept/Reject without an object")
	}
	if accepted {
		ok, err := a.Follows.AcceptFollow(ctx, followID, a.actor.ID)
		if err == nil && !ok {
			return errs.E(errs.NotFound, "no follow %s towards this actor", followID)
		}
		return err
	}
	inner, _ := a.doc["object"].(map[string]any)
	local, err := a.Locals.ByURI(ctx, a.item.TenantID, idOf(inner["actor"]))
	if err != nil {
		return err
	}
	_, err = a.Follows.DeleteFollow(ctx, local.ID, a.actor.ID)
	return err
}

func typeOf(m map[string]any) string {
	switch t := m["type"].(type) {
	case string:
		return t
	case []any:
		if len(t) > 0 {
			s, _ := t[0].(string)
			return s
		}
	}
	return ""
}

func idOf(v any) string { return actorID(v) }

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
