package federation

import "context"

// BoostFinder finds a boost by its Announce id, with the post it boosts,
// so the id can be fetched as the Announce it is (errs.NotFound: no
// boost has that id).
type BoostFinder interface {
	BoostByURI(ctx context.Context, uri string) (boost, of *Status, err error)
}

// OwnActivities keeps the ids a local account's boosts, likes and blocks
// were sent with, so every such activity has an id of its own and the
// Undo of one carries the id that was sent.
type OwnActivities interface {
	// BoostBy is accountID's boost of status ofID, or errs.NotFound.
	BoostBy(ctx context.Context, accountID, ofID int64) (*Status, error)
	// LocalBoost records accountID's boost of ofID (r, whose URI uriFor
	// makes from the boost's own id) unless there is one already, which
	// it answers with created false. The booster must be able to see
	// ofID (errs.NotFound otherwise).
	LocalBoost(ctx context.Context, r *Status, ofID int64, uriFor func(id int64) string) (boost *Status, created bool, err error)
	// LikeURI and BlockURI are the ids the account's like of a status and
	// block of an account were sent with ("" when none was recorded).
	LikeURI(ctx context.Context, accountID, statusID int64) (string, error)
	BlockURI(ctx context.Context, accountID, targetID int64) (string, error)
}
