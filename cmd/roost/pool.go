package main

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/internal/config"
)

// acquireTimeout bounds how long a query waits for a pooled PostgreSQL
// connection (ROOST_DB_ACQUIRE_TIMEOUT). Without it a request waits as long
// as its own deadline (30 s): under overload the pool's queue then grows
// with every request admitted, each holding its memory, and answers come
// back long after clients gave up. Bounded, the wait ends in
// context.DeadlineExceeded, which the API answers 503 with Retry-After.
//
// pgxpool has no setting for it; an AcquireTracer may replace the context
// Acquire uses, and that context is used for the acquisition alone (the
// query runs on the caller's).
type acquireTimeout struct{ d time.Duration }

type acquireCancelKey struct{}

func (a acquireTimeout) TraceAcquireStart(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	ctx, cancel := context.WithTimeout(ctx, a.d)
	return context.WithValue(ctx, acquireCancelKey{}, cancel)
}

func (a acquireTimeout) TraceAcquireEnd(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireEndData) {
	if cancel, ok := ctx.Value(acquireCancelKey{}).(context.CancelFunc); ok {
		cancel()
	}
}

// TraceQueryStart and TraceQueryEnd do nothing: pgx only accepts an
// AcquireTracer that is also a QueryTracer.
func (acquireTimeout) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

func (acquireTimeout) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// boundAcquire installs the acquisition bound on a pool's configuration
// unless something else already traces its connections.
func boundAcquire(pcfg *pgxpool.Config, d time.Duration) {
	if d > 0 && pcfg.ConnConfig.Tracer == nil {
		pcfg.ConnConfig.Tracer = acquireTimeout{d: d}
	}
}

// maxInflight is ROOST_MAX_INFLIGHT for api.Options: auto is four requests
// per pool connection, enough to keep every connection busy while others
// render and write, few enough that what waits for a connection waits
// briefly (0 in api.Options: no bound).
func maxInflight(cfg *config.Config, svc *services) int {
	switch {
	case cfg.MaxInflight > 0:
		return cfg.MaxInflight
	case cfg.MaxInflight < 0:
		return 0
	}
	return 4 * int(svc.db.Config().MaxConns)
}
