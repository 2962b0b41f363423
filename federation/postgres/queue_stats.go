package postgres

import (
	"context"
	"fmt"
	"time"
)

// QueueStats is the backlog of the two durable queues, for the workers'
// /metrics: what an operator alerts on when workers fall behind.
type QueueStats struct {
	// DeliveriesPending counts deliveries not yet delivered or given up,
	// including retries waiting for their back-off.
	DeliveriesPending int64
	// DeliveriesOverdue is how long the most overdue pending delivery has
	// been due (0: none is past its next_attempt_at).
	DeliveriesOverdue time.Duration
	// InboxPending counts verified inbound activities not yet applied;
	// InboxOldest is the age of the oldest of them (0: none).
	InboxPending int64
	InboxOldest  time.Duration
}

// QueueStats reads the backlog across all tenants (an operator's number,
// never shown to a tenant) from the partial indexes on pending rows.
func (s *Store) QueueStats(ctx context.Context) (QueueStats, error) {
	var st QueueStats
	var overdue, oldest float64
	err := s.db.QueryRow(ctx, `select
		(select count(*) from deliveries where state = 'pending'),
		coalesce((select extract(epoch from greatest(now() - min(next_attempt_at), interval '0'))::float8
			from deliveries where state = 'pending'), 0),
		(select count(*) from inbox_items where processed_at is null),
		coalesce((select extract(epoch from greatest(now() - received_at, interval '0'))::float8
			from inbox_items where processed_at is null order by id limit 1), 0)`).
		Scan(&st.DeliveriesPending, &overdue, &st.InboxPending, &oldest)
	if err != nil {
		return st, fmt.Errorf("queue stats: %w", err)
	}
	st.DeliveriesOverdue = time.Duration(overdue * float64(time.Second))
	st.InboxOldest = time.Duration(oldest * float64(time.Second))
	return st, nil
}
