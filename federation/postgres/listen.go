package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// StreamChannel is the notification channel the streaming triggers
// (migration 010) announce events on.
const StreamChannel = "roost_stream"

// relayLock is the advisory lock the elected relay holds. Advisory locks
// belong to one database, so there is one relay per instance.
const relayLock int64 = 0x726f6f73745f7374 // "roost_st"

// Relay carries streaming events from PostgreSQL to a publisher. Every
// process may run one: they elect one leader with an advisory lock held on
// the LISTEN connection, so exactly one relays; the others stand by and
// take over when the leader's connection ends (crash, kill, network).
// Events announced while no relay listens are lost: streaming is best
// effort, the tables stay the truth.
type Relay struct {
	DB *pgxpool.Pool
	// Handle receives each payload, in commit order; it must not block
	// long (the database queues notifications meanwhile).
	Handle func(ctx context.Context, payload string)
	Log    *slog.Logger
	// Poll is how often a standby tries to take the lead (default 2 s).
	Poll time.Duration
	// Ping is how long the leader waits for a notification before checking
	// its connection (default 30 s).
	Ping time.Duration
	// Elected, when set, is called each time this relay starts listening
	// as the leader, before it relays anything: events announced since the
	// previous session ended (a restarted PostgreSQL, a killed leader, the
	// first election) reached no one, so whoever streams them must tell
	// its connections to catch up (soak finding 4).
	Elected func(ctx context.Context)

	leading atomic.Bool
}

// Leading reports whether this relay is the elected one.
func (r *Relay) Leading() bool { return r.leading.Load() }

// Run relays until ctx ends, reconnecting with backoff.
func (r *Relay) Run(ctx context.Context) {
	log := r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		started := time.Now()
		err := r.session(ctx, log)
		if ctx.Err() != nil {
			return
		}
		if time.Since(started) > time.Minute {
			backoff = 0 // a long healthy session starts the backoff over
		}
		backoff = min(max(2*backoff, 250*time.Millisecond), 30*time.Second)
		wait := backoff/2 + rand.N(backoff/2+1)
		log.Warn("streaming relay connection lost; reconnecting", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// session takes a dedicated connection, waits to be elected and relays
// until the connection fails. Closing the connection releases the lock.
func (r *Relay) session(ctx context.Context, log *slog.Logger) error {
	pc, err := r.DB.Acquire(ctx)
	if err != nil {
		return err
	}
	conn := pc.Hijack() // the pool forgets it; it holds the lock and LISTEN
	defer conn.Close(context.Background())
	poll := r.Poll
	if poll <= 0 {
		poll = 2 * time.Second
	}
	for {
		var got bool
		if err := conn.QueryRow(ctx, `select pg_try_advisory_lock($1)`, relayLock).Scan(&got); err != nil {
			return fmt.Errorf("streaming relay election: %w", err)
		}
		if got {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
	if _, err := conn.Exec(ctx, `listen `+pgx.Identifier{StreamChannel}.Sanitize()); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	r.leading.Store(true)
	defer r.leading.Store(false)
	log.Info("streaming relay elected: relaying events to Redis", "pid", conn.PgConn().PID())
	if r.Elected != nil {
		r.Elected(ctx)
	}
	ping := r.Ping
	if ping <= 0 {
		ping = 30 * time.Second
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, ping)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if !pgconn.Timeout(err) && !errors.Is(err, context.DeadlineExceeded) {
				return err
			}
			// Idle: make sure the connection (and so the lock) is alive.
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			_, err = conn.Exec(pctx, `select 1`)
			cancel()
			if err != nil {
				return fmt.Errorf("streaming relay ping: %w", err)
			}
			continue
		}
		if n.Channel == StreamChannel {
			r.Handle(ctx, n.Payload)
		}
	}
}
