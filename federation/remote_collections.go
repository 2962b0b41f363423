package federation

import (
	"context"
	"time"
)

// CollectionCounts are the totalItems a remote actor's collections
// state; nil where the collection could not be read (its count is kept).
type CollectionCounts struct {
	Statuses, Followers, Following *int64
}

// RemoteCollections records what a remote actor's collections say.
type RemoteCollections interface {
	// ClaimCollectionsFetch reports whether the account's collections may
	// be read now (not read since now-every), and if so marks them read
	// at now: one reader per account per interval across all nodes.
	ClaimCollectionsFetch(ctx context.Context, accountID int64, now time.Time, every time.Duration) (bool, error)
	// SetRemoteCounts stores a remote account's counts (nil: unchanged).
	SetRemoteCounts(ctx context.Context, accountID int64, c CollectionCounts) error
}
