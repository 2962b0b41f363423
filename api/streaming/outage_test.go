package streaming

import (
	"context"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/roost-social/roost/internal/devenv"
)

// dropRecorder is a listener that records why it was dropped.
type dropRecorder struct {
	recorder
	why chan string
}

func (d *dropRecorder) drop(why string) {
	select {
	case d.why <- why:
	default:
	}
}

// Issue 19: a node whose Redis goes away (killed: the process gone, its
// connections reset) drops its streaming connections — the events
// published meanwhile would never reach them — and refuses new ones
// (Available false: 503 with Retry-After) until Redis answers again; then
// connections subscribe and hear events as before. The Redis is private
// to this test and stopped for real.
func TestIssue19HubDropsConnectionsWhileRedisIsDown(t *testing.T) {
	t.Parallel()
	env, err := devenv.Start(context.Background(), devenv.Options{Dir: t.TempDir(), SkipPostgres: true, Install: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Stop() })
	opt, err := goredis.ParseURL(env.RedisURL)
	if err != nil {
		t.Fatal(err)
	}
	client := goredis.NewClient(opt)
	t.Cleanup(func() { client.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hub := NewHub(client, "p:", nil)
	hub.pingEvery = 100 * time.Millisecond // how soon it notices; nothing is timed
	go hub.Run(ctx)

	l := &dropRecorder{why: make(chan string, 1)}
	if err := hub.subscribe(ctx, l, "timeline:1"); err != nil {
		t.Fatal(err)
	}
	if err := env.StopRedis(true); err != nil {
		t.Fatal(err)
	}
	select {
	case why := <-l.why:
		if why != WhyRedisDown {
			t.Fatalf("dropped because %q", why)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the connection was never dropped with Redis down")
	}
	if hub.Available() {
		t.Fatal("the hub takes connections with Redis down")
	}
	hub.unsubscribe(l) // the connection ends, as a session's end does

	if err := env.StartRedis(context.Background()); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); !hub.Available(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the hub never took connections again")
		}
	}
	again := &dropRecorder{why: make(chan string, 1)}
	if err := hub.subscribe(ctx, again, "timeline:1"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); again.len() == 0; time.Sleep(20 * time.Millisecond) {
		if err := client.Publish(ctx, "p:timeline:1", `{"e":"delete","id":1}`).Err(); err != nil {
			t.Logf("publish: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("a connection made after Redis came back hears nothing")
		}
	}
}
