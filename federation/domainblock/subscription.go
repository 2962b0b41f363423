package domainblock

import (
	"context"
	"errors"
	"fmt"
	"github.com/roost-social/roost/internal/text"
	"log/slog"
	"time"

	"github.com/roost-social/roost/federation/fetch"
	"github.com/roost-social/roost/internal/errs"
)

// Subscription refresh timing and bounds.
const (
	// SubscriptionEvery is how often a subscribed block list is fetched.
	SubscriptionEvery = 6 * time.Hour
	// SubscriptionLease is how long a claimed subscription stays claimed
	// by one worker.
	SubscriptionLease = 10 * time.Minute
	// subscriptionBatch bounds the lists one pass fetches; the rest are
	// due still and taken by the next pass.
	subscriptionBatch = 100
	// maxSource bounds the import's source text (the list's URL).
	maxSource = 1900
)

// SubscriptionStore claims due subscriptions, records their fetches and
// applies their lists as imports (federation/postgres).
type SubscriptionStore interface {
	// ClaimDueSubscription takes the next due subscription for lease;
	// errs.NotFound when none is due.
	ClaimDueSubscription(ctx context.Context, now time.Time, lease time.Duration) (*Subscription, error)
	// RecordSubscriptionFetch stores a fetch's outcome and the next fetch.
	RecordSubscriptionFetch(ctx context.Context, id int64, at, next time.Time, etag, fetchErr string, importID int64) error
	// PreviewImport says what importing list into scope would change.
	PreviewImport(ctx context.Context, scope int64, list []Block) ([]Change, error)
	// ApplyImport applies list to scope as one undoable import.
	ApplyImport(ctx context.Context, scope int64, source string, by By, list []Block) (*Import, error)
}

// ListFetcher reads a block list from its URL (*fetch.Client: SSRF-safe
// dialer, caps, deadline).
type ListFetcher interface {
	GetJSON(ctx context.Context, rawURL, accept string, allowedTypes []string) ([]byte, error)
}

// Subscriptions refreshes subscribed block lists.
type Subscriptions struct {
	Store SubscriptionStore
	Fetch ListFetcher
	// Blocks is refreshed after a list changed something, so this node
	// enforces it at once (others within their Cache interval).
	Blocks interface {
		Refresh(ctx context.Context) error
	}
	Log *slog.Logger
	Now func() time.Time // time.Now when nil
}

// Pass fetches every due list (up to a batch) and applies each that
// changes something as one import, undoable from the blocks page. A list
// that fails is recorded with a safe reason and fetched again at its next
// turn; store errors are returned.
func (s *Subscriptions) Pass(ctx context.Context) error {
	var failed []error
	for range subscriptionBatch {
		if ctx.Err() != nil {
			break
		}
		sub, err := s.Store.ClaimDueSubscription(ctx, s.now(), SubscriptionLease)
		if errs.Is(err, errs.NotFound) {
			break
		}
		if err != nil {
			failed = append(failed, fmt.Errorf("claim block-list subscription: %w", err))
			break
		}
		if err := s.refresh(ctx, sub); err != nil {
			failed = append(failed, err)
		}
	}
	return errors.Join(failed...)
}

// refresh fetches and applies one list and records the outcome.
func (s *Subscriptions) refresh(ctx context.Context, sub *Subscription) error {
	importID, ferr := s.apply(ctx, sub)
	msg := ""
	if ferr != nil {
		msg = fetch.Reason(ferr) // tenants see it: no addresses (issue 14, finding 6)
		s.log().Warn("block-list subscription refresh failed", "url", sub.URL, "err", ferr)
	}
	now := s.now()
	if err := s.Store.RecordSubscriptionFetch(ctx, sub.ID, now, now.Add(SubscriptionEvery), "", msg, importID); err != nil {
		return fmt.Errorf("record block-list fetch of subscription %d: %w", sub.ID, err)
	}
	return nil
}

// apply returns the import's id, or 0 when the list changed nothing.
func (s *Subscriptions) apply(ctx context.Context, sub *Subscription) (int64, error) {
	body, err := s.Fetch.GetJSON(ctx, sub.URL, "text/csv, text/plain;q=0.9",
		[]string{"text/csv", "text/plain", "application/csv", "application/octet-stream"})
	if err != nil {
		return 0, err
	}
	list, err := ParseList(body)
	if err != nil {
		return 0, err
	}
	changes, err := s.Store.PreviewImport(ctx, sub.TenantID, list)
	if err != nil {
		return 0, err
	}
	changed := false
	for _, c := range changes {
		changed = changed || c.Kind != Unchanged
	}
	if !changed {
		return 0, nil
	}
	imp, err := s.Store.ApplyImport(ctx, sub.TenantID, "subscription "+text.Cut(sub.URL, maxSource), By{}, list)
	if err != nil {
		return 0, err
	}
	if s.Blocks == nil {
		return imp.ID, nil
	}
	return imp.ID, s.Blocks.Refresh(ctx)
}

func (s *Subscriptions) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *Subscriptions) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}
