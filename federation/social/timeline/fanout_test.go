package timeline

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/roost-social/roost/federation"
)

// fanOutQueue is a fake of federation.HomeFanOuts: fan-outs of n
// followers each, taken in order, a batch at a time.
type fanOutQueue struct {
	mu      sync.Mutex
	left    []int // followers still to reach, per queued fan-out
	batches []int // batch size asked at each step
	failAt  int   // the step (1-based) that fails; 0: none
	steps   int
}

func (q *fanOutQueue) HomeFanOutStep(_ context.Context, batch, _ int) (federation.FanOutStep, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.steps++
	q.batches = append(q.batches, batch)
	if q.steps == q.failAt {
		return federation.FanOutStep{}, errors.New("database gone")
	}
	if len(q.left) == 0 {
		return federation.FanOutStep{}, nil
	}
	n := min(batch, q.left[0])
	q.left[0] -= n
	done := n < batch
	if done {
		q.left = q.left[1:]
	}
	return federation.FanOutStep{Worked: true, Done: done, Filed: n}, nil
}

// Issue 21: one pass finishes every queued fan-out in bounded batches and
// stops when the queue is empty; a failing step ends the pass with its
// error and the next pass goes on.
func TestIssue21FanOutPassDrainsTheQueueInBatches(t *testing.T) {
	q := &fanOutQueue{left: []int{250, 10}}
	f := &FanOut{Store: q, Batch: 100}
	worked, err := f.Pass(context.Background())
	if err != nil || !worked {
		t.Fatalf("pass: worked %v, %v", worked, err)
	}
	if len(q.left) != 0 {
		t.Errorf("fan-outs left: %v", q.left)
	}
	// 250 takes 3 steps, 10 one, and one more finds the queue empty.
	if q.steps != 5 {
		t.Errorf("steps = %d, want 5", q.steps)
	}
	for _, b := range q.batches {
		if b != 100 {
			t.Errorf("asked a batch of %d, want 100", b)
		}
	}
	if worked, err := f.Pass(context.Background()); worked || err != nil {
		t.Errorf("pass over an empty queue: worked %v, %v", worked, err)
	}
}

func TestIssue21FanOutPassStopsAtAFailureAndResumes(t *testing.T) {
	q := &fanOutQueue{left: []int{2500}, failAt: 2}
	f := &FanOut{Store: q} // default batch: 1000
	if _, err := f.Pass(context.Background()); err == nil {
		t.Fatal("a failed step did not fail the pass")
	}
	if q.left[0] != 1500 {
		t.Fatalf("left after the failure: %v", q.left)
	}
	if _, err := f.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(q.left) != 0 || q.batches[0] != 1000 {
		t.Errorf("left %v, batches %v", q.left, q.batches)
	}
}

// Run ends when its context does, with every worker.
func TestIssue21FanOutRunStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	wake := make(chan struct{}, 1)
	q := &fanOutQueue{left: []int{5}}
	f := &FanOut{Store: &cancelAfter{fanOutQueue: q, cancel: cancel, after: 3}, Wake: wake, Workers: 3}
	wake <- struct{}{}
	if err := f.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if len(q.left) != 0 {
		t.Errorf("fan-outs left: %v", q.left)
	}
}

// cancelAfter cancels the run once the queue was found empty after times.
type cancelAfter struct {
	*fanOutQueue
	cancel context.CancelFunc
	after  int
}

func (c *cancelAfter) HomeFanOutStep(ctx context.Context, batch, pull int) (federation.FanOutStep, error) {
	st, err := c.fanOutQueue.HomeFanOutStep(ctx, batch, pull)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !st.Worked && c.steps >= c.after {
		c.cancel()
	}
	return st, err
}
