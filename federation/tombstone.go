package federation

import "context"

// Tombstones remember remote posts deleted by their authors before the
// post itself arrived (out-of-order deliveries), so that the late Create
// is not stored: a deleted post never comes back.
type Tombstones interface {
	// Bury remembers that accountID deleted uri, which is not stored here.
	Bury(ctx context.Context, accountID int64, uri string) error
	// Buried reports whether accountID deleted uri before it arrived.
	Buried(ctx context.Context, accountID int64, uri string) (bool, error)
}
