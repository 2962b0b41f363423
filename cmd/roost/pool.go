package main

import (
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/pgutil"
)

// boundAcquire installs the pool's circuit (internal/pgutil.Circuit) on a
// pool configuration: every acquisition waits at most d for a connection
// (ROOST_DB_ACQUIRE_TIMEOUT; under overload the wait ends in
// context.DeadlineExceeded, answered 503 with Retry-After, instead of
// queueing for the request's whole deadline), and while PostgreSQL is
// down acquisitions fail at once rather than each dialling a dead
// server. Attach the returned circuit to the pool once it exists.
func boundAcquire(pcfg *pgxpool.Config, d time.Duration) *pgutil.Circuit {
	c := &pgutil.Circuit{AcquireTimeout: max(d, 0)}
	c.Install(pcfg)
	return c
}

// boundConnect bounds how long one connection attempt to PostgreSQL takes
// (ROOST_DB_CONNECT_TIMEOUT) unless the URL sets connect_timeout: without
// a bound, a server that does not answer (a black-holed network) holds
// the acquisition until the caller's deadline.
func boundConnect(pcfg *pgxpool.Config, d time.Duration) {
	if pcfg.ConnConfig.ConnectTimeout == 0 && d > 0 {
		pcfg.ConnConfig.ConnectTimeout = d
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
