package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/roost-social/roost/federation"
)

var _ federation.RemoteCollections = (*Store)(nil)

// ClaimCollectionsFetch marks a remote account's collections read at now
// unless they were read after now-every (migration 052).
func (s *Store) ClaimCollectionsFetch(ctx context.Context, accountID int64, now time.Time, every time.Duration) (bool, error) {
	tag, err := s.db.Exec(ctx, `update accounts set collections_fetched_at = $2
		where id = $1 and tenant_id is null and (collections_fetched_at is null or collections_fetched_at <= $3)`,
		accountID, now, now.Add(-every))
	if err != nil {
		return false, fmt.Errorf("claim collections fetch: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// SetRemoteCounts stores the counts a remote account's collections state.
// Deliveries later move them as they move local ones (triggers).
func (s *Store) SetRemoteCounts(ctx context.Context, accountID int64, c federation.CollectionCounts) error {
	_, err := s.db.Exec(ctx, `insert into account_stats (account_id, statuses_count, followers_count, following_count)
		select a.id, coalesce($2, 0), coalesce($3, 0), coalesce($4, 0) from accounts a where a.id = $1 and a.tenant_id is null
		on conflict (account_id) do update set
			statuses_count = coalesce($2, account_stats.statuses_count),
			followers_count = coalesce($3, account_stats.followers_count),
			following_count = coalesce($4, account_stats.following_count)`,
		accountID, c.Statuses, c.Followers, c.Following)
	if err != nil {
		return fmt.Errorf("set remote counts: %w", err)
	}
	return nil
}
