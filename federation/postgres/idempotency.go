package postgres

import (
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/roost-social/roost/internal/errs"
)

// queueRememberKey queues the insert that records a post's
// Idempotency-Key on the batch of the transaction that stores the post
// (soak finding 2): remembered after commit, as it was, a
// web node killed or a database restarted between the two left a stored
// post whose key was never remembered, and the client's retry made a
// second post. The insert waits for a concurrent request holding the same
// key; if that one committed, this one rolls back and asks the client to
// retry, which then gets the first post (status.Compose replays it).
func queueRememberKey(b *pgx.Batch, key string, accountID, statusID int64) {
	if key == "" {
		return
	}
	execChecked(b.Queue(sqlRememberKey, accountID, key, statusID), "remember idempotency key", func(tag pgconn.CommandTag) error {
		if tag.RowsAffected() == 0 {
			return errs.E(errs.Unavailable, "a post with this Idempotency-Key was just made; retry to get it")
		}
		return nil
	}) // publish_batch.go
}
