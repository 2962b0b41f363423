package delivery_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/delivery"
	"github.com/roost-social/roost/federation/fetch"
)

// markFailedFails is the real delivery store except that recording a
// failed attempt fails while failing is set (PostgreSQL went away between
// the attempt and its record); calls counts those refused records.
type markFailedFails struct {
	federation.DeliveryStore
	failing atomic.Bool
	calls   chan struct{}
}

func (s *markFailedFails) MarkFailed(ctx context.Context, id int64, status int, reason string, next time.Time) error {
	if s.failing.Load() {
		select {
		case s.calls <- struct{}{}:
		default:
		}
		return errors.New("connection reset")
	}
	return s.DeliveryStore.MarkFailed(ctx, id, status, reason, next)
}

// A failed attempt whose record fails is not acknowledged: its stream
// entry stays pending, and once the database is back XAUTOCLAIM brings it
// back, the attempt is made again and recorded, and only then is the
// entry acknowledged. (Before, the entry was acknowledged and deleted
// anyway, leaving the row to the lease and the sweeper.)
func TestIssue15Finding8FailedRecordIsNotAcknowledged(t *testing.T) {
	t.Parallel()
	r := newIdleRig(t, http.StatusInternalServerError)
	ctx := context.Background()
	store := &markFailedFails{DeliveryStore: r.store, calls: make(chan struct{}, 1)}
	store.failing.Store(true)
	q := *r.queue
	q.Store = store
	addr := r.recvAddr
	// ClaimIdle is short so that the entry comes back soon; the row's
	// lease (nine tenths of it) has run out by then.
	worker := func(claimIdle, sweep time.Duration) func() {
		w := &delivery.Worker{
			Queue: &q, Consumer: "issue15", ClaimIdle: claimIdle, SweepEvery: sweep, Log: q.Log,
			Fetch: fetch.New(fetch.Config{Resolve: map[string]string{"recv.test": addr}}),
			KeyID: func(context.Context, *federation.Account) (string, error) { return keyID, nil },
		}
		wctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { _ = w.Run(wctx); close(done) }()
		return func() { cancel(); <-done } // Run returns after every handler has
	}
	// The failing worker reclaims nothing while it runs (ClaimIdle an hour):
	// a reclaim of the entry before stop() could find the row still leased
	// by its own first claim on a loaded machine, and acknowledge it
	// unattempted (a flake). No sweeper: only the entry brings the row back.
	stop := worker(time.Hour, time.Hour)
	if err := q.Send(ctx, r.sender.ID, "http://a.example/a/issue15", []byte(`{}`), inboxes(1), true); err != nil {
		t.Fatal(err)
	}
	select {
	case <-store.calls:
	case <-time.After(30 * time.Second):
		t.Fatal("the failed attempt was never recorded")
	}
	stop()
	if n := r.pending(t); n != 1 {
		t.Fatalf("%d unacknowledged stream entries after a failed record, want 1", n)
	}
	store.failing.Store(false)
	// The stopped worker's lease on the row (nine tenths of its hour) runs
	// out, as it would have by the time its entry idled that long.
	if _, err := r.db.Exec(ctx, `update deliveries set leased_until = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	// The entry is reclaimed once idle; should its row still be leased by
	// the stopped worker's last claim (a loaded machine delays the lease
	// past the entry's idle time), the entry is acknowledged unattempted
	// and the sweeper, as in production, dispatches the row again.
	stop = worker(50*time.Millisecond, 100*time.Millisecond)
	defer stop()
	eventually(t, "the retried attempt recorded", func() bool {
		return r.state(t, `select state || ' ' || coalesce(last_status, 0) from deliveries`) == "pending 500"
	})
	eventually(t, "the entry acknowledged", func() bool { return r.pending(t) == 0 })
}

// pending counts the stream entries read but not acknowledged, on every
// lane.
func (r *rig) pending(t *testing.T) int64 {
	t.Helper()
	var n int64
	for _, lane := range []string{"express", "bulk", "retry"} {
		p, err := r.queue.Redis.XPending(context.Background(), r.queue.Prefix+"deliveries:"+lane, "workers").Result()
		if err != nil && !strings.Contains(err.Error(), "NOGROUP") {
			t.Fatal(err)
		}
		if err == nil {
			n += p.Count
		}
	}
	return n
}
