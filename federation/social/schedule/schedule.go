// Package schedule is the use case of scheduled posts: a post its author
// asks to publish later (POST /api/v1/statuses with scheduled_at) is kept,
// listed, moved or cancelled, and published when due by `roost work`
// (Pass) through the same outbox as any post — once, whatever workers run
// or restart, because publishing consumes the scheduled row in the
// status's own transaction.
package schedule

import (
	"context"
	"log/slog"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// Mastodon's rules.
const (
	// MinAhead is how far ahead a post must be scheduled.
	MinAhead = 5 * time.Minute
	// MaxTotal and MaxPerDay bound an account's scheduled posts.
	MaxTotal  = 300
	MaxPerDay = 25
)

// Poster checks and publishes posts (federation/outbox.Service).
type Poster interface {
	// CheckScheduled applies the posting rules to a post to schedule.
	CheckScheduled(p federation.ScheduledParams, media int) error
	// PostScheduled publishes a due post, consuming its scheduled row in
	// the status's transaction (errs.Conflict: already published).
	PostScheduled(ctx context.Context, author *federation.Account, st federation.ScheduledStatus,
		inReplyToURI string, media []federation.Attachment) (*federation.Status, error)
}

// Service is the scheduled posts use case.
type Service struct {
	Store  federation.ScheduleStore
	Poster Poster
	// Due reads what publishing needs: the author, the reply's parent,
	// the uploads.
	Due Due
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	Log *slog.Logger
}

var limits = federation.ScheduleLimits{Total: MaxTotal, PerDay: MaxPerDay}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// checkAt refuses a time less than MinAhead away, as Mastodon does (422).
func (s *Service) checkAt(at time.Time) error {
	if at.Before(s.now().Add(MinAhead)) {
		return errs.E(errs.Invalid, "Validation failed: Scheduled at The scheduled date must be in the future")
	}
	return nil
}

// Schedule keeps a settled post of me for at, with its uploads (their
// ids in p.MediaIDs, already checked as me's own and free) reserved.
func (s *Service) Schedule(ctx context.Context, me *federation.Account, at time.Time, p federation.ScheduledParams) (*federation.ScheduledStatus, error) {
	if err := s.checkAt(at); err != nil {
		return nil, err
	}
	if err := s.Poster.CheckScheduled(p, len(p.MediaIDs)); err != nil {
		return nil, err
	}
	return s.Store.Schedule(ctx, federation.ScheduledStatus{AccountID: me.ID, TenantID: me.TenantID,
		ScheduledAt: at.UTC().Truncate(time.Second), Params: p}, limits)
}

// List pages me's scheduled posts.
func (s *Service) List(ctx context.Context, me *federation.Account, p federation.Page) ([]federation.ScheduledStatus, error) {
	return s.Store.ScheduledStatuses(ctx, me.ID, p)
}

// Get returns one of me's scheduled posts; any other is NotFound.
func (s *Service) Get(ctx context.Context, me *federation.Account, id int64) (*federation.ScheduledStatus, error) {
	return s.Store.ScheduledStatus(ctx, me.ID, id)
}

// Reschedule moves one of me's scheduled posts to at.
func (s *Service) Reschedule(ctx context.Context, me *federation.Account, id int64, at time.Time) (*federation.ScheduledStatus, error) {
	if err := s.checkAt(at); err != nil {
		return nil, err
	}
	return s.Store.Reschedule(ctx, me.ID, id, at.UTC().Truncate(time.Second), limits)
}

// Cancel deletes one of me's scheduled posts, freeing its uploads.
func (s *Service) Cancel(ctx context.Context, me *federation.Account, id int64) error {
	return s.Store.CancelScheduled(ctx, me.ID, id)
}
