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
	mu    sync.Mutex
	hosts map[string]*breaker
}

type breaker struct {
	failures int
	until    time.Time
}

const tripAfter = 5

func (b *breakers) get(host string) *breaker {
	if b.hosts == nil {
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
	b.mu.Lock()
	defer b.mu.Unlock()
	br := b.get(host)
	return br.until, now.Before(br.until)
}

func (b *breakers) success(host string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.hosts, host)
}

// failure counts a failure; from tripAfter on, the cool-down doubles from
// one minute up to an hour.
func (b *breakers) failure(host string, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	br := b.get(host)
	br.failures++
	if br.failures >= tripAfter {
		br.until = now.Add(min(time.Minute<<min(br.failures-tripAfter, 6), time.Hour))
	}
}

// state is host's consecutive failures and the end of its cool-down.
func (b *breakers) state(host string) (int, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	br, ok := b.hosts[host]
	if !ok {
		return 0, time.Time{}
	}
	return br.failures, br.until
}
