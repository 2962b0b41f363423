package federation

import (
	"context"
	"time"
)

// ScheduledStatus is a post its author asked to publish later: kept until
// it is due, then published as if posted then, and gone.
type ScheduledStatus struct {
	ID          int64
	AccountID   int64
	TenantID    int64
	ScheduledAt time.Time
	Params      ScheduledParams
}

// ScheduledParams is what a scheduled post will publish, settled when it
// was scheduled (the author's defaults applied). The JSON names are
// Mastodon's ScheduledStatus params.
type ScheduledParams struct {
	Text          string         `json:"text"`
	SpoilerText   string         `json:"spoiler_text,omitempty"`
	Visibility    Visibility     `json:"visibility"`
	Sensitive     bool           `json:"sensitive"`
	Language      string         `json:"language,omitempty"`
	InReplyToID   int64          `json:"in_reply_to_id,omitempty"`
	MediaIDs      []int64        `json:"media_ids,omitempty"`
	Poll          *ScheduledPoll `json:"poll,omitempty"`
	ApplicationID int64          `json:"application_id,omitempty"`
	Idempotency   string         `json:"idempotency,omitempty"`
}

// ScheduledPoll is the poll a scheduled post will ask; it runs for
// ExpiresIn seconds from publication.
type ScheduledPoll struct {
	Options    []string `json:"options"`
	ExpiresIn  int64    `json:"expires_in"`
	Multiple   bool     `json:"multiple"`
	HideTotals bool     `json:"hide_totals"`
}

// ScheduleLimits bound an account's scheduled posts (Mastodon's: 300 in
// all, 25 on one UTC day).
type ScheduleLimits struct {
	Total, PerDay int
}

// ScheduleStore keeps scheduled posts, each account's apart.
type ScheduleStore interface {
	// Schedule stores a new scheduled post within limits (errs.Invalid
	// past them) and reserves its media (errs.Invalid when another
	// scheduled post holds one). A retry with the same Params.Idempotency
	// returns the first row.
	Schedule(ctx context.Context, st ScheduledStatus, limits ScheduleLimits) (*ScheduledStatus, error)
	// ScheduledStatuses pages an account's scheduled posts, newest id first.
	ScheduledStatuses(ctx context.Context, accountID int64, p Page) ([]ScheduledStatus, error)
	// ScheduledStatus finds one of the account's, or errs.NotFound.
	ScheduledStatus(ctx context.Context, accountID, id int64) (*ScheduledStatus, error)
	// Reschedule moves one of the account's to at, within limits.
	Reschedule(ctx context.Context, accountID, id int64, at time.Time, limits ScheduleLimits) (*ScheduledStatus, error)
	// CancelScheduled deletes one of the account's (errs.NotFound if none),
	// freeing its media.
	CancelScheduled(ctx context.Context, accountID, id int64) error
	// ClaimDueScheduled leases up to limit posts due by now that no other
	// worker holds (FOR UPDATE SKIP LOCKED) until now+lease.
	ClaimDueScheduled(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]ScheduledStatus, error)
	// DropScheduled deletes a scheduled post that can never be published.
	DropScheduled(ctx context.Context, id int64) error
}
