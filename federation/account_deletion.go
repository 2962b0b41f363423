package federation

import (
	"context"
	"time"
)

// AccountDeletion is one local account its owner (or the operator)
// deleted. The row outlives the account: the name stays taken and the
// actor answers 410 Gone.
type AccountDeletion struct {
	AccountID   int64
	TenantID    int64
	Domain      string
	Username    string
	RequestedBy string
	RequestedAt time.Time
	// Announced is when Delete(Person) was queued; nil before.
	Announced *time.Time
	// Purged is when the account's rows were gone; nil before.
	Purged *time.Time
}

// AccountFiles are what one account keeps outside the database: media
// keys (originals and thumbnails) of some attachments, and archive zips.
type AccountFiles struct {
	MediaIDs []int64
	Keys     []string
	Paths    []string
}

// AccountDeletionStore keeps account deletions and removes a deleted
// account's rows in bounded batches (federation/postgres).
type AccountDeletionStore interface {
	// AccountByID loads an account (local or remote), or errs.NotFound.
	AccountByID(ctx context.Context, id int64) (*Account, error)
	// LoginPasswordHash is the password hash of the login owning a local
	// account (its oldest), or errs.NotFound.
	LoginPasswordHash(ctx context.Context, accountID int64) (string, error)
	// BeginAccountDeletion records the deletion, suspends the account at
	// its tenant's scope and revokes its tokens, in one transaction. It is
	// errs.Conflict when the account is already being deleted, or when no
	// other active account of its tenant would remain and keepOne is set.
	BeginAccountDeletion(ctx context.Context, d AccountDeletion, keepOne bool) error
	// AccountDeletionByName is the deletion of a name on one of the
	// tenant's domains, or errs.NotFound.
	AccountDeletionByName(ctx context.Context, tenantID int64, domain, username string) (*AccountDeletion, error)
	// DueAccountDeletions lists up to limit deletions not yet purged,
	// oldest first.
	DueAccountDeletions(ctx context.Context, limit int) ([]AccountDeletion, error)
	// AccountKnownInboxes lists the inboxes of every server that knows
	// the account, one per server where a shared inbox exists.
	AccountKnownInboxes(ctx context.Context, accountID int64) ([]string, error)
	// MarkAccountDeletionAnnounced records that Delete(Person) was queued.
	MarkAccountDeletionAnnounced(ctx context.Context, accountID int64) error
	// AccountFilesBatch lists up to limit of the account's media
	// attachments' keys, and its archive files.
	AccountFilesBatch(ctx context.Context, accountID int64, limit int) (AccountFiles, error)
	// ForgetAccountFiles removes the rows of files already removed.
	ForgetAccountFiles(ctx context.Context, accountID int64, f AccountFiles) error
	// PurgeAccountBatch removes up to limit rows of one of the account's
	// large tables (posts, follows, notifications, favourites, …) and
	// reports whether any were left to remove.
	PurgeAccountBatch(ctx context.Context, accountID int64, limit int) (more bool, err error)
	// PendingAccountDeliveries counts the account's deliveries not yet
	// done or given up (its Delete among them).
	PendingAccountDeliveries(ctx context.Context, accountID int64) (int64, error)
	// FinishAccountDeletion removes the account's row (what remains
	// cascades, all of it small once the batches are done) and its login
	// when it owns no other account, and marks the deletion purged.
	FinishAccountDeletion(ctx context.Context, accountID int64) error
}
