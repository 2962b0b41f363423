package delivery_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/roost-social/roost/federation/delivery"
	"github.com/roost-social/roost/federation/signature"
)

// seen is one request as the receiver got it.
type seen struct {
	req      *http.Request
	body     []byte
	accepted bool
}

// SECURITY 35: a retry hours later is signed afresh. The first attempt
// fails; the worker's clock moves 13 hours on (past the 12 hours a
// signature's Date is accepted for); the sweeper brings the row back and
// the retry carries a Date of the new time, which a receiver living at that
// time accepts, while the first attempt's signature would no longer be.
func TestRetryIsResignedWithFreshDate(t *testing.T) {
	t.Parallel()
	s := newSender(t)
	// Ahead of the database's clock, so the fresh row is due at once.
	t0 := time.Now().Add(time.Minute).Truncate(time.Second)
	var clock atomic.Pointer[time.Time]
	clock.Store(&t0)
	now := func() time.Time { return *clock.Load() }

	var (
		mu     sync.Mutex
		got    []seen
		accept atomic.Bool
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ok := verified(r, body, s.pub, now()) // the receiver lives at the worker's time
		mu.Lock()
		got = append(got, seen{req: r.Clone(context.Background()), body: body, accepted: ok && accept.Load()})
		mu.Unlock()
		switch {
		case !ok:
			http.Error(w, "bad signature", http.StatusUnauthorized)
		case !accept.Load():
			w.WriteHeader(http.StatusInternalServerError)
		default:
			w.WriteHeader(http.StatusAccepted)
		}
	}))
	t.Cleanup(srv.Close)
	s.run(t, &delivery.Worker{
		Consumer: "retry", SweepEvery: 100 * time.Millisecond, Now: now,
		Fetch: newFetch(map[string]string{"recv.test": srv.Listener.Addr().String()}, 0),
	})
	ctx := context.Background()
	if err := s.queue.Send(ctx, s.account.ID, "http://a.example/a/1", []byte(`{"id":"http://a.example/a/1"}`),
		[]string{"http://recv.test/users/bob/inbox"}, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a failed first attempt", func() bool {
		return s.scalar(t, `select count(*) from deliveries where state = 'pending' and attempts = 1 and last_status = 500`) == 1
	})
	mu.Lock()
	first := got[0]
	if len(got) != 1 || first.req.Header.Get("Date") != t0.UTC().Format(http.TimeFormat) {
		t.Fatalf("first attempt: %d requests, Date %q; want 1 dated %s", len(got), first.req.Header.Get("Date"), t0.UTC().Format(http.TimeFormat))
	}
	mu.Unlock()

	accept.Store(true)
	t1 := t0.Add(13 * time.Hour)
	clock.Store(&t1)
	eventually(t, "the retry delivered", func() bool {
		return s.scalar(t, `select count(*) from deliveries where state = 'delivered' and attempts = 2`) == 1
	})
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || !got[1].accepted {
		t.Fatalf("%d requests, last accepted %v; want a second, accepted", len(got), got[len(got)-1].accepted)
	}
	if d := got[1].req.Header.Get("Date"); d != t1.UTC().Format(http.TimeFormat) {
		t.Fatalf("retry Date %q, want the retry's own time %s", d, t1.UTC().Format(http.TimeFormat))
	}
	// Re-sending the first signature would not have done.
	if _, err := signature.Check(first.req, first.body, t1); err == nil {
		t.Fatal("the first attempt's signature still passes 13 hours later; the test proves nothing")
	}
}
