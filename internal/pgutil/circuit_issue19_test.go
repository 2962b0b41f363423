package pgutil

import (
	"context"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// After PostgreSQL returned, one pooled connection that had died in the
// outage (a restart the node never saw) failed its query and reopened
// the circuit: every request for the next probe interval was answered
// 503. A query that finds the server gone now lets the next acquisition
// probe at once (the pool was reset, so it dials anew): when the server
// is in fact up, the circuit closes on that first request. The clock is
// injected and never moves here.
func TestIssue19StaleConnectionAfterRecoveryProbesAtOnce(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	c := &Circuit{ProbeEvery: time.Second, Now: clk.now, Log: quiet()}
	c.TraceQueryEnd(context.Background(), nil, pgx.TraceQueryEndData{Err: io.ErrUnexpectedEOF})
	if !c.Open() {
		t.Fatal("a connection that broke left the circuit closed")
	}
	probe := start(c)
	if refused(probe) {
		t.Fatal("the acquisition after a broken connection was refused 503 instead of probing on a new one")
	}
	if ctx := start(c); !refused(ctx) {
		t.Fatal("a second acquisition went on while a probe is out")
	}
	end(c, probe, nil)
	if c.Open() {
		t.Fatal("the probe connected, the circuit stayed open")
	}
	// A connection attempt that fails is a server down: probes are spaced.
	end(c, start(c), errRefused())
	if ctx := start(c); !refused(ctx) {
		t.Fatal("a refused connection let the next acquisition probe at once")
	}
}

func errRefused() error { return &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED} }
