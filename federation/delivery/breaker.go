package delivery

import (
	"sync"
	"time"
)

// breakers track consecutive delivery failures per host. After
// tripAfter failures the host's breaker opens and deliveries to it are
// rescheduled without an attempt until the cool-down passes; a successful
// delivery closes it. Only our own deliveries move it: a host merely
// sending us activities proves nothing about its inbox.
type breakers struct {
	mu    sync.RWMutex // every attempt reads; only failures and recoveries write
	hosts map[string]*breaker
}

// maxBreakerHosts bounds the hosts with failures remembered; past it the
// memory starts over (a forgotten host only costs attempts again).
const maxBreakerHosts = 100000

type breaker struct {
	failures int
	trips    int // cool-downs since the last success; each doubles the next
	until    time.Time
}

const tripAfter = 5

func (b *breakers) get(host string) *breaker {
	if b.hosts == nil || len(b.hosts) >= maxBreakerHosts {
		b.hosts = map[string]*breaker{}
	}
	br, ok := b.hosts[host]
	if !ok {
		br = &breaker{}
		b.hosts[host] = br
	}
	return br
}

// open reports whether host's breaker is open at now, and until when.
func (b *breakers) open(host string, now time.Time) (time.Time, bool) {
	until := b.until(host)
	return until, now.Before(until)
}

func (b *breakers) until(host string) time.Time {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if br, ok := b.hosts[host]; ok {
		return br.until
	}
	return time.Time{}
}

func (b *breakers) success(host string) {
	b.mu.RLock()
	_, failing := b.hosts[host]
	b.mu.RUnlock()
	if !failing {
		return // the common case: nothing to forget, no write lock
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.hosts, host)
}

// failure counts a failure; from tripAfter on, each failure after a
// cool-down opens the breaker again, the cool-down doubling per trip from
// one minute up to an hour. A failure while the breaker is open is an
// attempt that began before it opened (many run at once): it is news of
// nothing, and counting it would double the cool-down per attempt in
// flight — a few seconds of black hole shut a host out for an hour (soak
// finding 1).
func (b *breakers) failure(host string, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	br := b.get(host)
	if now.Before(br.until) {
		return
	}
	br.failures++
	if br.failures >= tripAfter {
		br.until = now.Add(min(time.Minute<<min(br.trips, 6), time.Hour))
		br.trips++
	}
}

// state is host's consecutive failures and the end of its cool-down.
func (b *breakers) state(host string) (int, time.Time) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	br, ok := b.hosts[host]
	if !ok {
		return 0, time.Time{}
	}
	return br.failures, br.until
}
