package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/pgutil"
)

// HomeFanOutInline is how many followers a status reaches inside the
// transaction that stores it (migration 044): small audiences see it at
// commit, as before, and the work in the transaction stays bounded
// however large the audience is. The rest get it from the fan-out job.
// It was 100: every post with 100 followers or more spent 1.6–3 ms (more
// on a loaded machine) of its answer filing them, ~25 µs a home-feed
// row with its index entries and triggers (issue 21, measured on the
// durable benchmark database); 20 keeps a personal account's small
// audience at commit for a fifth of that.
const HomeFanOutInline = 20

// FanOutChannel is notified (at commit) when a fan-out is queued, so that
// an idle worker starts at once rather than at its next poll.
const FanOutChannel = "roost_fanout"

var _ federation.HomeFanOuts = (*Store)(nil)

// fanOut is who a fan-out reaches: its author's followers (the statuses
// of one step share it: fanOutJobs).
type fanOut struct {
	authorID     int64
	authorTenant *int64 // nil: a remote author
	tenantID     *int64 // followers on this tenant only; nil: on every tenant
	reblog       bool   // a boost: only followers who take the author's boosts
	timelines    bool   // also the tenant timelines of followers' other tenants
	pulled       bool   // the author is read (migration 060): no home-feed rows
}

// fanOutBatch files statuses (all by the same author, fanned out alike:
// a group, takeFanOuts) in the home feeds of the author's next accepted
// local followers (by account id, after after), at most limit of them,
// and — for public local posts — in the tenant timelines of their
// tenants as remote statuses. It returns the last follower reached and
// how many were. Inserts are idempotent.
//
// Rows go in (follower, status) order: a follower's statuses land side
// by side in home_feeds' primary key, so a group dirties each index page
// once for all its statuses instead of once per status.
//
// The statuses are locked (KEY SHARE) before anything is filed, once
// each: home_feeds has no foreign keys (migration 059), so this lock is
// what makes a concurrent delete wait for the batch and then remove its
// rows. A status deleted first is not locked; the batch is then refused
// with errStatusGone and nothing is filed.
//
// A batch of a read author's fan-out (f.pulled, migration 060) files no
// home-feed rows: their followers read the author's posts.
func fanOutBatch(ctx context.Context, tx pgx.Tx, f fanOut, statuses []int64, after int64, limit int) (int64, int, error) {
	var last int64
	var n, live int
	statuses = distinctIDs(statuses) // two fan-outs of one status (to one tenant, twice) may go together
	err := tx.QueryRow(ctx, `
		with live as (
			select id from statuses where id = any($1::bigint[]) for key share),
		batch as (
			select f.follower_id, a.tenant_id from follows f join accounts a on a.id = f.follower_id
			where f.followee_id = $2 and f.state = 'accepted' and f.follower_id > $3
				and a.tenant_id is not null and ($4::bigint is null or a.tenant_id = $4)
				and (not $5 or f.show_reblogs)
				and (select count(*) from live) = cardinality($1::bigint[])
			order by f.follower_id limit $6),
		feed as (
			insert into home_feeds (account_id, status_id)
			select b.follower_id, s.id from batch b cross join live s
			where not $9
			order by b.follower_id, s.id
			on conflict do nothing),
		tl as (
			insert into tenant_timeline (tenant_id, status_id, local)
			select distinct b.tenant_id, s.id, false from batch b cross join live s
			where $7 and b.tenant_id is distinct from $8::bigint
			on conflict do nothing)
		select coalesce(max(follower_id), 0), count(*), (select count(*) from live) from batch`,
		statuses, f.authorID, after, f.tenantID, f.reblog, limit, f.timelines, f.authorTenant, f.pulled).Scan(&last, &n, &live)
	if err != nil {
		return 0, 0, fmt.Errorf("home fan-out batch: %w", err)
	}
	if live < len(statuses) {
		return 0, 0, errStatusGone
	}
	return last, n, nil
}

