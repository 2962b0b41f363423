package delivery

import (
	"container/heap"
	"runtime"
	"sync"
)

// signGate bounds the signatures computed at once to the cores, and gives
// a free core to the most urgent waiter first (issue 20). Signing is where
// a delivery spends its CPU; with a pool of deliveries in flight all
// signing at once, every one of them — a quiet tenant's direct message
// among a busy tenant's fan-out — took as long as the whole pool's share
// of the CPU. Queued here instead, express deliveries go first, and among
// equals the tenant with the fewest waiting, so a quiet tenant's message
// is signed next whatever another tenant has in flight. Throughput is
// unchanged: signing is CPU-bound, and the cores are as busy as before.
type signGate struct {
	mu      sync.Mutex
	free    int
	waiters waitHeap
	waiting map[int64]int // tenant → its deliveries waiting here
	seq     uint64
}

func newSignGate(slots int) *signGate {
	if slots <= 0 {
		slots = runtime.GOMAXPROCS(0)
	}
	return &signGate{free: slots, waiting: map[int64]int{}}
}

// acquire waits for a slot; the returned func gives it back.
func (g *signGate) acquire(tenantID int64, express bool) func() {
	g.mu.Lock()
	if g.free > 0 && len(g.waiters) == 0 {
		g.free--
		g.mu.Unlock()
		return g.release
	}
	w := &waiter{ready: make(chan struct{}), tenant: tenantID, express: express, ahead: g.waiting[tenantID], seq: g.seq}
	g.seq++
	g.waiting[tenantID]++
	heap.Push(&g.waiters, w)
	g.mu.Unlock()
	<-w.ready
	return g.release
}

// release hands the slot to the most urgent waiter, or frees it.
func (g *signGate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.waiters) == 0 {
		g.free++
		return
	}
	w := heap.Pop(&g.waiters).(*waiter)
	if g.waiting[w.tenant]--; g.waiting[w.tenant] <= 0 {
		delete(g.waiting, w.tenant)
	}
	close(w.ready)
}

// waiter is one delivery waiting to sign.
type waiter struct {
	ready   chan struct{}
	tenant  int64
	express bool
	ahead   int // its tenant's deliveries already waiting when it came
	seq     uint64
}

// waitHeap orders waiters: express first, then the fewest of its tenant
// ahead of it, then arrival.
type waitHeap []*waiter

func (h waitHeap) Len() int { return len(h) }
func (h waitHeap) Less(i, j int) bool {
	a, b := h[i], h[j]
	if a.express != b.express {
		return a.express
	}
	if a.ahead != b.ahead {
		return a.ahead < b.ahead
	}
	return a.seq < b.seq
}
func (h waitHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *waitHeap) Push(x any)   { *h = append(*h, x.(*waiter)) }
func (h *waitHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return w
}
