package jobs

import (
	"math/rand/v2"
	"time"
)

// DefaultJitter is the share of each back-off drawn at random in `roost
// work` and the web nodes' jobs: when PostgreSQL or Redis comes back,
// every worker loop of every process would otherwise retry in the same
// instant.
const DefaultJitter = 0.5

// Backoff is the wait between attempts of a loop whose dependency fails
// (the database or Redis down): doubling from Min, capped at Max, with a
// Jitter share of each wait drawn at random, so a loop neither spins nor
// waits long after the dependency is back. The zero value waits nothing;
// not safe for concurrent use (one per loop).
type Backoff struct {
	Min, Max time.Duration
	// Jitter in [0, 1]: each wait is in [d·(1−Jitter), d] for the
	// current step d.
	Jitter float64
	// Rand draws in [0, 1) (math/rand/v2 when nil); tests inject one.
	Rand func() float64

	cur time.Duration
}

// Next returns the wait before the next attempt and doubles the step.
func (b *Backoff) Next() time.Duration {
	if b.cur < b.Min {
		b.cur = b.Min
	}
	d := min(b.cur, max(b.Max, b.Min))
	b.cur = min(d*2, max(b.Max, b.Min))
	j := min(max(b.Jitter, 0), 1)
	if j == 0 || d <= 0 {
		return d
	}
	r := b.Rand
	if r == nil {
		r = rand.Float64
	}
	return d - time.Duration(j*r()*float64(d))
}

// Reset starts the next failure from Min again (after a success).
func (b *Backoff) Reset() { b.cur = 0 }
