package delivery_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/delivery"
	"github.com/roost-social/roost/federation/domainblock"
	"github.com/roost-social/roost/federation/fetch"
)

// heldRecorder records hosts' health into the store only once released,
// counting its calls and the hosts it was given.
type heldRecorder struct {
	next    delivery.HostRecorder
	release chan struct{}

	mu    sync.Mutex
	calls int
	hosts map[string]bool
}

func (h *heldRecorder) RecordHostStates(ctx context.Context, states []domainblock.HostState) error {
	<-h.release
	h.mu.Lock()
	h.calls++
	for _, st := range states {
		h.hosts[st.Host] = true
	}
	h.mu.Unlock()
	return h.next.RecordHostStates(ctx, states)
}

func (h *heldRecorder) seen() (calls, hosts int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls, len(h.hosts)
}

// Issue 21 (delivery): the worker wrote each new host's health in its own
// database round trip, inside the attempt: a fan-out to thousands of
// servers made one per delivery, all queueing for pool connections, and
// a slow write held every attempt. Health is written off the delivery
// path, in batches: deliveries are recorded while the health writer is
// held, and the news of many hosts takes fewer writes than hosts.
func TestIssue21DeliveryHostHealthOffTheDeliveryPath(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newIdleRig(t, http.StatusAccepted)
	const n = 40
	resolve, targets := map[string]string{}, make([]string, n)
	for i := range n {
		host := fmt.Sprintf("h%d.test", i)
		resolve[host], targets[i] = r.recvAddr, "http://"+host+"/inbox"
	}
	rec := &heldRecorder{next: r.store, release: make(chan struct{}), hosts: map[string]bool{}}
	w := &delivery.Worker{
		Queue: r.queue, Consumer: "test", SweepEvery: 100 * time.Millisecond, Log: r.queue.Log, Hosts: rec,
		Fetch: fetch.New(fetch.Config{Resolve: resolve}),
		KeyID: func(context.Context, *federation.Account) (string, error) { return keyID, nil },
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = w.Run(wctx); close(done) }()
	released := false
	t.Cleanup(func() {
		if !released {
			close(rec.release)
		}
		cancel()
		<-done
	})

	if err := r.queue.Send(ctx, r.sender.ID, "http://a.example/act/21", []byte(`{"id":"http://a.example/act/21"}`), targets, false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "every delivery recorded while the health writer is held", func() bool {
		return r.state(t, `select count(*) from deliveries where state = 'delivered'`) == fmt.Sprint(n)
	})
	close(rec.release)
	released = true
	eventually(t, "every host's health recorded", func() bool {
		return r.state(t, `select count(*) from remote_hosts where last_delivered_at is not null`) == fmt.Sprint(n)
	})
	if calls, hosts := rec.seen(); hosts != n || calls >= n {
		t.Fatalf("%d hosts' health in %d writes; want all %d in fewer writes than hosts", hosts, calls, n)
	}
}
