package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/fetch"
	"github.com/roost-social/roost/federation/signature"
	"github.com/roost-social/roost/internal/errs"
)

// Worker consumes the delivery streams. Several workers (processes) share
// the consumer group; each needs a unique Consumer name.
type Worker struct {
	Queue    *Queue
	Fetch    *fetch.Client
	Consumer string
	// KeyID returns the key id a local account signs with.
	KeyID func(ctx context.Context, a *federation.Account) (string, error)
	// Concurrency is the number of deliveries in flight (default 64);
	// PerHost caps those to one host (default 8).
	Concurrency, PerHost int
	// GiveUpAfter is how long a delivery is retried (default 3 days).
	GiveUpAfter time.Duration
	// ClaimIdle is how long a stream entry may sit unacknowledged with a
	// consumer before another takes it over (default 1 minute).
	ClaimIdle time.Duration
	// SweepEvery is how often due rows are re-dispatched (default 5 s).
	SweepEvery time.Duration
	Log        *slog.Logger
	Now        func() time.Time

	breakers breakers
	hostsMu  sync.Mutex
	hosts    map[string]chan struct{}
}

func (w *Worker) defaults() {
	if w.Concurrency == 0 {
		w.Concurrency = 64
	}
	if w.PerHost == 0 {
		w.PerHost = 8
	}
	if w.GiveUpAfter == 0 {
		w.GiveUpAfter = 72 * time.Hour
	}
	if w.ClaimIdle == 0 {
		w.ClaimIdle = time.Minute
	}
	if w.SweepEvery == 0 {
		w.SweepEvery = 5 * time.Second
	}
	if w.Now == nil {
		w.Now = time.Now
	}
	if w.Log == nil {
		w.Log = slog.Default()
	}
	w.hosts = map[string]chan struct{}{}
}

type entry struct {
	lane, streamID string
	id             int64
}

// Run consumes until ctx ends, then waits for deliveries in flight.
func (w *Worker) Run(ctx context.Context) error {
	w.defaults()
	for _, lane := range []string{laneExpress, laneBulk, laneRetry} {
		err := w.Queue.Redis.XGroupCreateMkStream(ctx, w.Queue.stream(lane), group, "0").Err()
		if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
			return fmt.Errorf("create consumer group: %w", err)
		}
	}
	work := make(chan entry)
	var wg sync.WaitGroup
	for range w.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range work {
				w.handle(context.WithoutCancel(ctx), e)
			}
		}()
	}
	go w.sweep(ctx)
	w.read(ctx, work)
	close(work)
	wg.Wait()
	return nil
}

// read feeds entries to the pool, express first, fresh before retries,
// and takes over entries idle with dead consumers.
func (w *Worker) read(ctx context.Context, work chan<- entry) {
	lastClaim := time.Time{}
	for ctx.Err() == nil {
		if time.Since(lastClaim) > w.ClaimIdle/2 {
			w.claim(ctx, work)
			lastClaim = time.Now()
		}
		got := false
		for _, lane := range []string{laneExpress, laneBulk, laneRetry} {
			if w.readLane(ctx, lane, -1, work) {
				got = true
				break
			}
		}
		if !got {
			w.readLane(ctx, "", time.Second, work)
		}
	}
}

// readLane reads up to a batch from one lane without blocking (block<0),
// or from all lanes blocking up to block (lane "").
func (w *Worker) readLane(ctx context.Context, lane string, block time.Duration, work chan<- entry) bool {
	q := w.Queue
	streams := []string{q.stream(lane), ">"}
	if lane == "" {
		streams = []string{q.stream(laneExpress), q.stream(laneBulk), q.stream(laneRetry), ">", ">", ">"}
	}
	res, err := q.Redis.XReadGroup(ctx, &goredis.XReadGroupArgs{
		Group: group, Consumer: w.Consumer, Streams: streams, Count: int64(w.Concurrency), Block: block,
	}).Result()
	if err != nil {
		if !errors.Is(err, goredis.Nil) && ctx.Err() == nil {
			w.Log.Warn("reading delivery stream", "err", err)
			if strings.Contains(err.Error(), "NOGROUP") {
				w.recreateGroups(ctx)
			}
			sleep(ctx, time.Second)
		}
		return false
	}
	n := 0
	for _, s := range res {
		for _, m := range s.Messages {
			n++
			w.send(ctx, work, s.Stream, m)
		}
	}
	return n > 0
}

// recreateGroups restores the streams after Redis lost them (a restart
// without persistence); the sweeper refills them from PostgreSQL.
func (w *Worker) recreateGroups(ctx context.Context) {
	for _, lane := range []string{laneExpress, laneBulk, laneRetry} {
		w.Queue.Redis.XGroupCreateMkStream(ctx, w.Queue.stream(lane), group, "0")
	}
}

func (w *Worker) send(ctx context.Context, work chan<- entry, stream string, m goredis.XMessage) {
	id, _ := strconv.ParseInt(fmt.Sprint(m.Values["id"]), 10, 64)
	select {
	case work <- entry{lane: stream, streamID: m.ID, id: id}:
	case <-ctx.Done():
	}
}

