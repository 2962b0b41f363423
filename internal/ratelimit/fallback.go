package ratelimit

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Fallback counts in Shared (Redis, every node) and, while Shared fails,
// in Local (this node's memory) instead, so signing in keeps working when
// Redis is down: guesses are still throttled, per node rather than across
// nodes (at most nodes × the limit), and a warning says so once per
// outage. It goes back to Shared as soon as Shared answers.
type Fallback struct {
	Shared, Local Store
	Log           *slog.Logger
	degraded      atomic.Bool
}

// SharedTimeout bounds each call to Shared: a Redis that does not answer
// (a black-holed network) costs a sign-in this long, then Local counts.
const SharedTimeout = time.Second

// Take spends an attempt in Shared, or in Local when Shared fails.
func (f *Fallback) Take(ctx context.Context, key string, l Limit) (time.Duration, error) {
	sctx, cancel := context.WithTimeout(ctx, SharedTimeout)
	defer cancel()
	wait, err := f.Shared.Take(sctx, key, l)
	if err == nil {
		if f.degraded.Swap(false) {
			f.log().Info("sign-in limits are counted across nodes again")
		}
		return wait, nil
	}
	if !f.degraded.Swap(true) {
		f.log().Warn("sign-in limits cannot reach their shared store; counting per node until it answers", "err", err)
	}
	return f.Local.Take(ctx, key, l)
}

// Reset forgets key in both stores; only Shared's failure is reported
// (Local cannot fail), and only when it is the store in use.
func (f *Fallback) Reset(ctx context.Context, key string) error {
	_ = f.Local.Reset(ctx, key)
	sctx, cancel := context.WithTimeout(ctx, SharedTimeout)
	defer cancel()
	if err := f.Shared.Reset(sctx, key); err != nil && !f.degraded.Load() {
		return err
	}
	return nil
}

func (f *Fallback) log() *slog.Logger {
	if f.Log == nil {
		return slog.Default()
	}
	return f.Log
}

// Memory is a Store in this process's memory (GCRA, as the Redis store):
// Fallback's Local. It holds at most MaxKeys keys; past that, keys whose
// buckets are full again are forgotten, and if none are, an arbitrary half
// of the map is — a flood of fresh keys must not grow memory without bound.
type Memory struct {
	// Now reads the clock (time.Now when nil); tests inject one.
	Now func() time.Time
	// MaxKeys bounds the keys held (100 000 when 0).
	MaxKeys int

	mu  sync.Mutex
	tat map[string]time.Time // each key's theoretical arrival time
}

// Take spends one attempt of key under l.
func (m *Memory) Take(_ context.Context, key string, l Limit) (time.Duration, error) {
	if l.Attempts <= 0 || l.Per <= 0 {
		return 0, nil
	}
	now := time.Now()
	if m.Now != nil {
		now = m.Now()
	}
	interval := l.Per / time.Duration(l.Attempts)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tat == nil {
		m.tat = map[string]time.Time{}
	}
	tat := m.tat[key]
	if tat.Before(now) {
		tat = now
	}
	next := tat.Add(interval)
	if allowAt := next.Add(-l.Per); now.Before(allowAt) {
		return max(allowAt.Sub(now), time.Second), nil
	}
	if _, ok := m.tat[key]; !ok && len(m.tat) >= m.maxKeys() {
		m.evict(now)
	}
	m.tat[key] = next
	return 0, nil
}

// Reset forgets key's attempts.
func (m *Memory) Reset(_ context.Context, key string) error {
	m.mu.Lock()
	delete(m.tat, key)
	m.mu.Unlock()
	return nil
}

func (m *Memory) maxKeys() int {
	if m.MaxKeys <= 0 {
		return 100_000
	}
	return m.MaxKeys
}

// evict drops full buckets, then, if that freed nothing, the half of the
// keys due soonest (mu held).
func (m *Memory) evict(now time.Time) {
	for k, t := range m.tat {
		if !t.After(now) {
			delete(m.tat, k)
		}
	}
	if len(m.tat) < m.maxKeys() {
		return
	}
	n := 0
	for k := range m.tat {
		if n >= len(m.tat)/2 {
			break
		}
		delete(m.tat, k)
		n++
	}
}
