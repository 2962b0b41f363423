package postgres

import (
	"context"
	"fmt"
	"strings"

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
	rows, err := s.db.Query(ctx, `select `+prefixed("a.", accountColumns)+` from follows f join accounts a on a.id = f.follower_id
		where f.followee_id = $1 and a.tenant_id = $2 order by a.id`, accountID, tenantID)
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

// prefixed qualifies a comma-separated column list with a table alias.
func prefixed(alias, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = alias + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}