// claim takes over entries another consumer read but never acknowledged
// (it died mid-batch).
func (w *Worker) claim(ctx context.Context, work chan<- entry) {
	for _, lane := range []string{laneExpress, laneBulk, laneRetry} {
		stream := w.Queue.stream(lane)
		msgs, _, err := w.Queue.Redis.XAutoClaim(ctx, &goredis.XAutoClaimArgs{
			Stream: stream, Group: group, Consumer: w.Consumer, MinIdle: w.ClaimIdle, Start: "0", Count: 256,
		}).Result()
		if err != nil {
			continue
		}
		for _, m := range msgs {
			w.send(ctx, work, stream, m)
		}
	}
}

// sweep re-dispatches pending rows that are due: retries whose time has
// come, and rows whose stream entry was lost.
func (w *Worker) sweep(ctx context.Context) {
	t := time.NewTicker(w.SweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// Rows due for longer than a sweep interval were not picked up from
		// the stream: dispatch them (again) on the retry lane.
		ids, err := w.Queue.Store.DueDeliveries(ctx, w.Now().Add(-w.SweepEvery), 5000)
		if err != nil {
			w.Log.Warn("sweeping deliveries", "err", err)
			continue
		}
		if err := w.Queue.dispatch(ctx, laneRetry, ids); err != nil {
			w.Log.Warn("re-dispatching deliveries", "err", err)
		}
	}
}

func (w *Worker) ack(ctx context.Context, e entry) {
	w.Queue.Redis.XAck(ctx, e.lane, group, e.streamID)
	w.Queue.Redis.XDel(ctx, e.lane, e.streamID)
}

// handle attempts one delivery and records the outcome in PostgreSQL
// before acknowledging the stream entry.
func (w *Worker) handle(ctx context.Context, e entry) {
	d, sender, err := w.Queue.Store.Delivery(ctx, e.id)
	if errs.Is(err, errs.NotFound) {
		w.ack(ctx, e)
		return
	}
	if err != nil {
		w.Log.Warn("loading delivery", "id", e.id, "err", err)
		return // unacknowledged: reclaimed later
	}
	now := w.Now()
	if d.State != "pending" || d.NextAttemptAt.After(now) {
		w.ack(ctx, e) // done already, or a retry the sweeper will bring back
		return
	}
	if until, open := w.breakers.open(d.Host, now); open {
		w.fail(ctx, d, 0, "circuit open for "+d.Host, until)
		w.ack(ctx, e)
		return
	}
	status, err := w.attempt(ctx, d, sender)
	switch {
	case err == nil && status >= 200 && status < 300:
		w.breakers.success(d.Host)
		if err := w.Queue.Store.MarkDelivered(ctx, d.ID, status); err != nil {
			w.Log.Warn("recording delivery", "id", d.ID, "err", err)
			return
		}
	case err == nil && permanent(status):
		w.breakers.success(d.Host) // the host answered; it is alive
		w.Queue.Store.MarkFailed(ctx, d.ID, status, "refused by the receiver", time.Time{})
	default:
		reason := fmt.Sprintf("status %d", status)
		if err != nil {
			reason = err.Error()
		}
		w.breakers.failure(d.Host, now)
		w.fail(ctx, d, status, reason, now.Add(backoff(d.Attempts)))
	}
	w.ack(ctx, e)
}

// fail schedules a retry at next, or gives up past GiveUpAfter.
func (w *Worker) fail(ctx context.Context, d *federation.Delivery, status int, reason string, next time.Time) {
	if !next.IsZero() && next.Sub(d.CreatedAt) > w.GiveUpAfter {
		next = time.Time{} // retried for long enough: failed for good
	}
	if err := w.Queue.Store.MarkFailed(ctx, d.ID, status, reason, next); err != nil {
		w.Log.Warn("recording failed delivery", "id", d.ID, "err", err)
	}
}

// permanent reports statuses that retrying cannot fix.
func permanent(status int) bool {
	return status >= 400 && status < 500 && status != http.StatusTooManyRequests && status != http.StatusRequestTimeout
}

// attempt signs the request afresh (new Date) and POSTs it, holding one
// of the host's slots.
func (w *Worker) attempt(ctx context.Context, d *federation.Delivery, sender *federation.Account) (int, error) {
	slot := w.hostSlot(d.Host)
	slot <- struct{}{}
	defer func() { <-slot }()
	keyID, err := w.KeyID(ctx, sender)
	if err != nil {
		return 0, err
	}
	key, err := signature.ParsePrivateKeyPEM(sender.PrivateKeyPEM)
	if err != nil {
		return 0, err
	}
	return w.Fetch.Post(ctx, d.Inbox, d.Body, func(r *http.Request, body []byte) error {
		return signature.Sign(r, body, keyID, key, w.Now())
	})
}

func (w *Worker) hostSlot(host string) chan struct{} {
	w.hostsMu.Lock()
	defer w.hostsMu.Unlock()
	s, ok := w.hosts[host]
	if !ok {
		s = make(chan struct{}, w.PerHost)
		w.hosts[host] = s
	}
	return s
}

// backoff grows exponentially from 30 s to a 6 h ceiling.
func backoff(attempts int) time.Duration {
	d := 30 * time.Second << min(attempts, 10)
	return min(d, 6*time.Hour)
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
