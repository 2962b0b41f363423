package poll

import (
	"context"
	"errors"
	"testing"
	"time"
)

// fakeEnded has pending ended polls and fails when told to.
type fakeEnded struct {
	pending int
	calls   int
	err     error
}

func (f *fakeEnded) NotifyEndedPolls(_ context.Context, now *time.Time, limit int) (int, error) {
	f.calls++
	if now != nil {
		return 0, errors.New("the database's clock decides, not the worker's")
	}
	if f.err != nil {
		return 0, f.err
	}
	n := min(f.pending, limit)
	f.pending -= n
	return n, nil
}

func TestIssue15Finding1PollEndingsDrainABacklog(t *testing.T) {
	f := &fakeEnded{pending: 2*EndingsBatch + 7}
	if err := (&Endings{Store: f}).Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f.pending != 0 || f.calls != 3 {
		t.Fatalf("pending %d after %d batches, want all notified in 3", f.pending, f.calls)
	}
}

func TestIssue15Finding1PollEndingsPassIsBounded(t *testing.T) {
	f := &fakeEnded{pending: 1 << 30}
	if err := (&Endings{Store: f}).Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f.calls != maxBatches {
		t.Fatalf("%d batches in one pass, want at most %d", f.calls, maxBatches)
	}
}

func TestIssue15Finding1PollEndingsReturnStoreErrors(t *testing.T) {
	f := &fakeEnded{err: errors.New("db down")}
	if err := (&Endings{Store: f}).Pass(context.Background()); err == nil {
		t.Fatal("a store error was dropped")
	}
}
