package postgres

import (
	"context"
	"errors"
	"fmt"
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
const HomeFanOutInline = 100

// FanOutChannel is notified (at commit) when a fan-out is queued, so that
// an idle worker starts at once rather than at its next poll.
const FanOutChannel = "roost_fanout"

var _ federation.HomeFanOuts = (*Store)(nil)

// fanOut is one status's fan-out to its author's followers.
type fanOut struct {
	statusID     int64
	authorID     int64
	authorTenant *int64 // nil: a remote author
	tenantID     *int64 // followers on this tenant only; nil: on every tenant
	reblog       bool   // a boost: only followers who take the author's boosts
	timelines    bool   // also the tenant timelines of followers' other tenants
}

// fanOutBatch files the status in the home feeds of the author's next
// accepted local followers (by account id, after after), at most limit of
// them, and — for a public local post — in the tenant timelines of their
// tenants as a remote status. It returns the last follower reached and how
// many were. Inserts are idempotent.
func fanOutBatch(ctx context.Context, tx pgx.Tx, f fanOut, after int64, limit int) (int64, int, error) {
	var last int64
	var n int
	err := tx.QueryRow(ctx, `
		with batch as (
			select f.follower_id, a.tenant_id from follows f join accounts a on a.id = f.follower_id
			where f.followee_id = $2 and f.state = 'accepted' and f.follower_id > $3
				and a.tenant_id is not null and ($4::bigint is null or a.tenant_id = $4)
				and (not $5 or f.show_reblogs)
			order by f.follower_id limit $6),
		feed as (
			insert into home_feeds (account_id, status_id) select follower_id, $1 from batch
			on conflict do nothing),
		tl as (
			insert into tenant_timeline (tenant_id, status_id, local)
			select distinct tenant_id, $1::bigint, false from batch
			where $7 and tenant_id is distinct from $8::bigint
			on conflict do nothing)
		select coalesce(max(follower_id), 0), count(*) from batch`,
		f.statusID, f.authorID, after, f.tenantID, f.reblog, limit, f.timelines, f.authorTenant).Scan(&last, &n)
	if err != nil {
		return 0, 0, fmt.Errorf("home fan-out batch: %w", err)
	}
	return last, n, nil
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

// errStatusGone: the status of a fan-out was deleted before or during
// the batch (home_feeds' foreign key refused the rows).
var errStatusGone = errors.New("status gone")

// HomeFanOutStep implements federation.HomeFanOuts: one batch of the
// oldest due fan-out, under its row lock (SKIP LOCKED: workers share the
// queue, one fan-out goes one batch at a time). A status deleted
// meanwhile ends its fan-out; a failed batch is retried later with
// back-off, from where the last committed batch left off.
func (s *Store) HomeFanOutStep(ctx context.Context, batch int) (federation.FanOutStep, error) {
	var step federation.FanOutStep
	var jobID int64
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
		var after int64
		var created time.Time
		var f fanOut
		err := tx.QueryRow(ctx, `select id, status_id, tenant_id, timelines, after_id, created_at from home_fanouts
			where not_before <= now() order by id limit 1 for update skip locked`).
			Scan(&jobID, &f.statusID, &f.tenantID, &f.timelines, &after, &created)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("take home fan-out: %w", err)
		}
		step.Worked, step.Age = true, time.Since(created)
		err = tx.QueryRow(ctx, `select s.account_id, a.tenant_id, s.reblog_of_id is not null
			from statuses s join accounts a on a.id = s.account_id where s.id = $1`, f.statusID).
			Scan(&f.authorID, &f.authorTenant, &f.reblog)
		if errors.Is(err, pgx.ErrNoRows) {
			return errStatusGone
		}
		if err != nil {
			return fmt.Errorf("home fan-out status: %w", err)
		}
		last, n, err := fanOutBatch(ctx, tx, f, after, batch)
		if err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "23503" { // deleted while we filed it
				return errStatusGone
			}
			return err
		}
		step.Filed = n
		if n < batch {
			step.Done = true
			_, err = tx.Exec(ctx, `delete from home_fanouts where id = $1`, jobID)
		} else {
			_, err = tx.Exec(ctx, `update home_fanouts set after_id = $2, attempts = 0 where id = $1`, jobID, last)
		}
		if err != nil {
			return fmt.Errorf("home fan-out progress: %w", err)
		}
		return nil
	})
	switch {
	case errors.Is(err, errStatusGone):
		step.Done, step.Filed = true, 0
		if _, err := s.db.Exec(ctx, `delete from home_fanouts where id = $1`, jobID); err != nil {
			return step, fmt.Errorf("drop home fan-out of a deleted status: %w", err)
		}
		return step, nil
	case err != nil && jobID != 0:
		// Later, with back-off (2 s doubling to 5 min), so that one failing
		// fan-out does not hold up the others.
		if _, berr := s.db.Exec(ctx, `update home_fanouts set attempts = attempts + 1,
			not_before = now() + least(interval '2 seconds' * power(2, least(attempts, 10)), interval '5 minutes')
			where id = $1`, jobID); berr != nil {
			err = errors.Join(err, fmt.Errorf("postpone home fan-out: %w", berr))
		}
		return step, err
	}
	return step, err
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
