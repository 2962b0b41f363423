package pgutil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (f *fakeClock) now() time.Time      { return f.t }
func (f *fakeClock) add(d time.Duration) { f.t = f.t.Add(d) }
func quiet() *slog.Logger                { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
func refused(ctx context.Context) bool   { return ctx.Err() != nil }
func start(c *Circuit) context.Context {
	return c.TraceAcquireStart(context.Background(), nil, pgxpool.TraceAcquireStartData{})
}
func end(c *Circuit, ctx context.Context, err error) {
	c.TraceAcquireEnd(ctx, nil, pgxpool.TraceAcquireEndData{Err: err})
}

// Issue 19: the pool's circuit. A refused connection opens it; while open
// every acquisition fails at once but one probe per ProbeEvery; a probe
// that connects closes it, and the node serves again without a restart.
// The clock is injected: nothing here waits.
func TestIssue19CircuitOpensOnDownAndProbesBack(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	c := &Circuit{ProbeEvery: time.Second, Now: clk.now, Log: quiet()}
	refusedErr := fmt.Errorf("acquire: %w", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED})

	ctx := start(c)
	if refused(ctx) {
		t.Fatal("a closed circuit refused an acquisition")
	}
	end(c, ctx, refusedErr)
	if !c.Open() {
		t.Fatal("a refused connection left the circuit closed")
	}
	for i := range 3 {
		if ctx := start(c); !refused(ctx) {
			t.Fatalf("acquisition %d went on inside the probe interval", i)
		}
	}
	clk.add(time.Second)
	probe := start(c)
	if refused(probe) {
		t.Fatal("no probe after the probe interval")
	}
	if ctx := start(c); !refused(ctx) {
		t.Fatal("a second acquisition went on while a probe is out")
	}
	end(c, probe, refusedErr) // still down
	if !c.Open() {
		t.Fatal("a failed probe closed the circuit")
	}
	if ctx := start(c); !refused(ctx) {
		t.Fatal("acquisition went on right after a failed probe")
	}
	clk.add(time.Second)
	probe = start(c)
	end(c, probe, context.Canceled) // its caller gave up: inconclusive
	if !c.Open() {
		t.Fatal("an inconclusive probe closed the circuit")
	}
	probe = start(c) // a probe may go again at once
	if refused(probe) {
		t.Fatal("an inconclusive probe held the probe slot")
	}
	end(c, probe, nil)
	if c.Open() {
		t.Fatal("a probe that connected left the circuit open")
	}
	if ctx := start(c); refused(ctx) {
		t.Fatal("a closed circuit refused an acquisition after recovery")
	}
	// A server shutting down under an open connection opens it too.
	c.TraceQueryEnd(context.Background(), nil, pgx.TraceQueryEndData{Err: &pgconn.PgError{Code: "57P01"}})
	if !c.Open() {
		t.Fatal("admin_shutdown on a query left the circuit closed")
	}
}

// The acquisition bound (ROOST_DB_ACQUIRE_TIMEOUT) is on the context the
// pool acquires with, and is released at the end; with none configured
// the caller's deadline alone applies.
func TestIssue19CircuitBoundsAcquisition(t *testing.T) {
	c := &Circuit{AcquireTimeout: 3 * time.Second, Log: quiet()}
	before := time.Now()
	ctx := start(c)
	dl, ok := ctx.Deadline()
	if !ok || dl.Before(before.Add(3*time.Second)) || dl.After(time.Now().Add(3*time.Second)) {
		t.Fatalf("acquisition deadline %v (set %v), want the configured 3s from the start", dl, ok)
	}
	end(c, ctx, nil)
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Fatalf("the bound was not released at the end: %v", ctx.Err())
	}
	if _, ok := start(&Circuit{}).Deadline(); ok {
		t.Fatal("a deadline without AcquireTimeout")
	}
}

// What opens the circuit: the server gone, never the caller's own
// deadline or a statement's error.
func TestIssue19IsDown(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true},
		{fmt.Errorf("query: %w", io.ErrUnexpectedEOF), true},
		{&pgconn.PgError{Code: "57P01"}, true},
		{&pgconn.PgError{Code: "57P03"}, true},
		{&pgconn.PgError{Code: "08006"}, true},
		{&pgconn.PgError{Code: "23505"}, false},
		{&pgconn.PgError{Code: "53300"}, false}, // too many connections: overloaded, not down
		{context.DeadlineExceeded, false},
		{context.Canceled, false},
		{pgx.ErrNoRows, false},
		{nil, false},
	} {
		if got := IsDown(tc.err); got != tc.want {
			t.Errorf("IsDown(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
