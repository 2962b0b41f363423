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
	a := &federation.Account{}
	// One round trip: the delivery and its local sender's key.
	err := s.db.QueryRow(ctx, `select d.sender_id, d.activity_id, d.inbox_url, d.host, d.body, d.express, d.state,
			d.attempts, d.next_attempt_at, d.created_at, coalesce(d.acting_host, ''), a.tenant_id, a.domain, a.username, a.private_key_pem
		from deliveries d join accounts a on a.id = d.sender_id and a.tenant_id is not null
		where d.id = $1`, id).
		Scan(&d.SenderID, &d.ActivityID, &d.Inbox, &d.Host, &d.Body, &d.Express, &d.State, &d.Attempts,
			&d.NextAttemptAt, &d.CreatedAt, &d.ActingHost, &a.TenantID, &a.Domain, &a.Username, &a.PrivateKeyPEM)
	if err != nil {
		return nil, nil, pgutil.NotFound(err, "no such delivery from a local account")
	}
	a.ID = d.SenderID
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
		last_error = $4, next_attempt_at = coalesce($5, next_attempt_at), leased_until = null
		where id = $1 and state = 'pending'`,
		id, state, status, reason, nullTime(next))
	return err
}

// DueDeliveries lists pending deliveries due before the given time.
func (s *Store) DueDeliveries(ctx context.Context, before time.Time, limit int) ([]int64, error) {
	rows, err := s.db.Query(ctx, `select id from deliveries where state = 'pending' and next_attempt_at <= $1
		and (leased_until is null or leased_until <= $1) order by next_attempt_at limit $2`, before, limit)
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

// LoadDeliveries loads a batch of deliveries with their senders in one
// round trip; ids not found are absent from the result.
func (s *Store) LoadDeliveries(ctx context.Context, ids []int64, now time.Time, lease time.Duration) (map[int64]*federation.Delivery, map[int64]*federation.Account, error) {
	// The lease (leased_until) makes sweepers and other workers skip a row
	// while one worker attempts it; the outer select still sees the row as
	// it was before the lease.
	rows, err := s.db.Query(ctx, `
		with leased as (
			update deliveries set leased_until = $3::timestamptz + $2::interval
			where id = any($1) and state = 'pending' and next_attempt_at <= $3
				and (leased_until is null or leased_until <= $3)
			returning id)
		select d.id, d.sender_id, d.activity_id, d.inbox_url, d.host, d.body, d.express,
			d.state, d.attempts, d.next_attempt_at, d.created_at, coalesce(d.acting_host, ''),
			a.tenant_id, a.domain, a.username, a.private_key_pem, d.id in (select id from leased)
		from deliveries d join accounts a on a.id = d.sender_id and a.tenant_id is not null
		where d.id = any($1)`, ids, lease, now)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	ds, senders := map[int64]*federation.Delivery{}, map[int64]*federation.Account{}
	for rows.Next() {
		d, a := &federation.Delivery{}, &federation.Account{}
		if err := rows.Scan(&d.ID, &d.SenderID, &d.ActivityID, &d.Inbox, &d.Host, &d.Body, &d.Express, &d.State,
			&d.Attempts, &d.NextAttemptAt, &d.CreatedAt, &d.ActingHost, &a.TenantID, &a.Domain, &a.Username,
			&a.PrivateKeyPEM, &d.Leased); err != nil {
			return nil, nil, err
		}
		a.ID = d.SenderID
		ds[d.ID] = d
		if _, ok := senders[a.ID]; !ok {
			senders[a.ID] = a
		}
	}
	return ds, senders, rows.Err()
}

// MarkDeliveredBatch records many successful attempts in one statement.
func (s *Store) MarkDeliveredBatch(ctx context.Context, ids []int64, statuses []int) error {
	_, err := s.db.Exec(ctx, `update deliveries d set state = 'delivered', attempts = d.attempts + 1,
		last_status = u.status, last_error = null, delivered_at = now()
		from unnest($1::bigint[], $2::int[]) as u(id, status)
		where d.id = u.id and d.state = 'pending'`, ids, statuses)
	return err
}

var _ federation.DeliveryReporter = (*Store)(nil)

// DeliveryStates counts an activity's deliveries by host and state.
func (s *Store) DeliveryStates(ctx context.Context, activityID string) ([]federation.DeliveryState, error) {
	rows, err := s.db.Query(ctx, `
		select host,
			count(*) filter (where state = 'delivered'),
			count(*) filter (where state = 'pending'),
			count(*) filter (where state = 'failed'),
			coalesce((array_agg(last_error order by next_attempt_at desc) filter (where last_error is not null))[1], '')
		from deliveries where activity_id = $1 group by host order by host`, activityID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (federation.DeliveryState, error) {
		var d federation.DeliveryState
		err := r.Scan(&d.Host, &d.Delivered, &d.Pending, &d.Failed, &d.LastError)
		return d, err
	})
}

// Unlease makes a leased row due again without counting an attempt.
func (s *Store) Unlease(ctx context.Context, id int64, at time.Time) error {
	_, err := s.db.Exec(ctx, `update deliveries set next_attempt_at = $2, leased_until = null where id = $1 and state = 'pending'`, id, at)
	return err
}
