package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/internal/pgutil"
)

// NotifyEndedPolls sends the "poll" notifications of up to limit polls
// that have ended (migrations/017_poll_ended.sql): to each poll's local
// author and local voters, once. Due polls are claimed FOR UPDATE SKIP
// LOCKED and marked in the same transaction, so concurrent workers never
// notify twice. now is the clock to judge by; nil uses the database's, so
// every worker agrees whatever its own clock. It returns how many polls it
// handled (limit means more may be due).
func (s *Store) NotifyEndedPolls(ctx context.Context, now *time.Time, limit int) (int, error) {
	if limit <= 0 {
		limit = 100
	}
	n := 0
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		n = 0
		rows, err := tx.Query(ctx, `with due as (
				select status_id from poll_endings
				where notified_at is null and ends_at <= coalesce($1::timestamptz, now())
				order by ends_at limit $2
				for update skip locked)
			update poll_endings p set notified_at = now() from due
			where p.status_id = due.status_id
			returning p.status_id`, now, limit)
		if err != nil {
			return fmt.Errorf("ended polls: %w", err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("ended polls: %w", err)
		}
		for _, id := range ids {
			if _, err := tx.Exec(ctx, `select notify_poll_ended($1)`, id); err != nil {
				return fmt.Errorf("poll %d ended: %w", id, err)
			}
		}
		n = len(ids)
		return nil
	})
	return n, err
}
