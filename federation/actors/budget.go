package actors

import (
	"math"
	"time"

	"github.com/roost-social/roost/internal/errs"
	"golang.org/x/time/rate"
)

// Key fetches are budgeted per remote host by outcome (issue 14, finding
// 5). Anyone can send a POST naming a key on any host, so a fetch cannot
// be refused for looking forged: only its result tells. Hence:
//   - failed keyIds are remembered (negative cache) and not fetched again
//     for a while, so repeating a forged keyId costs nothing;
//   - each host has a failure budget: a fetch reserves one unit, given back
//     when the key turns out genuine (fetched, and the signature verifies),
//     kept when it fails. Genuine traffic never spends it;
//   - once forged keyIds have spent a host's budget, new keys of that host
//     still get through one trial fetch at a time, at most one per
//     TrialEvery: a flood cannot shut a host's new actors out, and costs
//     the host at most HostBurst + HostRate·t + t/TrialEvery fetches.

// hostBudget is one host's state. tokens may go below zero (to -burst) as
// failures outrun the refill, so a sustained flood keeps the host on
// trials after it stops for a while.
type hostBudget struct {
	tokens  float64
	at      time.Time // when tokens was brought up to date
	trialAt time.Time // the next trial may start at or after this
	trial   bool      // a trial fetch is in flight
}

// ticket records which budget admitted a fetch.
type ticket int

const (
	fromBudget ticket = iota + 1
	fromTrial
)

func (k *Keys) limits() (rate.Limit, float64) {
	if k.HostRate == 0 {
		return rate.Every(6 * time.Second), 10
	}
	return k.HostRate, float64(max(k.HostBurst, 1))
}

func (k *Keys) trialEvery() time.Duration {
	if k.TrialEvery > 0 {
		return k.TrialEvery
	}
	return time.Second
}

// budget returns host's budget brought up to now; k.mu is held.
func (k *Keys) budget(host string, now time.Time) *hostBudget {
	r, burst := k.limits()
	b, ok := k.hosts[host]
	if !ok {
		k.evictHosts(now)
		b = &hostBudget{tokens: burst, at: now}
		k.hosts[host] = b
	}
	if r == rate.Inf {
		b.tokens = burst
	} else if dt := now.Sub(b.at); dt > 0 {
		b.tokens = math.Min(burst, b.tokens+dt.Seconds()*float64(r))
	}
	b.at = now
	return b
}

// evictHosts bounds the map: budgets back to full and idle hold nothing
// a new one would not, so they go first.
func (k *Keys) evictHosts(now time.Time) {
	if len(k.hosts) < maxTracked {
		return
	}
	r, burst := k.limits()
	for h, b := range k.hosts {
		full := r == rate.Inf || b.tokens+now.Sub(b.at).Seconds()*float64(r) >= burst
		if full && !b.trial {
			delete(k.hosts, h)
		}
	}
	for h := range k.hosts {
		if len(k.hosts) < maxTracked/2 {
			break
		}
		delete(k.hosts, h)
	}
}

// admit decides whether keyID may be fetched now, and on which budget.
func (k *Keys) admit(keyID, host string) (ticket, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.init()
	now := k.now()
	if until, ok := k.failed[keyID]; ok && now.Before(until) {
		return 0, errs.E(errs.Unauthorized, "the signing key could not be fetched recently; try later")
	}
	b := k.budget(host, now)
	switch {
	case b.tokens >= 1:
		b.tokens--
		return fromBudget, nil
	case !b.trial && !now.Before(b.trialAt):
		b.trial, b.trialAt = true, now.Add(k.trialEvery())
		return fromTrial, nil
	}
	return 0, errs.E(errs.Unavailable, "too many failed key fetches for %s; try later", host)
}

// settle records a fetch's outcome: a unit reserved for a key that
// turned out fetchable is given back; a failed trial is charged.
func (k *Keys) settle(host string, t ticket, ok bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.init()
	b := k.budget(host, k.now())
	_, burst := k.limits()
	switch {
	case t == fromTrial:
		b.trial = false
		if !ok {
			b.tokens = math.Max(b.tokens-1, -burst)
		}
	case ok:
		b.tokens = math.Min(b.tokens+1, burst)
	}
}

// charge spends one unit of host's budget for a request whose freshly
// fetched key did not verify its signature: a forged request naming a
// real key costs the same as one naming a missing key.
func (k *Keys) charge(host string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.init()
	b := k.budget(host, k.now())
	_, burst := k.limits()
	b.tokens = math.Max(b.tokens-1, -burst)
}

// fail remembers that keyID could not be fetched: for FailureTTL, or a
// minute when the failure may pass (the host down or slow).
func (k *Keys) fail(keyID string, err error) {
	ttl := k.FailureTTL
	if ttl == 0 {
		ttl = 10 * time.Minute
	}
	if errs.Is(err, errs.Unavailable) {
		ttl = min(ttl, time.Minute)
	}
	k.mu.Lock()
	k.init()
	track(k.failed, keyID, k.now().Add(ttl))
	k.mu.Unlock()
}

func track(m map[string]time.Time, key string, v time.Time) {
	if len(m) >= maxTracked {
		n := 0
		for kk := range m {
			delete(m, kk)
			if n++; n >= maxTracked/2 {
				break
			}
		}
	}
	m[key] = v
}
