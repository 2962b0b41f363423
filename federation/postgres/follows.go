package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/pgutil"
)

var _ federation.FollowStore = (*Store)(nil)

// CreateFollow inserts the follow unless the pair already has one.
func (s *Store) CreateFollow(ctx context.Context, followerID, followeeID int64, uri, state string) (*federation.Follow, bool, error) {
	f := &federation.Follow{FollowerID: followerID, FolloweeID: followeeID}
	var created bool
	err := s.db.QueryRow(ctx, `
		with ins as (
			insert into follows (follower_id, followee_id, state, uri) values ($1, $2, $3, $4)
			on conflict (follower_id, followee_id) do nothing
			returning id, state, uri, created_at, true as created)
		select * from ins
		union all
		select id, state, uri, created_at, false from follows
		where follower_id = $1 and followee_id = $2 and not exists (select 1 from ins)`,
		followerID, followeeID, state, uri).Scan(&f.ID, &f.State, &f.URI, &f.CreatedAt, &created)
	if err != nil {
		return nil, false, fmt.Errorf("create follow: %w", err)
	}
	return f, created, nil
}

// DeleteFollow removes the pair's follow.
func (s *Store) DeleteFollow(ctx context.Context, followerID, followeeID int64) (bool, error) {
	tag, err := s.db.Exec(ctx, `delete from follows where follower_id = $1 and followee_id = $2`, followerID, followeeID)
	if err != nil {
		return false, fmt.Errorf("delete follow: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}

// AcceptFollow marks a pending follow accepted by its followee.
func (s *Store) AcceptFollow(ctx context.Context, uri string, followeeID int64) (bool, error) {
	tag, err := s.db.Exec(ctx, `update follows set state = 'accepted' where uri = $1 and followee_id = $2`, uri, followeeID)
	if err != nil {
		return false, fmt.Errorf("accept follow: %w", err)
	}
	return tag.RowsAffected() > 0, nil
}

// FollowBetween returns the pair's follow.
func (s *Store) FollowBetween(ctx context.Context, followerID, followeeID int64) (*federation.Follow, error) {
	f := &federation.Follow{}
	err := s.db.QueryRow(ctx, `select id, follower_id, followee_id, state, uri, created_at from follows
		where follower_id = $1 and followee_id = $2`, followerID, followeeID).
		Scan(&f.ID, &f.FollowerID, &f.FolloweeID, &f.State, &f.URI, &f.CreatedAt)
	if err != nil {
		return nil, pgutil.NotFound(err, "no such follow")
	}
	return f, nil
}

// LocalFollowers lists one tenant's local accounts following accountID.
func (s *Store) LocalFollowers(ctx context.Context, accountID, tenantID int64) ([]*federation.Account, error) {
	return s.localFollowers(ctx, `tenant_id = $2`, accountID, tenantID)
}

// AllLocalFollowers lists local accounts on every tenant following accountID.
func (s *Store) AllLocalFollowers(ctx context.Context, accountID int64) ([]*federation.Account, error) {
	return s.localFollowers(ctx, `tenant_id is not null`, accountID)
}

// localFollowers lists followers of accountID matching a constant filter.
func (s *Store) localFollowers(ctx context.Context, filter string, args ...any) ([]*federation.Account, error) {
	rows, err := s.db.Query(ctx, `select `+accountColumns+` from accounts
		where `+filter+` and id in (select follower_id from follows where followee_id = $1) order by id`, args...)
	if err != nil {
		return nil, fmt.Errorf("local followers: %w", err)
	}
	defer rows.Close()
	var out []*federation.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// FollowerInboxes lists the inboxes of an account's remote followers, each
// server's shared inbox once.
func (s *Store) FollowerInboxes(ctx context.Context, accountID int64) ([]string, error) {
	rows, err := s.db.Query(ctx, `select distinct coalesce(a.shared_inbox_url, a.inbox_url) from follows f
		join accounts a on a.id = f.follower_id
		where f.followee_id = $1 and f.state = 'accepted' and a.tenant_id is null and a.inbox_url is not null`, accountID)
	if err != nil {
		return nil, fmt.Errorf("follower inboxes: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
