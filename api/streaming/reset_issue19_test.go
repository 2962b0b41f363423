package streaming

import (
	"context"
	"errors"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/roost-social/roost/federation/social/filter"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant"
)

// Soak finding 4: a streaming client that stayed connected missed the
// posts stored while the relay's PostgreSQL session was down (or while
// Redis refused the relay's publishes): nothing told it, so it never
// paged. Now the relay's every new session publishes a reset (Publisher
// .Reset, wired as Relay.Elected), a publish Redis refused makes the next
// one carry a reset, and every node's hub drops its connections on a
// reset, as it does when it loses Redis: apps reconnect and catch up.
func TestIssue19Finding4RelayResetDropsConnections(t *testing.T) {
	t.Parallel()
	client, prefix := testenv.Redis(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hub := NewHub(client, prefix, nil)
	go hub.Run(ctx)

	// A new relay session: a reset.
	l := &dropRecorder{why: make(chan string, 1)}
	if err := hub.subscribe(ctx, l, userChannel(11)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); !hub.hearsResets(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the hub never subscribed to resets")
		}
	}
	pub := &Publisher{Redis: client, Prefix: prefix}
	pub.Reset(ctx) // once: no stray reset may reach the second connection
	waitDropped(t, l)
	hub.unsubscribe(l)

	// A publish Redis refused: the next one that works carries a reset.
	down := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	defer down.Close()
	pub = &Publisher{Redis: down, Prefix: prefix}
	pub.Publish(ctx, `{"e":"update","id":5,"u":[11]}`) // lost
	if !pub.lost.Load() {
		t.Fatal("a refused publish left no reset owed")
	}
	pub.Redis = client
	again := &dropRecorder{why: make(chan string, 1)}
	if err := hub.subscribe(ctx, again, userChannel(11)); err != nil {
		t.Fatal(err)
	}
	select {
	case why := <-again.why:
		t.Fatalf("dropped before any reset: %q", why)
	default:
	}
	pub.Publish(ctx, `{"e":"update","id":6,"u":[11]}`)
	waitDropped(t, again)
	if pub.lost.Load() {
		t.Fatal("the reset was sent but is still owed")
	}
}

// waitDropped waits until l is dropped for missed events (a liveness
// bound, not a timing check).
func waitDropped(t *testing.T, l *dropRecorder) {
	t.Helper()
	select {
	case why := <-l.why:
		if why != WhyRedisDown {
			t.Fatalf("dropped because %q", why)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("a connection was never dropped after a reset")
	}
}

// hearsResets reports whether Redis confirmed the hub's subscription to
// resets.
func (h *Hub) hearsResets() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.resetHeard
}

// failingRender renders nothing: status 1 is not the viewer's to see,
// every other read fails (the database away).
type failingRender struct{ fakeRender }

func (failingRender) RenderStatus(_ context.Context, _ *tenant.Site, _, id int64, _ filter.Where) ([]byte, error) {
	if id == 1 {
		return nil, errs.E(errs.NotFound, "Record not found")
	}
	return nil, errors.New("failed to connect: timeout")
}

// Soak finding 4, the other way events went missing: an event whose
// rendering failed for a reason other than "not yours to see" (PostgreSQL
// restarting) was skipped, and the connection stayed — the status never
// reached the app. Now the connection is dropped (apps reconnect and
// page); an event the viewer may not see is still skipped quietly.
func TestIssue19Finding4RenderFailureDropsConnection(t *testing.T) {
	h := &Handler{Render: failingRender{}}
	s := h.newSession(&viewer{site: &tenant.Site{TenantID: 1, Domain: "a.test"}, userID: 11})
	ch := userChannel(11)
	s.byChannel[ch] = []*stream{{name: []string{"user"}, channel: ch, place: filter.Home}}
	if out := s.frames(context.Background(), event{channel: ch, message: message{Event: "update", ID: 1}}); len(out) != 0 || isClosed(s.closed) {
		t.Fatalf("a status the viewer may not see: %d frames, connection closed %v", len(out), isClosed(s.closed))
	}
	s.frames(context.Background(), event{channel: ch, message: message{Event: "update", ID: 2}})
	if !isClosed(s.closed) || s.why != WhyRedisDown {
		t.Fatalf("a status that failed to render left the connection open (closed %v, why %q)", isClosed(s.closed), s.why)
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
