package federation

import (
	"context"
	"time"
)

// Follow states.
const (
	FollowPending  = "pending"
	FollowAccepted = "accepted"
)

// Follow is one actor following another; either side may be local.
type Follow struct {
	ID         int64
	FollowerID int64
	FolloweeID int64
	State      string
	URI        string // the Follow activity's id
	CreatedAt  time.Time
}

// FollowStore persists follows.
type FollowStore interface {
	// CreateFollow records a follow, or returns the existing one for the
	// same pair (created=false).
	CreateFollow(ctx context.Context, followerID, followeeID int64, uri, state string) (f *Follow, created bool, err error)
	// DeleteFollow removes the pair's follow; it reports whether one existed.
	DeleteFollow(ctx context.Context, followerID, followeeID int64) (bool, error)
	// AcceptFollow marks the follow with this activity id, towards
	// followeeID, accepted; it reports whether one matched.
	AcceptFollow(ctx context.Context, uri string, followeeID int64) (bool, error)
	// FollowBetween returns the pair's follow, or errs.NotFound.
	FollowBetween(ctx context.Context, followerID, followeeID int64) (*Follow, error)
}

// Delivery is one (activity, remote inbox) pair to send.
type Delivery struct {
	ID            int64
	SenderID      int64
	ActivityID    string
	Inbox         string
	Host          string
	Body          []byte
	Express       bool
	State         string
	Attempts      int
	NextAttemptAt time.Time
	CreatedAt     time.Time
	// Leased is set by LoadDeliveries when this caller holds the row.
	Leased bool
	// ActingHost, when set, names the site whose instance actor signs
	// this delivery instead of the sender (a forwarded report's Flag:
	// the remote moderators learn what was reported, not who reported).
	ActingHost string
}

// DeliveryStore is the durable side of the delivery pipeline.
type DeliveryStore interface {
	// AddDeliveries records one pending delivery per inbox (deduplicated)
	// and returns the ids of the rows it created.
	AddDeliveries(ctx context.Context, senderID int64, activityID string, body []byte, inboxes []string, express bool) ([]int64, error)
	// Delivery loads a delivery with its sender's key, or errs.NotFound.
	Delivery(ctx context.Context, id int64) (*Delivery, *Account, error)
	// LoadDeliveries loads a batch (ids not found are absent), with the
	// senders by id, and leases the due pending ones for lease: a leased
	// row (Leased set) is this caller's to attempt; other workers and
	// sweepers leave it alone until the lease runs out. now is the
	// caller's clock, against which rows are due.
	LoadDeliveries(ctx context.Context, ids []int64, now time.Time, lease time.Duration) (map[int64]*Delivery, map[int64]*Account, error)
	// ClaimDeliveries leases up to n due pending rows fairly across
	// tenants (round-robin from the tenant cursor after, express first
	// within each tenant's share), in the order to attempt them, and
	// returns the cursor for the next claim.
	ClaimDeliveries(ctx context.Context, after int64, n int, now time.Time, lease time.Duration) ([]*Delivery, map[int64]*Account, int64, error)
	// Unlease gives a leased row back unattempted, due at at.
	Unlease(ctx context.Context, id int64, at time.Time) error
	// MarkDelivered records a successful attempt.
	MarkDelivered(ctx context.Context, id int64, status int) error
	// MarkDeliveredBatch records many successful attempts at once.
	MarkDeliveredBatch(ctx context.Context, ids []int64, statuses []int) error
	// MarkFailed records a failed attempt: pending again at next, or
	// failed for good when next is zero.
	MarkFailed(ctx context.Context, id int64, status int, reason string, next time.Time) error
	// DueDeliveries lists pending deliveries whose attempt time has come,
	// oldest first, for the sweeper.
	DueDeliveries(ctx context.Context, before time.Time, limit int) ([]int64, error)
}

// DeliveryState summarises where one activity's deliveries stand, per
// remote host, for operators.
type DeliveryState struct {
	Host      string
	Delivered int
	Pending   int
	Failed    int
	LastError string // the most recent error among pending or failed rows
}

// DeliveryReporter answers delivery-state questions.
type DeliveryReporter interface {
	// DeliveryStates reports an activity's deliveries by host.
	DeliveryStates(ctx context.Context, activityID string) ([]DeliveryState, error)
}
