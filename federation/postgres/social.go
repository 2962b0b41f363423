package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/pgutil"
)

var _ federation.SocialStore = (*Store)(nil)

// AddToHomeFeeds fans a status out to the author's accepted followers on
// one tenant (and to a local author's own feed): the first followers in
// one statement, the rest of a large audience after commit by the
// fan-out job (fanout.go).
func (s *Store) AddToHomeFeeds(ctx context.Context, statusID, authorID, tenantID int64) error {
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		// A direct status goes only to the followers it mentions (as on
		// Mastodon); a public one joins the tenant's federated timeline.
		var last int64
		var n int
		err := tx.QueryRow(ctx, `
			with st as (select id, visibility, reblog_of_id from statuses where id = $1 for key share), -- migration 059
			batch as (
				select f.follower_id from follows f join accounts a on a.id = f.follower_id, st
				where f.followee_id = $2 and f.state = 'accepted' and a.tenant_id = $3
					and (st.reblog_of_id is null or f.show_reblogs) and st.visibility <> 'direct'
					and not exists (select 1 from home_pull_authors where account_id = $2) -- read (migration 060)
				order by f.follower_id limit $4),
			feed as (
				insert into home_feeds (account_id, status_id)
				select follower_id, $1::bigint from batch
				union
				select m.account_id, $1::bigint from status_mentions m
				join follows f on f.follower_id = m.account_id and f.followee_id = $2 and f.state = 'accepted'
				join accounts a on a.id = m.account_id and a.tenant_id = $3, st
				where m.status_id = $1 and st.visibility = 'direct'
				union
				select id, $1::bigint from accounts where id = $2 and tenant_id = $3
				on conflict do nothing),
			tl as (
				insert into tenant_timeline (tenant_id, status_id, local)
				select $3::bigint, st.id, exists (select 1 from accounts where id = $2 and tenant_id = $3) from st
				where st.visibility = 'public' and st.reblog_of_id is null
				on conflict do nothing)
			select coalesce(max(follower_id), 0), count(*) from batch`,
			statusID, authorID, tenantID, HomeFanOutInline).Scan(&last, &n)
		if err != nil || n < HomeFanOutInline {
			return err
		}
		return queueFanOut(ctx, tx, statusID, &tenantID, false, last)
	})
	if err != nil {
		return fmt.Errorf("add to home feeds: %w", err)
	}
	return nil
}

// AddMentions records accounts a status mentions (idempotent); local ones
// are notified.
func (s *Store) AddMentions(ctx context.Context, statusID int64, accountIDs []int64) error {
	return addMentions(ctx, s.db, statusID, accountIDs)
}

// Favourite records a like once, of a status the account may see; any
// other, existing or not, is errs.NotFound alike.
func (s *Store) Favourite(ctx context.Context, accountID, statusID int64, uri string) error {
	return pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if err := mustSee(ctx, tx, accountID, statusID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `insert into favourites (account_id, status_id, uri) values ($1, $2, nullif($3, ''))
			on conflict do nothing`, accountID, statusID, uri)
		return err
	})
}

// Unfavourite removes the account's like given by URI or by status.
func (s *Store) Unfavourite(ctx context.Context, accountID int64, uri string, statusID int64) (bool, error) {
	tag, err := s.db.Exec(ctx, `delete from favourites where account_id = $1 and (uri = $2 or status_id = $3)`,
		accountID, uri, statusID)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() > 0, nil
}

// Reblog stores an Announce as a status row pointing at the original,
// which the booster must be able to see (errs.NotFound otherwise, as for
// one that does not exist).
func (s *Store) Reblog(ctx context.Context, r *federation.Status, ofID int64) (*federation.Status, error) {
	args, err := statusArgs(r)
	if err != nil {
		return nil, err
	}
	var out *federation.Status
	err = pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if err := mustSee(ctx, tx, r.AccountID, ofID); err != nil {
			return err
		}
		var id int64
		// reblog_of_id is set by the insert itself: triggers count and
		// notify on insert.
		err := tx.QueryRow(ctx, insertReblog+` on conflict (uri) do nothing returning id`,
			append(append([]any{nil}, args...), nullInt(r.TenantID), ofID)...).Scan(&id)
		if err == pgx.ErrNoRows {
			out, err = scanStatus(tx.QueryRow(ctx, `select `+statusColumns+` from statuses where uri = $1`, r.URI))
			return err
		}
		if err != nil {
			return err
		}
		out, err = scanStatus(tx.QueryRow(ctx, `select `+statusColumns+` from statuses where id = $1`, id))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reblog: %w", err)
	}
	return out, nil
}

// Block records a block and removes follows in both directions.
func (s *Store) Block(ctx context.Context, accountID, targetID int64, uri string) error {
	return pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `insert into blocks (account_id, target_id, uri) values ($1, $2, nullif($3, ''))
			on conflict (account_id, target_id) do update set uri = excluded.uri`, accountID, targetID, uri); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `delete from follows where (follower_id = $1 and followee_id = $2)
			or (follower_id = $2 and followee_id = $1)`, accountID, targetID)
		return err
	})
}

// Unblock lifts a block.
func (s *Store) Unblock(ctx context.Context, accountID, targetID int64) (bool, error) {
	tag, err := s.db.Exec(ctx, `delete from blocks where account_id = $1 and target_id = $2`, accountID, targetID)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() > 0, nil
}

// AddReport stores a report for a tenant's moderators.
func (s *Store) AddReport(ctx context.Context, r federation.Report) error {
	_, err := s.db.Exec(ctx, `insert into reports (tenant_id, reporter_id, target_account_id, status_uris, comment, uri)
		values ($1, $2, $3, $4, $5, nullif($6, '')) on conflict (tenant_id, uri) do nothing`,
		r.TenantID, nullInt(r.ReporterID), r.TargetID, strs(r.StatusURIs), r.Comment, r.URI)
	return err
}

// DeleteRemoteActor removes a remote actor and everything of theirs.
func (s *Store) DeleteRemoteActor(ctx context.Context, id int64) error {
	_, err := s.db.Exec(ctx, `delete from accounts where id = $1 and tenant_id is null`, id)
	return err
}

func nullInt(v int64) *int64 {
	if v == 0 {
		return nil
	}
	return &v
}