// distinctIDs returns ids without repeats, in their first order.
func distinctIDs(ids []int64) []int64 {
	seen := make(map[int64]bool, len(ids))
	out := make([]int64, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// queueFanOut queues the rest of a fan-out whose first followers, up to
// after, the storing transaction reached.
// tenantID (nil: every tenant) and timelines are fanOut's.
func queueFanOut(ctx context.Context, tx pgx.Tx, statusID int64, tenantID *int64, timelines bool, after int64) error {
	if _, err := tx.Exec(ctx, `insert into home_fanouts (status_id, tenant_id, timelines, after_id) values ($1, $2, $3, $4)`,
		statusID, tenantID, timelines, after); err != nil {
		return fmt.Errorf("queue home fan-out: %w", err)
	}
	if _, err := tx.Exec(ctx, `select pg_notify($1, '')`, FanOutChannel); err != nil {
		return fmt.Errorf("queue home fan-out: %w", err)
	}
	return nil
}

// errStatusGone: a status of the fan-outs taken was deleted before the
// batch could lock it (fanOutBatch).
var errStatusGone = errors.New("status gone")

// fanOutGroup is the most queued fan-outs one step files together: those
// of one author queued while the job was busy (a busy account posting
// faster than its audience is reached) go through the followers side by
// side, so their rows cost index pages, triggers, notifications and
// commits once per group instead of once per post.
const fanOutGroup = 16

// stepFollowers is how many followers a step of k fan-outs reaches:
// batch for one; for a group, up to 4 batches' worth of rows, at least a
// quarter of batch followers. Measured on a durable PostgreSQL with
// 50,000 followers (CPU of the backend per home-feed row): one status
// 1,000 followers a step, 30 µs; 4 statuses × 1,000, 18 µs; 16 × 250,
// 14 µs; one status 250 followers a step, 40 µs (each step's own cost).
func stepFollowers(batch, k int) int {
	return max(min(batch, 4*batch/k), batch/4, 1)
}

// fanOutJobs are the queued fan-outs one step takes: the oldest due one
// and the others that can go with it (takeFanOuts), all locked.
type fanOutJobs struct {
	f        fanOut
	ids      []int64 // home_fanouts rows, the oldest first
	statuses []int64 // their statuses, in the same order
	after    int64
	created  time.Time // the oldest's
}

// takeFanOuts takes the oldest due fan-out no other worker holds (SKIP
// LOCKED: workers share the queue, one fan-out goes one batch at a time)
// and, when its status still exists, up to fanOutGroup-1 more that can
// go with it. None taken: ids is empty. A status gone: statuses is empty.
func takeFanOuts(ctx context.Context, tx pgx.Tx) (fanOutJobs, error) {
	var j fanOutJobs
	var id, statusID int64
	var author *int64
	err := tx.QueryRow(ctx, `select h.id, h.status_id, h.tenant_id, h.timelines, h.after_id, h.created_at,
			s.account_id, a.tenant_id, s.reblog_of_id is not null
		from home_fanouts h left join statuses s on s.id = h.status_id left join accounts a on a.id = s.account_id
		where h.not_before <= now() order by h.id limit 1 for update of h skip locked`).
		Scan(&id, &statusID, &j.f.tenantID, &j.f.timelines, &j.after, &j.created, &author, &j.f.authorTenant, &j.f.reblog)
	if errors.Is(err, pgx.ErrNoRows) {
		return j, nil
	}
	if err != nil {
		return j, fmt.Errorf("take home fan-out: %w", err)
	}
	j.ids = []int64{id}
	if author == nil {
		return j, nil
	}
	j.f.authorID, j.statuses = *author, []int64{statusID}
	// Its mates: the same author's other due fan-outs with the same
	// audience (tenant, timelines, boost or not) at the same point, i.e.
	// not started yet, as the oldest was when they were queued.
	rows, err := tx.Query(ctx, `select h.id, h.status_id from home_fanouts h join statuses s on s.id = h.status_id
		where h.id > $1 and h.not_before <= now() and h.after_id = $2 and h.tenant_id is not distinct from $3
			and h.timelines = $4 and s.account_id = $5 and (s.reblog_of_id is not null) = $6
		order by h.id limit $7 for update of h skip locked`,
		id, j.after, j.f.tenantID, j.f.timelines, j.f.authorID, j.f.reblog, fanOutGroup-1)
	if err != nil {
		return j, fmt.Errorf("take home fan-outs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var mate, st int64
		if err := rows.Scan(&mate, &st); err != nil {
			return j, fmt.Errorf("take home fan-outs: %w", err)
		}
		j.ids, j.statuses = append(j.ids, mate), append(j.statuses, st)
	}
	if err := rows.Err(); err != nil {
		return j, fmt.Errorf("take home fan-outs: %w", err)
	}
	return j, nil
}

// HomeFanOutStep implements federation.HomeFanOuts: one batch of followers
// for the oldest due fan-out and the ones that go with it (takeFanOuts),
// under their row locks. A status deleted meanwhile ends its fan-out; a
// failed batch is retried later with back-off, from where the last
// committed batch left off. The step's Done and Age are the oldest
// fan-out's; Filed counts followers (each got every status of the step).
//
// An author with more than pullAbove local followers (≤ 0: never) is
// marked as read when the step first meets one of their fan-outs
// (markPulled): the step then files no more home-feed rows, only the
// tenant timelines a public post still reaches (ten batches a step), and
// a fan-out with no timelines to reach is done at once.
func (s *Store) HomeFanOutStep(ctx context.Context, batch, pullAbove int) (federation.FanOutStep, error) {
	var step federation.FanOutStep
	var j fanOutJobs
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		// A batch commits without waiting for its WAL to reach the disk
		// (issue 21, posting): on a durable database every commit of
		// 1,000 home-feed rows waited for an fsync while holding the lock
		// that orders notifying commits (home-feed rows announce
		// themselves), so a post's commit queued behind the fan-out's
		// fsyncs. Nothing acknowledged is at risk: a crash loses at most
		// the last batches' rows together with the cursor that recorded
		// them (WAL order), and the job files them again (inserts are
		// idempotent); the post itself commits synchronously.
		if _, err := tx.Exec(ctx, `set local synchronous_commit = off`); err != nil {
			return fmt.Errorf("home fan-out: %w", err)
		}
		var err error
		if j, err = takeFanOuts(ctx, tx); err != nil || len(j.ids) == 0 {
			return err
		}
		step.Worked, step.Age = true, time.Since(j.created)
		if len(j.statuses) == 0 {
			return errStatusGone
		}
		if j.f.pulled, err = markPulled(ctx, tx, j.f.authorID, j.f.authorTenant != nil, pullAbove); err != nil {
			return err
		}
		limit := stepFollowers(batch, len(j.statuses))
		if j.f.pulled {
			if !j.f.timelines {
				step.Done = true
				_, err = tx.Exec(ctx, `delete from home_fanouts where id = any($1)`, j.ids)
				if err != nil {
					return fmt.Errorf("home fan-out of a read author: %w", err)
				}
				return nil
			}
			limit = 10 * batch // a tenant per follower, no feed rows: a tenth of a row's cost
		}
		last, n, err := fanOutBatch(ctx, tx, j.f, j.statuses, j.after, limit)
		if err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "23503" { // tenant_timeline's key: deleted while we filed it
				return errStatusGone
			}
			return err
		}
		step.Filed = n
		if n < limit {
			step.Done = true
			_, err = tx.Exec(ctx, `delete from home_fanouts where id = any($1)`, j.ids)
		} else {
			_, err = tx.Exec(ctx, `update home_fanouts set after_id = $2, attempts = 0 where id = any($1)`, j.ids, last)
		}
		if err != nil {
			return fmt.Errorf("home fan-out progress: %w", err)
		}
		return nil
	})
	switch {
	case errors.Is(err, errStatusGone):
		// Drop the fan-outs whose status is gone; the others stay queued
		// where they were and go on at the next step.
		rows, err := s.db.Query(ctx, `delete from home_fanouts h where h.id = any($1)
			and not exists (select 1 from statuses s where s.id = h.status_id) returning h.id`, j.ids)
		if err != nil {
			return step, fmt.Errorf("drop home fan-outs of deleted statuses: %w", err)
		}
		gone, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return step, fmt.Errorf("drop home fan-outs of deleted statuses: %w", err)
		}
		if len(gone) == 0 {
			// A foreign key of tenant_timeline refused the batch (a tenant
			// that went meanwhile): the next step no longer finds it.
			return step, nil
		}
		step.Done, step.Filed = slices.Contains(gone, j.ids[0]), 0
		return step, nil
	case err != nil && len(j.ids) > 0:
		// Later, with back-off (2 s doubling to 5 min), so that failing
		// fan-outs do not hold up the others.
		if _, berr := s.db.Exec(ctx, `update home_fanouts set attempts = attempts + 1,
			not_before = now() + least(interval '2 seconds' * power(2, least(attempts, 10)), interval '5 minutes')
			where id = any($1)`, j.ids); berr != nil {
			err = errors.Join(err, fmt.Errorf("postpone home fan-out: %w", berr))
		}
		return step, err
	}
	return step, err
}

