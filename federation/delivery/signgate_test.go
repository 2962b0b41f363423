package delivery

import (
	"runtime"
	"testing"
)

// Issue 20: with the cores taken, the next signature goes to an express
// delivery, and among equals to the tenant with the fewest waiting: a
// quiet tenant's message is not signed after a busy tenant's queue.
// Order is checked, not time.
func TestIssue20SignGateServesQuietExpressFirst(t *testing.T) {
	g := newSignGate(1)
	release := g.acquire(1, false) // the one core, taken
	order := make(chan string, 8)
	wait := func(n int) {
		for {
			g.mu.Lock()
			l := len(g.waiters)
			g.mu.Unlock()
			if l == n {
				return
			}
			runtime.Gosched()
		}
	}
	start := func(name string, tenant int64, express bool, queued int) {
		go func() {
			done := g.acquire(tenant, express)
			order <- name
			done()
		}()
		wait(queued)
	}
	start("A bulk 1", 1, false, 1)
	start("A express 1", 1, true, 2)
	start("A express 2", 1, true, 3)
	start("B express", 2, true, 4)
	start("B bulk", 2, false, 5)
	release()
	want := []string{"B express", "A express 1", "A express 2", "A bulk 1", "B bulk"}
	for i, w := range want {
		if got := <-order; got != w {
			t.Fatalf("signature %d went to %q, want %q (order %v)", i, got, w, want)
		}
	}
}
