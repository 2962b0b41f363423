package delivery

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/roost-social/roost/federation/domainblock"
)

// HostRecorder keeps hosts' delivery health for the dashboard
// (federation/postgres).
type HostRecorder interface {
	RecordHostStates(ctx context.Context, states []domainblock.HostState) error
}

// hostHealth remembers what was last written per host, so a host's row
// is written when its state changes (first success after failures, first
// failure, breaker opening) or at most once a minute, never per delivery.
// The news is written by one goroutine (recordHosts) in batches, off the
// delivery path: a fan-out to thousands of new hosts used to make one
// database round trip per delivery here, each waiting for a pool
// connection the whole pool of attempts was queueing for.
type hostHealth struct {
	mu      sync.Mutex
	last    map[string]hostMark
	pending map[string]domainblock.HostState // news not yet written, latest per host
	wake    chan struct{}                    // one token: pending has news
}

type hostMark struct {
	ok, open bool
	at       time.Time
}

// maxHealthHosts bounds the memory of hosts written.
const maxHealthHosts = 100000

// observe records the outcome of an attempt to host when it is news.
func (w *Worker) observe(host string, ok bool, reason string) {
	if w.Hosts == nil {
		return
	}
	failures, until := w.breakers.state(host)
	now := w.Now()
	open := now.Before(until)
	st := domainblock.HostState{Host: host, Delivered: ok, Error: reason, ConsecutiveFailures: failures, At: now}
	if open {
		st.BreakerUntil = until
	}
	h := &w.health
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.last == nil || len(h.last) > maxHealthHosts {
		h.last = map[string]hostMark{}
	}
	m, seen := h.last[host]
	if seen && m.ok == ok && m.open == open && now.Sub(m.at) < time.Minute {
		return
	}
	if h.pending == nil {
		h.pending = map[string]domainblock.HostState{}
	}
	if _, queued := h.pending[host]; !queued && len(h.pending) >= maxHealthHosts {
		return // the writer is far behind: this host's news waits for its next minute
	}
	h.last[host] = hostMark{ok: ok, open: open, at: now}
	h.pending[host] = st
	select {
	case h.wake <- struct{}{}:
	default: // a wake-up is already waiting
	}
}

// healthBatch bounds the rows of one RecordHostStates call.
const healthBatch = 500

// recordHosts writes hosts' news until ctx ends, then writes what is
// left. It takes whatever is pending at once, without a linger: what
// arrives during a write makes up the next batch.
func (w *Worker) recordHosts(ctx context.Context, stop <-chan struct{}) {
	for {
		select {
		case <-w.health.wake:
			w.writeHosts(ctx)
		case <-stop:
			w.writeHosts(ctx)
			return
		}
	}
}

// writeHosts writes the pending news in batches. A failed batch is only
// logged, as the dashboard's figures are news, not records: the hosts'
// rows are written again on their next change or after a minute.
func (w *Worker) writeHosts(ctx context.Context) {
	h := &w.health
	h.mu.Lock()
	pending := h.pending
	h.pending = nil
	h.mu.Unlock()
	batch := make([]domainblock.HostState, 0, min(len(pending), healthBatch))
	for _, st := range pending {
		if batch = append(batch, st); len(batch) == healthBatch {
			w.recordHostStates(ctx, batch)
			batch = batch[:0]
		}
	}
	w.recordHostStates(ctx, batch)
}

func (w *Worker) recordHostStates(ctx context.Context, states []domainblock.HostState) {
	if len(states) == 0 {
		return
	}
	if err := w.Hosts.RecordHostStates(ctx, states); err != nil {
		w.Log.Warn("recording host states", "n", len(states), "err", err)
	}
}

// heartbeatTTL is how long a worker counts as alive after its last beat.
const heartbeatTTL = 30 * time.Second

func (q *Queue) workerKey(name string) string { return q.Prefix + "delivery-workers:" + name }

// heartbeat marks this worker alive in Redis until ctx ends.
func (w *Worker) heartbeat(ctx context.Context) {
	t := time.NewTicker(heartbeatTTL / 3)
	defer t.Stop()
	for {
		err := w.Queue.Redis.Set(ctx, w.Queue.workerKey(w.Consumer), strconv.FormatInt(w.Now().Unix(), 10), heartbeatTTL).Err()
		if err != nil && ctx.Err() == nil {
			// The queue-health page counts this worker gone until a beat lands.
			w.Log.Warn("delivery worker heartbeat", "err", err)
		}
		select {
		case <-ctx.Done():
			w.Queue.Redis.Del(context.WithoutCancel(ctx), w.Queue.workerKey(w.Consumer))
			return
		case <-t.C:
		}
	}
}

// Streams reports the Redis side of the queue: each lane's length,
// entries read but not acknowledged (XPENDING) and the oldest one's age,
// and the workers that beat within heartbeatTTL.
func (q *Queue) Streams(ctx context.Context, now time.Time) (*domainblock.Streams, error) {
	out := &domainblock.Streams{}
	for _, lane := range []string{laneExpress, laneBulk, laneRetry} {
		l := domainblock.Lane{Name: lane}
		n, err := q.Redis.XLen(ctx, q.stream(lane)).Result()
		if err != nil && err != goredis.Nil {
			return nil, err
		}
		l.Length = n
		p, err := q.Redis.XPending(ctx, q.stream(lane), group).Result()
		if err == nil && p != nil {
			l.Pending = p.Count
			if ms, ok := streamMillis(p.Lower); ok && p.Count > 0 {
				l.OldestPending = now.Sub(time.UnixMilli(ms))
			}
		}
		out.Lanes = append(out.Lanes, l)
	}
	var cursor uint64
	for {
		keys, next, err := q.Redis.Scan(ctx, cursor, q.workerKey("*"), 100).Result()
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			v, err := q.Redis.Get(ctx, k).Result()
			if err != nil {
				continue
			}
			sec, _ := strconv.ParseInt(v, 10, 64)
			out.Workers = append(out.Workers, domainblock.Worker{Name: strings.TrimPrefix(k, q.workerKey("")), LastSeen: time.Unix(sec, 0)})
		}
		if cursor = next; cursor == 0 {
			break
		}
	}
	return out, nil
}

// streamMillis is the time part of a stream entry id ("ms-seq").
func streamMillis(id string) (int64, bool) {
	ms, _, _ := strings.Cut(id, "-")
	v, err := strconv.ParseInt(ms, 10, 64)
	return v, err == nil
}
