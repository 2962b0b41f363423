package postgres

import (
	"context"
	"fmt"

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

// FinishInboxItem marks an item processed.
func (s *Store) FinishInboxItem(ctx context.Context, id int64, reason string) error {
	_, err := s.db.Exec(ctx, `update inbox_items set processed_at = now(), locked_until = null, last_error = nullif($2, '')
		where id = $1`, id, reason)
	return err
}
