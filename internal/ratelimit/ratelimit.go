// Package ratelimit throttles guessing. Every attempt at a secret — a
// password on any sign-in form, a one-time code — is counted per client
// address and per login in a Store that every node shares, and is refused
// (429 with Retry-After) before the secret is checked, so a refused guess
// costs no hashing. The slow password checks that are let through are
// bounded per process, so parallel guesses cannot take every core.
//
// The counting itself is a maintained library's (GCRA over Redis, in
// ratelimit/redis); this package holds the policy: what is counted
// together, under which keys, and what a refusal says.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/roost-social/roost/internal/errs"
)

// Limit allows Attempts attempts at once, refilled evenly over Per (one
// every Per/Attempts): a burst for honest typos, then a steady trickle.
// A zero Limit allows everything.
type Limit struct {
	Attempts int
	Per      time.Duration
}

// String is the ROOST_* form of l: "10/1h".
func (l Limit) String() string { return strconv.Itoa(l.Attempts) + "/" + l.Per.String() }

// ParseLimit reads "N/duration" (10/1h, 30/5m).
func ParseLimit(s string) (Limit, error) {
	n, per, ok := strings.Cut(strings.TrimSpace(s), "/")
	a, err := strconv.Atoi(n)
	d, err2 := time.ParseDuration(per)
	if !ok || err != nil || err2 != nil || a < 1 || a > 1_000_000 || d < time.Second || d > 30*24*time.Hour {
		return Limit{}, fmt.Errorf("must be attempts/period such as 10/1h (1 to 1000000 attempts, 1s to 720h)")
	}
	return Limit{Attempts: a, Per: d}, nil
}

// Store counts attempts. Implementations MUST be safe for concurrent use
// and, for a limit to hold across nodes, shared by all of them.
type Store interface {
	// Take spends one attempt of key under l and returns 0, or, when
	// none is left, spends nothing and returns how long until one is.
	Take(ctx context.Context, key string, l Limit) (wait time.Duration, err error)
	// Reset forgets key's attempts.
	Reset(ctx context.Context, key string) error
}

// Policy is what one kind of guess may cost: attempts per client address
// (an IPv6 /64 counts as one address) and per login, each counted over
// every form that checks the same secret.
type Policy struct {
	// Name keeps the policies' counters apart ("password", "code"; set
	// by NewGuard).
	Name            string
	PerIP, PerLogin Limit
	// Slow says a check is a password hash, run within the Guard's slots
	// (set by NewGuard).
	Slow bool
}

// Limited is a refused attempt: errs.TooMany (429), or errs.Unavailable
// (503) when every slot for password checks stayed busy.
type Limited struct {
	RetryAfter time.Duration
	err        *errs.Error
}

func (e *Limited) Error() string { return e.err.Error() }

// Unwrap gives the code and message that api/httpx maps to a status.
func (e *Limited) Unwrap() error { return e.err }

func tooMany(wait time.Duration) *Limited {
	return &Limited{RetryAfter: wait, err: errs.E(errs.TooMany,
		"Too many attempts. Wait %s, then try again.", inWords(wait))}
}

var errBusy = &Limited{RetryAfter: time.Second, err: errs.E(errs.Unavailable,
	"The server is busy checking other sign-ins. Try again in a moment.")}

// RetryAfter is the Retry-After value, in whole seconds (at least 1), of
// an error that carries one.
func RetryAfter(err error) (string, bool) {
	var l *Limited
	if !errors.As(err, &l) {
		return "", false
	}
	return strconv.Itoa(max(1, int(math.Ceil(l.RetryAfter.Seconds())))), true
}

// inWords rounds d up for people: "40 seconds", "6 minutes", "2 hours".
func inWords(d time.Duration) string {
	unit, name := time.Second, "second"
	switch {
	case d > 90*time.Minute:
		unit, name = time.Hour, "hour"
	case d > 90*time.Second:
		unit, name = time.Minute, "minute"
	}
	n := max(1, int((d+unit-1)/unit))
	if n == 1 {
		return "1 " + name
	}
	return strconv.Itoa(n) + " " + name + "s"
}
