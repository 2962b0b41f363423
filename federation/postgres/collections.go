package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
)

var _ federation.CollectionStore = (*Store)(nil)

const noMax = int64(1<<63 - 1)

func maxOrAll(maxID int64) int64 {
	if maxID <= 0 {
		return noMax
	}
	return maxID
}

// OutboxPage lists public and unlisted statuses (no boosts yet), newest
// first, with the total.
func (s *Store) OutboxPage(ctx context.Context, accountID, maxID int64, limit int) ([]*federation.Status, int64, error) {
	var total int64
	if err := s.db.QueryRow(ctx, `select count(*) from statuses where account_id = $1 and reblog_of_id is null
		and visibility in ('public', 'unlisted')`, accountID).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.db.Query(ctx, `select `+statusColumns+` from statuses where account_id = $1 and reblog_of_id is null
		and visibility in ('public', 'unlisted') and id < $2 order by id desc limit $3`, accountID, maxOrAll(maxID), limit)
	if err != nil {
		return nil, 0, fmt.Errorf("outbox page: %w", err)
	}
	defer rows.Close()
	var out []*federation.Status
	for rows.Next() {
		st, err := scanStatus(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, st)
	}
	return out, total, rows.Err()
}

// FollowersPage lists accepted followers, newest follow first.
func (s *Store) FollowersPage(ctx context.Context, accountID, maxID int64, limit int) ([]federation.ActorRef, int64, error) {
	return s.followPage(ctx, "followee_id", "follower_id", accountID, maxID, limit)
}

// FollowingPage lists accepted followees, newest follow first.
func (s *Store) FollowingPage(ctx context.Context, accountID, maxID int64, limit int) ([]federation.ActorRef, int64, error) {
	return s.followPage(ctx, "follower_id", "followee_id", accountID, maxID, limit)
}

// followPage pages follows where self is accountID; the other side is
// listed. Column names are constants of this file, never input.
func (s *Store) followPage(ctx context.Context, self, other string, accountID, maxID int64, limit int) ([]federation.ActorRef, int64, error) {
	var total int64
	if err := s.db.QueryRow(ctx, `select count(*) from follows where `+self+` = $1 and state = 'accepted'`, accountID).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.db.Query(ctx, `select f.id, coalesce(a.uri, ''), a.domain, a.username from follows f
		join accounts a on a.id = f.`+other+`
		where f.`+self+` = $1 and f.state = 'accepted' and f.id < $2 order by f.id desc limit $3`,
		accountID, maxOrAll(maxID), limit)
	if err != nil {
		return nil, 0, fmt.Errorf("follow page: %w", err)
	}
	refs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (federation.ActorRef, error) {
		var ref federation.ActorRef
		err := r.Scan(&ref.ID, &ref.URI, &ref.Domain, &ref.Username)
		return ref, err
	})
	return refs, total, err
}

// Featured lists an account's pinned public and unlisted posts.
func (s *Store) Featured(ctx context.Context, accountID int64) ([]*federation.Status, error) {
	rows, err := s.db.Query(ctx, `select `+statusColumns+` from statuses where id in (
		select status_id from pins where account_id = $1) and account_id = $1
		and visibility in ('public', 'unlisted') order by (select created_at from pins p
		where p.account_id = $1 and p.status_id = statuses.id) desc`, accountID)
	if err != nil {
		return nil, fmt.Errorf("featured: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*federation.Status, error) { return scanStatus(r) })
}
