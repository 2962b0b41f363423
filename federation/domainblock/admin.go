package domainblock

import "time"

// The types below are what the federation and queue pages of the
// dashboard show; they live here, beside the blocks, so the store
// (federation/postgres) and the pages (api/admin) share them without
// either importing the other.

// Import is one applied block list.
type Import struct {
	ID, TenantID   int64
	Source         string
	Email          string
	Added, Changed int
	CreatedAt      time.Time
	UndoneAt       *time.Time
}

// By says who applies an import (UserID 0: a subscription refresh).
type By struct {
	UserID int64
	Email  string
}

// UndoResult counts what an undo did; Skipped rows were changed by hand
// or by a later import since, and are left as they are.
type UndoResult struct {
	Removed, Restored, Skipped int
}

// Subscription is a block list followed by URL.
type Subscription struct {
	ID, TenantID int64
	URL          string
	CreatedAt    time.Time
	LastFetchAt  *time.Time
	NextFetchAt  time.Time
	ETag         string
	LastError    string
	LastImportID int64
}

// Host is a remote host as the federation pages show it. Counts are for
// the viewing scope: the instance, or one tenant's accounts.
type Host struct {
	Host                string
	Software, Version   string
	NodeInfoFetchedAt   *time.Time
	NodeInfoError       string
	Accounts            int64 // remote accounts known on it
	WeFollow, FollowUs  int64
	LastDeliveredAt     *time.Time
	LastFailureAt       *time.Time
	LastError           string
	ConsecutiveFailures int
	BreakerUntil        *time.Time
	Pending, Failed     int64
	Blocked             *Verdict
}

// HostState is a worker's view of a host after deliveries to it.
type HostState struct {
	Host                string
	Delivered           bool // the last attempt succeeded
	Error               string
	ConsecutiveFailures int
	BreakerUntil        time.Time
	At                  time.Time
}

// Delivery is one row of the queue pages.
type Delivery struct {
	ID            int64
	TenantID      int64
	Sender        string
	Inbox, Host   string
	ActivityID    string
	State         string
	Attempts      int
	LastStatus    int
	LastError     string
	CreatedAt     time.Time
	NextAttemptAt time.Time
}

// QueueCounts are the delivery table's numbers.
type QueueCounts struct {
	Pending, Due, Failed, Failed24h int64
	OldestDue                       *time.Time
}

// Lane is one Redis stream of the delivery queue.
type Lane struct {
	Name    string
	Length  int64
	Pending int64 // delivered to a consumer, not yet acknowledged (XPENDING)
	// OldestPending is the age of the oldest unacknowledged entry.
	OldestPending time.Duration
}

// Worker is a delivery worker that reported in recently.
type Worker struct {
	Name     string
	LastSeen time.Time
}

// Streams is the Redis side of the queue.
type Streams struct {
	Lanes   []Lane
	Workers []Worker
}
