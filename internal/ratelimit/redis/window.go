package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Windows counts events per key in fixed windows of time (per-tenant
// quotas, issue 20): one Redis counter per key and window, shared by every
// node, so a quota holds across the instance. Unlike Store (GCRA timed by
// the Redis server's clock), the caller gives the time: tests drive it
// with an injected clock, and nodes' clocks must agree to within a small
// part of a window (NTP), which they do for windows of a second or more.
// A fixed window lets a burst of up to twice the quota straddle a
// window's edge; for quotas that keep one tenant from taking the
// instance, that is close enough and costs one round trip.
type Windows struct{ c goredis.UniversalClient }

// NewWindows returns Windows on c.
func NewWindows(c goredis.UniversalClient) *Windows { return &Windows{c: c} }

// windowKey is key's counter for the window of length per holding now.
func windowKey(key string, per time.Duration, now time.Time) (string, time.Time) {
	start := now.UTC().Truncate(per)
	return key + ":" + strconv.FormatInt(start.Unix(), 10), start.Add(per)
}

// Add adds n to key's count in now's window and returns the count after
// it and the window's end. The counter expires a little after its window.
func (w *Windows) Add(ctx context.Context, key string, n int64, per time.Duration, now time.Time) (int64, time.Time, error) {
	k, end := windowKey(key, per, now)
	var incr *goredis.IntCmd
	_, err := w.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		incr = p.IncrBy(ctx, k, n)
		p.PExpire(ctx, k, per+time.Minute)
		return nil
	})
	if err != nil {
		return 0, end, fmt.Errorf("count %s: %w", key, err)
	}
	return incr.Val(), end, nil
}

// Count is key's count in now's window (0 when nothing was counted).
func (w *Windows) Count(ctx context.Context, key string, per time.Duration, now time.Time) (int64, error) {
	k, _ := windowKey(key, per, now)
	n, err := w.c.Get(ctx, k).Int64()
	if errors.Is(err, goredis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read count %s: %w", key, err)
	}
	return n, nil
}
