package pgutil

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultProbeEvery is how often an open circuit lets one acquisition
// through to find out whether PostgreSQL is back.
const DefaultProbeEvery = 500 * time.Millisecond

// Circuit bounds and watches a pool's acquisitions (it is the pool's
// tracer: Install). It does two things:
//
//   - Every acquisition waits at most AcquireTimeout for a connection
//     (pgxpool has no such setting): under overload a request then fails
//     with context.DeadlineExceeded, answered 503 with Retry-After, rather
//     than queueing for its whole 30 s deadline.
//   - When a connection cannot be made or dies because the server is
//     gone (IsDown), the circuit opens: the pool's connections are
//     dropped, and every acquisition fails at once with context.Canceled
//     instead of each request dialling a dead server (or, for a server
//     that does not answer, waiting out the connect timeout) and queueing
//     behind the others. One acquisition per ProbeEvery is let through as
//     a probe; the first that gets a connection closes the circuit, so
//     the node resumes on its own when PostgreSQL is back.
//
// The pool's own connection checks (a ping before reusing a connection
// idle for a second) stay in place; the circuit only spares requests the
// wait when the server is known to be down.
type Circuit struct {
	// AcquireTimeout bounds the wait for a connection; 0: the caller's
	// deadline only.
	AcquireTimeout time.Duration
	// ProbeEvery spaces the probes of an open circuit (DefaultProbeEvery
	// when 0).
	ProbeEvery time.Duration
	// Now reads the clock (time.Now when nil); tests inject one.
	Now func() time.Time
	// Log receives the circuit's transitions (slog.Default when nil).
	Log *slog.Logger

	mu        sync.Mutex
	pool      *pgxpool.Pool
	open      bool
	since     time.Time // when it opened
	lastProbe time.Time
	probing   bool
}

type circuitKey int

const (
	cancelKey  circuitKey = iota // the acquisition bound's cancel func
	probeKey                     // this acquisition is the open circuit's probe
	refusedKey                   // refused by the open circuit
)

// Install makes c the pool's tracer. A configuration that already has a
// tracer keeps it, and c then bounds nothing.
func (c *Circuit) Install(cfg *pgxpool.Config) {
	if cfg.ConnConfig.Tracer == nil {
		cfg.ConnConfig.Tracer = c
	}
}

// Attach tells c the pool whose connections to drop when it opens.
func (c *Circuit) Attach(p *pgxpool.Pool) {
	c.mu.Lock()
	c.pool = p
	c.mu.Unlock()
}

// Open reports whether the circuit is open (PostgreSQL seen down).
func (c *Circuit) Open() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.open
}

// TraceAcquireStart refuses the acquisition while the circuit is open
// (but for a probe), and otherwise bounds it by AcquireTimeout. pgxpool
// uses the returned context for the acquisition alone; the query runs on
// the caller's.
func (c *Circuit) TraceAcquireStart(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	admit, probe := c.admit()
	if !admit {
		ctx, cancel := context.WithCancel(ctx)
		cancel() // pgxpool checks the context first: fails at once
		return context.WithValue(ctx, refusedKey, true)
	}
	if probe {
		ctx = context.WithValue(ctx, probeKey, true)
	}
	if c.AcquireTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.AcquireTimeout)
		ctx = context.WithValue(ctx, cancelKey, cancel)
	}
	return ctx
}

// TraceAcquireEnd releases the bound and learns from the outcome: a
// connection closes the circuit, a dead server opens it.
func (c *Circuit) TraceAcquireEnd(ctx context.Context, _ *pgxpool.Pool, d pgxpool.TraceAcquireEndData) {
	if cancel, ok := ctx.Value(cancelKey).(context.CancelFunc); ok {
		cancel()
	}
	if ctx.Value(refusedKey) != nil {
		return
	}
	probe := ctx.Value(probeKey) != nil
	switch {
	case d.Err == nil:
		c.closeCircuit(probe)
	case IsDown(d.Err):
		c.trip(probe, d.Err, false)
	case probe:
		c.mu.Lock()
		c.probing, c.lastProbe = false, time.Time{} // inconclusive (its caller gave up): the next one probes
		c.mu.Unlock()
	}
}

// TraceQueryStart does nothing: pgx only accepts an AcquireTracer that is
// also a QueryTracer.
func (c *Circuit) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

// TraceQueryEnd opens the circuit when a query found the server gone (it
// shut down or crashed under an open connection).
func (c *Circuit) TraceQueryEnd(_ context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	if d.Err != nil && IsDown(d.Err) {
		c.trip(false, d.Err, true)
	}
}

// admit says whether an acquisition may go on, and whether it is the
// open circuit's probe.
func (c *Circuit) admit() (admit, probe bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.open {
		return true, false
	}
	now := c.now()
	if c.probing || now.Sub(c.lastProbe) < c.probeEvery() {
		return false, false
	}
	c.probing, c.lastProbe = true, now
	return true, true
}

// trip opens the circuit. onQuery says a query, not a connection attempt,
// found the server gone: that connection may only have been one the
// server dropped while the node was not looking (a restart it never saw),
// so the next acquisition probes at once, on a new connection (the pool
// is reset), instead of every request meeting 503 for a probe interval.
func (c *Circuit) trip(probe bool, err error, onQuery bool) {
	c.mu.Lock()
	if probe {
		c.probing = false
	}
	if c.open {
		c.mu.Unlock()
		return
	}
	c.open, c.since, c.lastProbe = true, c.now(), c.now()
	if onQuery {
		c.lastProbe = time.Time{}
	}
	pool := c.pool
	c.mu.Unlock()
	c.log().Error("PostgreSQL is unreachable; answering 503 until a probe connects", "err", err,
		"probe_every", c.probeEvery())
	if pool != nil {
		// Every pooled connection was to the server that went away;
		// keeping them would make each later request find one dead.
		pool.Reset()
	}
}

func (c *Circuit) closeCircuit(probe bool) {
	c.mu.Lock()
	if probe {
		c.probing = false
	}
	if !c.open {
		c.mu.Unlock()
		return
	}
	c.open = false
	down := c.now().Sub(c.since)
	c.mu.Unlock()
	// The pool is not emptied again here: trip did, so what it holds now
	// was made after, and under overload (connections timing out) a second
	// emptying would only make PostgreSQL fork them all again.
	c.log().Warn("PostgreSQL is reachable again", "down_for", down)
}

func (c *Circuit) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

func (c *Circuit) probeEvery() time.Duration {
	if c.ProbeEvery <= 0 {
		return DefaultProbeEvery
	}
	return c.ProbeEvery
}

func (c *Circuit) log() *slog.Logger {
	if c.Log == nil {
		return slog.Default()
	}
	return c.Log
}

// IsDown reports whether err says the database server is gone or not
// accepting sessions — refused or failed connections, a connection that
// broke, the server shutting down, crashed or starting up — as opposed to
// an error of the statement, or the caller's own deadline or cancellation.
func IsDown(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// 08: connection exception; 57P01-03: admin shutdown, crash
		// shutdown, cannot connect now (starting or stopping).
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		// A connection that could not be made; only its caller giving up
		// says nothing about the server.
		return !errors.Is(err, context.Canceled)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
