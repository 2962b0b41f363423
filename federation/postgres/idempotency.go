package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/internal/errs"
)

// rememberKey records a post's Idempotency-Key in the transaction that
// stores the post (soak finding 2): remembered after commit, as it was, a
// web node killed or a database restarted between the two left a stored
// post whose key was never remembered, and the client's retry made a
// second post. The insert waits for a concurrent request holding the same
// key; if that one committed, this one rolls back and asks the client to
// retry, which then gets the first post (status.Compose replays it).
func rememberKey(ctx context.Context, tx pgx.Tx, key string, accountID, statusID int64) error {
	if key == "" {
		return nil
	}
	tag, err := tx.Exec(ctx, `insert into status_idempotency (account_id, key, status_id) values ($1, $2, $3)
		on conflict (account_id, key) do nothing`, accountID, key, statusID)
	if err != nil {
		return fmt.Errorf("remember idempotency key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return errs.E(errs.Unavailable, "a post with this Idempotency-Key was just made; retry to get it")
	}
	return nil
}
