// Package redis is ratelimit.Store on Redis, with go-redis/redis_rate:
// GCRA in one Lua script, atomic across every node that shares the
// Redis, timed by the Redis server's clock (so nodes' clocks may differ).
package redis

import (
	"context"
	"fmt"
	"time"

	"github.com/go-redis/redis_rate/v10"
	goredis "github.com/redis/go-redis/v9"
	"github.com/roost-social/roost/internal/ratelimit"
)

// Store counts attempts in Redis. redis_rate prefixes every key with
// "rate:"; the keys it is given already carry ROOST_REDIS_PREFIX, and
// each expires once its bucket is full again.
type Store struct{ limiter *redis_rate.Limiter }

var _ ratelimit.Store = (*Store)(nil)

// New returns a Store on c.
func New(c *goredis.Client) *Store { return &Store{limiter: redis_rate.NewLimiter(c)} }

// Take spends one attempt of key under l.
func (s *Store) Take(ctx context.Context, key string, l ratelimit.Limit) (time.Duration, error) {
	res, err := s.limiter.Allow(ctx, key, redis_rate.Limit{Rate: l.Attempts, Burst: l.Attempts, Period: l.Per})
	if err != nil {
		return 0, fmt.Errorf("rate limit %s: %w", key, err)
	}
	if res.Allowed > 0 {
		return 0, nil
	}
	return max(res.RetryAfter, time.Second), nil
}

// Reset forgets key's attempts.
func (s *Store) Reset(ctx context.Context, key string) error {
	if err := s.limiter.Reset(ctx, key); err != nil {
		return fmt.Errorf("reset rate limit %s: %w", key, err)
	}
	return nil
}
