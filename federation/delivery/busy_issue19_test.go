package delivery_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roost-social/roost/federation/delivery"
)

// Soak finding 15 (seed 5301225464790099146): an overloaded tenant host
// answered a remote's deliveries 503 with Retry-After (load shedding);
// each answer counted against the host, the remote's circuit opened and,
// doubling per trip, held hundreds of deliveries for long after the host
// had recovered. A busy answer now delays the delivery at least as long
// as it asked and leaves the circuit shut: every delivery still reaches
// the host, none waits as "circuit open".
func TestIssue19Finding15BusyAnswerDoesNotOpenCircuit(t *testing.T) {
	t.Parallel()
	s := newSender(t)
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Retry-After", "600")
		http.Error(w, `{"error":"the server is busy; try again"}`, http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	s.run(t, &delivery.Worker{Consumer: "busy", SweepEvery: time.Hour,
		Fetch: newFetch(map[string]string{"busy.test": srv.Listener.Addr().String()}, 0)})
	ctx := context.Background()
	const n = 8 // past the breaker's five failures in a row
	for i := range n {
		id := fmt.Sprintf("http://a.example/a/%d", i)
		if err := s.queue.Send(ctx, s.account.ID, id, []byte(`{"id":"`+id+`"}`),
			[]string{"http://busy.test/users/bob/inbox"}, true); err != nil {
			t.Fatal(err)
		}
		// One at a time: each delivery sees what the ones before did to
		// the circuit.
		eventually(t, fmt.Sprintf("delivery %d answered", i), func() bool {
			return s.scalar(t, `select count(*) from deliveries where state = 'pending' and attempts = 1`) == int64(i+1)
		})
	}
	if got := hits.Load(); got != n {
		t.Fatalf("the busy host got %d of %d deliveries; the rest waited behind an open circuit", got, n)
	}
	if c := s.scalar(t, `select count(*) from deliveries where last_error like 'circuit open%'`); c != 0 {
		t.Fatalf("%d deliveries held as \"circuit open\"", c)
	}
	if early := s.scalar(t, `select count(*) from deliveries where next_attempt_at < now() + interval '590 seconds'`); early != 0 {
		t.Fatalf("%d deliveries retried sooner than the host's Retry-After (600 s)", early)
	}
}
