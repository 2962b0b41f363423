package certs

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roost-social/roost/internal/errs"
)

// A cold handshake (a name not in the node's memory) costs database
// reads: the host lookup, then the stored certificate, key and metadata.
// Those are bounded per node by how many run at once, not by how many
// start per second: a node restarted in front of 100,000 tenant domains
// must answer every legitimate name, however fast they come, and a
// per-second refusal would turn its cold start into failed handshakes.
// A gate lets a few run, queues more (each for a bounded wait) and
// refuses the rest at once, so a flood costs a fixed number of database
// connections and parked goroutines. The Manager gates whole cold
// handshakes (decision and load), giving the slot back when one turns
// into an ACME order (bounded by the order limits instead); the Decider
// gates its host lookups (also asked outside handshakes).

// Default per-node bounds of a gate.
const (
	DefaultColdConcurrent = 8
	DefaultColdQueue      = 2000
	DefaultColdWait       = 10 * time.Second
)

var errColdBusy = errs.E(errs.Unavailable, "too many certificate loads waiting on this node; try again later")

// gate bounds work in flight: concurrent at once, queue more waiting.
type gate struct {
	slots   chan struct{}
	queue   int64
	wait    time.Duration
	waiting atomic.Int64

	queued, refused atomic.Uint64
}

func newGate(concurrent, queue int, wait time.Duration) *gate {
	if concurrent <= 0 {
		concurrent = DefaultColdConcurrent
	}
	if queue < 0 {
		queue = 0
	}
	if wait <= 0 {
		wait = DefaultColdWait
	}
	return &gate{slots: make(chan struct{}, concurrent), queue: int64(queue), wait: wait}
}

// enter takes a slot, waiting in the queue if there is room; the caller
// must call the returned release exactly once.
func (g *gate) enter(ctx context.Context) (release func(), err error) {
	select {
	case g.slots <- struct{}{}:
		return g.release(), nil
	default:
	}
	if g.waiting.Add(1) > g.queue {
		g.waiting.Add(-1)
		g.refused.Add(1)
		return nil, errColdBusy
	}
	defer g.waiting.Add(-1)
	g.queued.Add(1)
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return g.release(), nil
	case <-ctx.Done():
	case <-t.C:
	}
	g.refused.Add(1)
	return nil, errColdBusy
}

func (g *gate) release() func() {
	var once sync.Once
	return func() { once.Do(func() { <-g.slots }) }
}

// Waiting is how many callers wait for a slot now.
func (g *gate) Waiting() int { return int(g.waiting.Load()) }
