package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/internal/testenv"
)

// ROOST_DB_ACQUIRE_TIMEOUT: with every pooled connection taken, a query
// gives up waiting for one with context.DeadlineExceeded (answered 503
// with Retry-After by the API) instead of waiting as long as its caller
// would; the query itself is not bounded by it, and once a connection is
// free queries run again.
func TestPoolAcquireTimeout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pcfg, err := pgxpool.ParseConfig(testenv.DatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	pcfg.MaxConns = 1
	boundAcquire(pcfg, 200*time.Millisecond)
	db, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The bound covers dialling too: on a loaded machine the first
	// connection may take longer than 200 ms, so take it with retries
	// (the pool keeps finishing a connection its caller gave up on).
	var held *pgxpool.Conn
	for deadline := time.Now().Add(time.Minute); ; {
		if held, err = db.Acquire(ctx); err == nil {
			break
		}
		if !errors.Is(err, context.DeadlineExceeded) || time.Now().After(deadline) {
			t.Fatal(err)
		}
	}
	// A generous caller deadline: the query must fail on its own, not hang.
	qctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var one int
	err = db.QueryRow(qctx, `select 1`).Scan(&one)
	if !errors.Is(err, context.DeadlineExceeded) || qctx.Err() != nil {
		t.Fatalf("query with the pool exhausted: %v (caller's context: %v)", err, qctx.Err())
	}
	held.Release()
	// A statement longer than the acquisition bound still completes.
	if err := db.QueryRow(qctx, `select 1 from pg_sleep(0.5)`).Scan(&one); err != nil || one != 1 {
		t.Fatalf("query after release: %d %v", one, err)
	}
}
