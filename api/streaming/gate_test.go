package streaming

import (
	"sync/atomic"
	"testing"
	"time"
)

// Finding 11: a connection's place is given back exactly once, whether
// the connection ends, or its handshake never became a connection (the
// hijack handler never ran) and the grace ran out.
func TestIssue14Finding11PlaceGivenBackOnce(t *testing.T) {
	t.Parallel()
	var released atomic.Int32
	release := func() { released.Add(1) }

	served := newTicket(release, time.Hour)
	if !served.start() {
		t.Fatal("a fresh ticket did not start")
	}
	served.done()
	served.done()
	if n := released.Load(); n != 1 {
		t.Fatalf("a served connection gave its place back %d times", n)
	}

	never := newTicket(release, time.Millisecond)
	for deadline := time.Now().Add(10 * time.Second); released.Load() < 2 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if never.start() {
		t.Fatal("a ticket given back after its grace still started a connection")
	}
	never.done()
	if n := released.Load(); n != 2 {
		t.Fatalf("places given back: %d, want 2", n)
	}
}
