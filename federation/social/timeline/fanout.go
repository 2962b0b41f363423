package timeline

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/roost-social/roost/federation"
)

// FanOut files statuses with large audiences in their followers' home
// feeds after the posting transaction committed (issue 21): a worker loop
// of `roost work` that takes queued fan-outs a batch of followers at a
// time. Posting stays as fast for 50,000 followers as for 50; followers
// see the post within the time the batches take.
type FanOut struct {
	Store federation.HomeFanOuts
	// Wake signals that a fan-out was queued (nil: poll only).
	Wake <-chan struct{}
	// Batch is how many followers one transaction reaches (default 1000):
	// small enough that a batch holds its locks briefly, large enough that
	// a big audience takes few round trips.
	Batch int
	// PullAbove is the bound on an author's local followers past which
	// their posts are read by the followers' home timelines rather than
	// filed in them (0: federation.HomePullFollowers; negative: none).
	PullAbove int
	// Workers run side by side, each on a different fan-out (default 2).
	Workers int
	// Poll is how often an idle worker looks for work without a wake-up
	// (default 1 s): fan-outs queued while the waker reconnects, and ones
	// postponed after a failure.
	Poll time.Duration
	Log  *slog.Logger
}

// Run works until ctx ends. A failed step is logged and retried after the
// poll interval (the store postpones the failing fan-out); Run returns
// nil when ctx ends.
func (f *FanOut) Run(ctx context.Context) error {
	workers := f.Workers
	if workers <= 0 {
		workers = 2
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.work(ctx)
		}()
	}
	wg.Wait()
	return nil
}

// work is one worker: steps while there is work, then waits.
func (f *FanOut) work(ctx context.Context) {
	poll := f.Poll
	if poll <= 0 {
		poll = time.Second
	}
	for ctx.Err() == nil {
		worked, err := f.Pass(ctx)
		if err != nil && ctx.Err() == nil {
			f.log().Warn("home fan-out failed; retrying later", "err", err)
		}
		if worked && err == nil {
			continue
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
		case <-f.Wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// Pass takes steps until the queue has nothing due (or a step fails) and
// reports whether it did any work.
func (f *FanOut) Pass(ctx context.Context) (bool, error) {
	batch := f.Batch
	if batch <= 0 {
		batch = 1000
	}
	pull := f.PullAbove
	if pull == 0 {
		pull = federation.HomePullFollowers
	}
	worked := false
	for ctx.Err() == nil {
		step, err := f.Store.HomeFanOutStep(ctx, batch, pull)
		if err != nil {
			return worked, err
		}
		if !step.Worked {
			return worked, nil
		}
		worked = true
		if step.Done {
			f.log().Debug("home fan-out done", "after", step.Age)
		}
	}
	return worked, nil
}

func (f *FanOut) log() *slog.Logger {
	if f.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return f.Log
}
