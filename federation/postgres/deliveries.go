package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/pgutil"
)

var _ federation.DeliveryStore = (*Store)(nil)

// AddDeliveries inserts one pending row per inbox; an (activity, inbox)
// pair already present is skipped, so retried fan-outs never duplicate.
func (s *Store) AddDeliveries(ctx context.Context, senderID int64, activityID string, body []byte, inboxes []string, express bool) ([]int64, error) {
	return addDeliveries(ctx, s.db, senderID, activityID, body, inboxes, express)
}

// Delivery loads a delivery and its (local) sender.
func (s *Store) Delivery(ctx context.Context, id int64) (*federation.Delivery, *federation.Account, error) {
	d := &federation.Delivery{ID: id}
	err := s.db.QueryRow(ctx, `select sender_id, activity_id, inbox_url, host, body, express, state, attempts, next_attempt_at, created_at
		from deliveries where id = $1`, id).
		Scan(&d.SenderID, &d.ActivityID, &d.Inbox, &d.Host, &d.Body, &d.Express, &d.State, &d.Attempts, &d.NextAttemptAt, &d.CreatedAt)
	if err != nil {
		return nil, nil, pgutil.NotFound(err, "no such delivery")
	}
	a, err := scanAccount(s.db.QueryRow(ctx, `select `+accountColumns+` from accounts where id = $1 and tenant_id is not null`, d.SenderID))
	if err != nil {
		return nil, nil, pgutil.NotFound(err, "delivery sender is not a local account")
	}
	return d, a, nil
}

// MarkDelivered records success.
func (s *Store) MarkDelivered(ctx context.Context, id int64, status int) error {
	_, err := s.db.Exec(ctx, `update deliveries set state = 'delivered', attempts = attempts + 1, last_status = $2,
		last_error = null, delivered_at = now() where id = $1 and state = 'pending'`, id, status)
	return err
}

// MarkFailed records a failed attempt and when to try again.
func (s *Store) MarkFailed(ctx context.Context, id int64, status int, reason string, next time.Time) error {
	state := "pending"
	if next.IsZero() {
		state = "failed"
	}
	_, err := s.db.Exec(ctx, `update deliveries set state = $2, attempts = attempts + 1, last_status = nullif($3, 0),
		last_error = $4, next_attempt_at = coalesce($5, next_attempt_at) where id = $1 and state = 'pending'`,
		id, state, status, reason, nullTime(next))
	return err
}

// DueDeliveries lists pending deliveries due before the given time.
func (s *Store) DueDeliveries(ctx context.Context, before time.Time, limit int) ([]int64, error) {
	rows, err := s.db.Query(ctx, `select id from deliveries where state = 'pending' and next_attempt_at <= $1
		order by next_attempt_at limit $2`, before, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
