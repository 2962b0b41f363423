package postgres

import (
	"context"
	"fmt"

	"github.com/roost-social/roost/federation"
)

var _ federation.Tombstones = (*Store)(nil)

// tombstoneTTL is how long a Delete that came first is remembered.
const tombstoneTTL = "1 day"

// Bury remembers a Delete of a post not stored here, and prunes those
// older than a day (the table stays as small as a day of such Deletes).
func (s *Store) Bury(ctx context.Context, accountID int64, uri string) error {
	_, err := s.db.Exec(ctx, `
		with pruned as (delete from status_tombstones where created_at < now() - $3::interval)
		insert into status_tombstones (uri, account_id) values ($1, $2)
		on conflict (uri) do update set created_at = now() where status_tombstones.account_id = excluded.account_id`,
		uri, accountID, tombstoneTTL)
	if err != nil {
		return fmt.Errorf("bury %s: %w", uri, err)
	}
	return nil
}

// Buried reports whether the author deleted uri before it arrived (within
// the last day).
func (s *Store) Buried(ctx context.Context, accountID int64, uri string) (bool, error) {
	var buried bool
	err := s.db.QueryRow(ctx, `select exists (select 1 from status_tombstones
		where uri = $1 and account_id = $2 and created_at >= now() - $3::interval)`, uri, accountID, tombstoneTTL).Scan(&buried)
	if err != nil {
		return false, fmt.Errorf("tombstone of %s: %w", uri, err)
	}
	return buried, nil
}
