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
type hostHealth struct {
	mu   sync.Mutex
	last map[string]hostMark
}

type hostMark struct {
	ok, open bool
	at       time.Time
}

// maxHealthHosts bounds the memory of hosts written.
const maxHealthHosts = 100000

// observe records the outcome of an attempt to host when it is news.
func (w *Worker) observe(ctx context.Context, host string, ok bool, reason string) {
	if w.Hosts == nil {
		return
	}
	failures, until := w.breakers.state(host)
	now := w.Now()
	open := now.Before(until)
	w.health.mu.Lock()
	if w.health.last == nil || len(w.health.last) > maxHealthHosts {
		w.health.last = map[string]hostMark{}
	}
	m, seen := w.health.last[host]
	write := !seen || m.ok != ok || m.open != open || now.Sub(m.at) >= time.Minute
	if write {
		w.health.last[host] = hostMark{ok: ok, open: open, at: now}
	}
	w.health.mu.Unlock()
	if !write {
		return
	}
	st := domainblock.HostState{Host: host, Delivered: ok, Error: reason, ConsecutiveFailures: failures, At: now}
	if open {
		st.BreakerUntil = until
	}
	if err := w.Hosts.RecordHostStates(ctx, []domainblock.HostState{st}); err != nil {
		w.Log.Warn("recording host state", "host", host, "err", err)
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
