package ratelimit_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/ratelimit"
	ratelimitredis "github.com/roost-social/roost/internal/ratelimit/redis"
	"github.com/roost-social/roost/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// Hour-long limits: nothing refills while a test runs, so no assertion
// depends on the wall clock.
var hourly = ratelimit.Policy{Name: "password", PerIP: ratelimit.Limit{Attempts: 4, Per: time.Hour},
	PerLogin: ratelimit.Limit{Attempts: 3, Per: time.Hour}}

// guards are n nodes' guards: each its own Redis client, one prefix.
func guards(t *testing.T, n, slots int) []*ratelimit.Guard {
	t.Helper()
	_, prefix := testenv.Redis(t)
	var gs []*ratelimit.Guard
	for range n {
		rdb, _ := testenv.Redis(t)
		gs = append(gs, ratelimit.NewGuard(ratelimitredis.New(rdb), prefix, hourly, hourly, slots))
	}
	return gs
}

func wantLimited(t *testing.T, name string, err error) {
	t.Helper()
	var l *ratelimit.Limited
	after, ok := ratelimit.RetryAfter(err)
	if !errors.As(err, &l) || !errs.Is(err, errs.TooMany) || !ok || after == "0" || l.RetryAfter <= 0 {
		t.Fatalf("%s: %v (Retry-After %q), want a 429 refusal", name, err, after)
	}
}

// Issue 14 finding 7: budgets are per login and per address, shared by
// every node; a right guess clears the login's count only.
func TestIssue14Finding7GuardSharedByNodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := guards(t, 2, 4)
	ip := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	for i := range 3 {
		done, err := g[i%2].Password(ctx, ip("192.0.2."+string(rune('1'+i))), "Alice@Mail.example")
		if err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
		done(false)
	}
	_, err := g[1].Password(ctx, ip("192.0.2.9"), " alice@mail.example")
	wantLimited(t, "4th guess at one login, other node and address", err)
	if !errs.Is(err, errs.TooMany) || errs.MessageOf(err) == "" {
		t.Fatalf("message %q", errs.MessageOf(err))
	}

	// Per address: 4 attempts at different logins, then refused.
	for i := range 4 {
		done, err := g[i%2].Password(ctx, ip("2001:db8:7::1"), "user"+string(rune('a'+i))+"@mail.example")
		if err != nil {
			t.Fatalf("address attempt %d: %v", i, err)
		}
		done(false)
	}
	_, err = g[0].Password(ctx, ip("2001:db8:7::ffff"), "bob@mail.example")
	wantLimited(t, "same /64", err)

	// A right password resets the login, not the address.
	done, err := g[0].Password(ctx, ip("192.0.2.20"), "carol@mail.example")
	if err != nil {
		t.Fatal(err)
	}
	done(false)
	done, _ = g[1].Password(ctx, ip("192.0.2.21"), "carol@mail.example")
	done(true)
	for i := range 3 {
		done, err := g[i%2].Password(ctx, ip("192.0.2.22"), "carol@mail.example")
		if err != nil {
			t.Fatalf("after a sign-in, attempt %d: %v", i, err)
		}
		done(false)
	}

	// Codes have their own budgets.
	for range 3 {
		done, err := g[0].Code(ctx, ip("192.0.2.30"), 42)
		if err != nil {
			t.Fatal(err)
		}
		done(false)
	}
	_, err = g[1].Code(ctx, ip("192.0.2.31"), 42)
	wantLimited(t, "4th code", err)
}

// The slots bound password checks in one process: while they are taken
// another attempt waits, and gives up with its request.
func TestIssue14Finding7GuardSlotsBoundConcurrentChecks(t *testing.T) {
	t.Parallel()
	g := guards(t, 1, 1)[0]
	addr := netip.MustParseAddr("198.51.100.1")
	held, err := g.Password(context.Background(), addr, "a@mail.example")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel() // the waiting request ends before a slot frees
	if _, err := g.Password(ctx, addr, "b@mail.example"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("while the one slot is held: %v", err)
	}
	held(false)
	done, err := g.Password(context.Background(), addr, "c@mail.example")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	done(true)
	// Codes are cheap: no slot needed even while passwords hold them.
	held, _ = g.Password(context.Background(), addr, "d@mail.example")
	defer held(false)
	if done, err := g.Code(context.Background(), addr, 7); err != nil {
		t.Fatalf("code while the slot is held: %v", err)
	} else {
		done(true)
	}
}

// With Redis unreachable sign-in is closed (503), not unthrottled.
func TestGuardFailsClosed(t *testing.T) {
	t.Parallel()
	rdb := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { rdb.Close() })
	g := ratelimit.NewGuard(ratelimitredis.New(rdb), "x:", hourly, hourly, 1)
	_, err := g.Password(context.Background(), netip.MustParseAddr("192.0.2.1"), "a@mail.example")
	if !errs.Is(err, errs.Unavailable) {
		t.Fatalf("Redis down: %v", err)
	}
	var nilGuard *ratelimit.Guard
	if done, err := nilGuard.Password(context.Background(), netip.Addr{}, ""); err != nil || done == nil {
		t.Fatal("a nil guard admits")
	}
}

func TestParseLimit(t *testing.T) {
	for in, want := range map[string]ratelimit.Limit{"10/1h": {10, time.Hour}, " 30/5m ": {30, 5 * time.Minute}} {
		if got, err := ratelimit.ParseLimit(in); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "10", "0/1h", "-1/1h", "10/0s", "10/500ms", "x/1h", "10/1y", "10/1000h"} {
		if _, err := ratelimit.ParseLimit(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestIPKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1": "192.0.2.1", "::ffff:192.0.2.1": "192.0.2.1",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64", "2001:db8:1:2::9": "2001:db8:1:2::/64",
	} {
		if got := ratelimit.IPKey(netip.MustParseAddr(in)); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
	if ratelimit.IPKey(netip.Addr{}) != "unknown" {
		t.Error("zero address")
	}
}
