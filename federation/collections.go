package federation

import "context"

// ActorRef names an actor in a collection: a remote URI, or a local
// account's handle domain and username (its URI depends on its site).
type ActorRef struct {
	ID       int64
	URI      string // remote actors
	Domain   string // local accounts
	Username string
}

// CollectionStore pages through an account's public collections, newest
// first; maxID 0 starts at the newest.
type CollectionStore interface {
	// OutboxPage lists the account's public and unlisted statuses.
	OutboxPage(ctx context.Context, accountID, maxID int64, limit int) ([]*Status, int64, error)
	// FollowersPage and FollowingPage list accepted follows.
	FollowersPage(ctx context.Context, accountID, maxID int64, limit int) ([]ActorRef, int64, error)
	FollowingPage(ctx context.Context, accountID, maxID int64, limit int) ([]ActorRef, int64, error)
	// Featured lists the account's pinned posts (public or unlisted only),
	// most recently pinned first.
	Featured(ctx context.Context, accountID int64) ([]*Status, error)
	// FeaturedTags lists the hashtags the account features, oldest first.
	FeaturedTags(ctx context.Context, accountID int64) ([]FeaturedTag, error)
}
