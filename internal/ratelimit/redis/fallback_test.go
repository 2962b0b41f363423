package redis

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/roost-social/roost/internal/devenv"
	"github.com/roost-social/roost/internal/ratelimit"
)

// Issue 19: with Redis down, sign-in limits keep holding, counted in the
// node's memory, instead of refusing every sign-in (or letting every
// guess through); with Redis back they are counted in Redis again. The
// Redis is private to the test and killed for real; the memory store's
// clock is injected and never moves, so nothing depends on timing.
func TestIssue19SignInLimitsFallBackToMemory(t *testing.T) {
	ctx := context.Background()
	env, err := devenv.Start(ctx, devenv.Options{Dir: t.TempDir(), SkipPostgres: true, Install: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Stop() })
	opt, err := goredis.ParseURL(env.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	opt.MaxRetries = -1 // each Take sees the outage at once
	client := goredis.NewClient(opt)
	t.Cleanup(func() { client.Close() })
	now := time.Unix(1_700_000_000, 0)
	f := &ratelimit.Fallback{Shared: New(client), Local: &ratelimit.Memory{Now: func() time.Time { return now }},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	limit := ratelimit.Limit{Attempts: 3, Per: time.Hour}

	take := func(key string) time.Duration {
		t.Helper()
		wait, err := f.Take(ctx, key, limit)
		if err != nil {
			t.Fatalf("Take(%s): %v", key, err)
		}
		return wait
	}
	if take("a") != 0 {
		t.Fatal("refused with Redis up")
	}
	if err := env.StopRedis(true); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if w := take("b"); w != 0 {
			t.Fatalf("attempt %d refused (%v) with Redis down, within the limit", i, w)
		}
	}
	if take("b") == 0 {
		t.Fatal("a fourth attempt admitted with Redis down: the limit no longer holds")
	}
	if err := env.StartRedis(ctx); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := f.Shared.Take(ctx, "probe", limit); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Redis never answered again")
		}
	}
	// Counted in Redis again: "c" is spent there, not in memory.
	for range 3 {
		take("c")
	}
	if take("c") == 0 {
		t.Fatal("the fourth attempt admitted with Redis back")
	}
	if w, _ := f.Local.Take(ctx, "c", limit); w != 0 {
		t.Fatal("attempts were counted in memory with Redis up")
	}
}