// markPulled reports whether author is read (migration 060), marking them
// first when they have more than pullAbove local followers (> 0): the
// count reads at most pullAbove+1 follows. home_pull announces the mark.
//
// Only an author of this instance (local) is read. A remote author's
// post reaches each tenant's followers as that tenant's inbox received it
// (its own fan-out, one tenant at a time): read instead, a tenant that
// refused it (a domain it suspended) would show it to its followers all
// the same, as another tenant received it.
func markPulled(ctx context.Context, tx pgx.Tx, author int64, local bool, pullAbove int) (bool, error) {
	if !local {
		return false, nil
	}
	var pulled bool
	err := tx.QueryRow(ctx, `select case
		when exists (select 1 from home_pull_authors where account_id = $1) then true
		when $2::int > 0 and (select count(*) from (select 1 from follows f join accounts a on a.id = f.follower_id
			where f.followee_id = $1 and f.state = 'accepted' and a.tenant_id is not null limit $2::int + 1) x) > $2::int
			then home_pull($1)
		else false end`, author, pullAbove).Scan(&pulled)
	if err != nil {
		return false, fmt.Errorf("home fan-out: read author: %w", err)
	}
	return pulled, nil
}

// FanOutWaker wakes idle fan-out workers when a fan-out is queued: it
// LISTENs on FanOutChannel over a connection of its own. Missing a wake-up
// (while it reconnects) costs only the workers' poll interval.
type FanOutWaker struct {
	DB *pgxpool.Pool
	// C receives a value per notification (dropped when one is pending).
	C chan struct{}
}

