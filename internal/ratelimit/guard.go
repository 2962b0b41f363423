package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/roost-social/roost/internal/errs"
)

// Default policies, as Mastodon throttles its sign-in (ROOST_SIGNIN_*).
var (
	// DefaultPasswords: 30 attempts per address every 5 minutes, 10 per
	// login an hour (one more every 6 minutes once spent).
	DefaultPasswords = Policy{Name: "password", PerIP: Limit{30, 5 * time.Minute}, PerLogin: Limit{10, time.Hour}, Slow: true}
	// DefaultCodes: one-time codes are six digits, so far fewer guesses
	// per login than passwords.
	DefaultCodes = Policy{Name: "code", PerIP: Limit{30, 5 * time.Minute}, PerLogin: Limit{5, time.Hour}}
)

// DefaultSlots is how many password checks a process runs at once: half
// its cores, so guesses never take all of them from everything else.
func DefaultSlots() int { return max(1, runtime.GOMAXPROCS(0)/2) }

// maxSlotWait bounds how long an attempt waits for a slot before it is
// answered busy: waiting requests must not pile up without bound.
const maxSlotWait = 3 * time.Second

// Guard admits guesses under its policies. A nil *Guard admits everything
// (handlers built in tests without one); cmd/roost always wires one.
type Guard struct {
	store     Store
	prefix    string
	passwords Policy
	codes     Policy
	slots     chan struct{}
}

// NewGuard returns a Guard counting in store under keys starting with
// prefix (ROOST_REDIS_PREFIX), running at most slots password checks at
// once in this process.
func NewGuard(store Store, prefix string, passwords, codes Policy, slots int) *Guard {
	// The names keep the two budgets apart whatever the caller set.
	passwords.Name, passwords.Slow, codes.Name, codes.Slow = "password", true, "code", false
	return &Guard{store: store, prefix: prefix, passwords: passwords, codes: codes, slots: make(chan struct{}, max(1, slots))}
}

// Done ends an admitted attempt and says whether the guess was right: a
// right one clears the login's count (a typo is forgiven once the owner
// gets in), a wrong one stays counted. It must be called exactly once.
type Done func(right bool)

// Password admits one password attempt by the client at ip for the login
// with email, before the password is checked. Every form that checks a
// login's password counts against the same budgets.
func (g *Guard) Password(ctx context.Context, ip netip.Addr, email string) (Done, error) {
	if g == nil {
		return func(bool) {}, nil
	}
	return g.attempt(ctx, g.passwords, ip, strings.ToLower(strings.TrimSpace(email)))
}

// Code admits one one-time-code attempt by the client at ip for the
// login userID.
func (g *Guard) Code(ctx context.Context, ip netip.Addr, userID int64) (Done, error) {
	if g == nil {
		return func(bool) {}, nil
	}
	return g.attempt(ctx, g.codes, ip, "user:"+strconv.FormatInt(userID, 10))
}

func (g *Guard) attempt(ctx context.Context, p Policy, ip netip.Addr, login string) (Done, error) {
	if err := g.take(ctx, p.PerIP, g.key(p, "ip", IPKey(ip))); err != nil {
		return nil, err
	}
	loginKey := ""
	if login != "" {
		loginKey = g.key(p, "login", hashed(login))
		if err := g.take(ctx, p.PerLogin, loginKey); err != nil {
			return nil, err
		}
	}
	release := func() {}
	if p.Slow {
		var err error
		if release, err = g.slot(ctx); err != nil {
			return nil, err
		}
	}
	return func(right bool) {
		release()
		if right && loginKey != "" {
			// Best effort: a failed reset only leaves the count to expire.
			_ = g.store.Reset(context.WithoutCancel(ctx), loginKey)
		}
	}, nil
}

// take spends one attempt, refusing with *Limited when none is left. A
// store that cannot be reached refuses too: sign-in is closed rather than
// left unthrottled while Redis is down.
func (g *Guard) take(ctx context.Context, l Limit, key string) error {
	if l.Attempts <= 0 {
		return nil
	}
	wait, err := g.store.Take(ctx, key, l)
	if err != nil {
		return errs.Wrap(errs.Unavailable, err, "Signing in is unavailable for a moment. Try again shortly.")
	}
	if wait > 0 {
		return tooMany(wait)
	}
	return nil
}

// slot waits, briefly, for one of the process's password-check slots.
func (g *Guard) slot(ctx context.Context) (func(), error) {
	t := time.NewTimer(maxSlotWait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return func() { <-g.slots }, nil
	case <-t.C:
		return nil, errBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// key names a counter. Logins are hashed: Redis never holds an email.
func (g *Guard) key(p Policy, kind, id string) string {
	return g.prefix + "limit:" + p.Name + ":" + kind + ":" + id
}

func hashed(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// IPKey is the address a client is counted as: an IPv4 address, or the
// /64 of an IPv6 one (one subscriber usually holds a whole /64).
func IPKey(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case !ip.IsValid():
		return "unknown"
	case ip.Is6():
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}
