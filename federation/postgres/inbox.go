package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/roost-social/roost/federation"
)

var _ federation.InboxStore = (*Store)(nil)

// Enqueue stores a verified activity for the tenant unless it has it
// already: the unique (tenant_id, activity_id) makes redeliveries no-ops.
func (s *Store) Enqueue(ctx context.Context, tenantID int64, activityID, actorURI string, activity []byte) (bool, error) {
	tag, err := s.db.Exec(ctx, `
		insert into inbox_items (tenant_id, activity_id, actor_uri, activity)
		values ($1, $2, $3, $4)
		on conflict (tenant_id, activity_id) do nothing`, tenantID, activityID, actorURI, activity)
	if err != nil {
		return false, fmt.Errorf("enqueue inbox item: %w", err)
	}
	return tag.RowsAffected() == 0, nil
}

// ClaimInboxItems leases the oldest unprocessed items. SKIP LOCKED lets
// several workers claim concurrently without waiting on each other.
func (s *Store) ClaimInboxItems(ctx context.Context, limit int, lease time.Duration) ([]federation.InboxItem, error) {
	rows, err := s.db.Query(ctx, `
		update inbox_items set attempts = attempts + 1, locked_until = now() + $2::interval
		where id in (
			select id from inbox_items
			where processed_at is null and (locked_until is null or locked_until < now())
			order by id limit $1 for update skip locked)
		returning id, tenant_id, activity_id, actor_uri, activity, received_at, attempts`, limit, lease)
	if err != nil {
		return nil, fmt.Errorf("claim inbox items: %w", err)
	}
	defer rows.Close()
	var items []federation.InboxItem
	for rows.Next() {
		var it federation.InboxItem
		if err := rows.Scan(&it.ID, &it.TenantID, &it.ActivityID, &it.ActorURI, &it.Activity, &it.ReceivedAt, &it.Attempts); err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, rows.Err()
}

// FinishInboxItem marks an item processed.
func (s *Store) FinishInboxItem(ctx context.Context, id int64, reason string) error {
	_, err := s.db.Exec(ctx, `update inbox_items set processed_at = now(), locked_until = null, last_error = nullif($2, '')
		where id = $1`, id, reason)
	return err
}
