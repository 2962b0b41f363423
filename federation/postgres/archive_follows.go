package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/portability/archive"
	"github.com/roost-social/roost/internal/pgutil"
)

// QueueFollows queues a batch of an import's follow targets (handles or
// actor URIs, each with its host). Targets the account already follows,
// or has queued, are left out, and so is every target past spread.Max. It
// returns how many were queued and how many were over the limit.
func (s *Store) QueueFollows(ctx context.Context, importID int64, local *federation.Account, targets, hosts []string,
	spread archive.FollowSpread, now time.Time) (queued, over int, err error) {
	err = pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		// One import at a time per account counts the limit right.
		if _, err := tx.Exec(ctx, `select 1 from accounts where id = $1 for no key update`, local.ID); err != nil {
			return err
		}
		var room int
		if err := tx.QueryRow(ctx, `select $2::int - (select count(*) from follows where follower_id = $1)
			- (select count(*) from import_follows where account_id = $1)`, local.ID, spread.Max).Scan(&room); err != nil {
			return err
		}
		return tx.QueryRow(ctx, queueFollowsSQL, importID, local.ID, targets, hosts, max(room, 0), now,
			spread.Burst, spread.Interval.Seconds()).Scan(&queued, &over)
	})
	return queued, over, err
}

// queueFollowsSQL numbers the fresh targets of each host after the rows
// already queued for it, and dates each by its number.
const queueFollowsSQL = `with input as (
		select t, h, ord, lower(split_part(t, '@', 1)) as u, lower(split_part(t, '@', 2)) as d
		from unnest($3::text[], $4::text[]) with ordinality as x(t, h, ord)),
	mine as (
		select a.uri, lower(a.username) as u, a.domain as d from follows f join accounts a on a.id = f.followee_id
		where f.follower_id = $2),
	fresh as (
		select i.* from input i
		where not exists (select 1 from import_follows q where q.account_id = $2 and q.target = i.t)
			and not exists (select 1 from mine m where m.uri = i.t)
			and not exists (select 1 from mine m where strpos(i.t, '://') = 0 and m.u = i.u and m.d = i.d)),
	kept as (select * from fresh order by ord limit $5),
	numbered as (
		select k.t, k.h, row_number() over (partition by k.h order by k.ord) - 1
			+ (select count(*) from import_follows q where q.host = k.h) as n
		from kept k),
	ins as (
		insert into import_follows (import_id, account_id, target, host, not_before)
		select $1, $2, t, h, $6::timestamptz + greatest(n - $7 + 1, 0) * make_interval(secs => $8::float8) from numbered
		on conflict do nothing returning 1),
	counted as (update archive_imports set follows_queued = follows_queued + (select count(*) from ins) where id = $1)
	select (select count(*) from ins)::int, ((select count(*) from fresh) - (select count(*) from kept))::int`

// QueuedFollow is an import's follow due to be sent.
type QueuedFollow = archive.QueuedFollow

// ClaimFollows leases up to limit queued follows due at now, for lease;
// the target is a known account's actor URI when there is one, so that
// following it needs no WebFinger.
func (s *Store) ClaimFollows(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]QueuedFollow, error) {
	rows, err := s.db.Query(ctx, `with c as (
			update import_follows q set leased_until = $1::timestamptz + make_interval(secs => $2::float8), attempts = attempts + 1
			where id in (select id from import_follows where not_before <= $1 and (leased_until is null or leased_until <= $1)
				order by not_before, id limit $3 for update skip locked)
			returning id, import_id, account_id, target, attempts)
		select c.id, c.import_id, c.account_id, coalesce(k.uri, c.target), c.attempts from c
		left join lateral (select a.uri from accounts a where a.tenant_id is null and strpos(c.target, '@') > 0
			and lower(a.username) = lower(split_part(c.target, '@', 1)) and a.domain = lower(split_part(c.target, '@', 2))
			order by a.fetched_at desc nulls last limit 1) k on true
		order by c.id`, now, lease.Seconds(), limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (QueuedFollow, error) {
		var q QueuedFollow
		err := r.Scan(&q.ID, &q.ImportID, &q.AccountID, &q.Target, &q.Attempts)
		return q, err
	})
}

// FinishFollow ends a queued follow, counting it sent or failed on its
// import.
func (s *Store) FinishFollow(ctx context.Context, id int64, sent bool) error {
	_, err := s.db.Exec(ctx, `with d as (delete from import_follows where id = $1 returning import_id)
		update archive_imports set follows_sent = follows_sent + $2::int, follows_failed = follows_failed + $3::int
		where id = (select import_id from d)`, id, b2i(sent), b2i(!sent))
	return err
}

// RetryFollow puts a queued follow back, due at at.
func (s *Store) RetryFollow(ctx context.Context, id int64, at time.Time) error {
	_, err := s.db.Exec(ctx, `update import_follows set not_before = $2, leased_until = null where id = $1`, id, at)
	return err
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