// NewFanOutWaker returns a waker on db.
func NewFanOutWaker(db *pgxpool.Pool) *FanOutWaker {
	return &FanOutWaker{DB: db, C: make(chan struct{}, 1)}
}

// Run listens until ctx ends or the connection fails (the caller's job
// supervisor restarts it).
func (w *FanOutWaker) Run(ctx context.Context) error {
	pc, err := w.DB.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("fan-out waker: %w", err)
	}
	conn := pc.Hijack()                                     // LISTEN belongs to this connection alone
	defer func() { _ = conn.Close(context.Background()) }() // closing ends the LISTEN; nothing to report
	if _, err := conn.Exec(ctx, `listen `+pgx.Identifier{FanOutChannel}.Sanitize()); err != nil {
		return fmt.Errorf("fan-out waker: listen: %w", err)
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil && (pgconn.Timeout(err) || errors.Is(err, context.DeadlineExceeded)) {
			// Idle: make sure the connection (and so the LISTEN) is alive.
			if _, err := conn.Exec(ctx, `select 1`); err != nil {
				return fmt.Errorf("fan-out waker ping: %w", err)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("fan-out waker: %w", err)
		}
		if n.Channel != FanOutChannel {
			continue
		}
		select {
		case w.C <- struct{}{}:
		default: // a wake-up is pending already
		}
	}
}

// HomeFanOutBacklog is the fan-out queue for the workers' /metrics: how
// many fan-outs are queued and how long ago the oldest was (0: none) —
// roughly the longest a follower is waiting for a post.
func (s *Store) HomeFanOutBacklog(ctx context.Context) (int64, time.Duration, error) {
	var n int64
	var oldest float64
	err := s.db.QueryRow(ctx, `select count(*),
		coalesce(extract(epoch from greatest(now() - min(created_at), interval '0'))::float8, 0) from home_fanouts`).
		Scan(&n, &oldest)
	if err != nil {
		return 0, 0, fmt.Errorf("home fan-out backlog: %w", err)
	}
	return n, time.Duration(oldest * float64(time.Second)), nil
}
