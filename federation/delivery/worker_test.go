package delivery_test

import (
	"context"
	"crypto"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/delivery"
	"github.com/roost-social/roost/federation/fetch"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/federation/signature"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const keyID = "http://a.example/users/alice#main-key"

// receiver verifies every delivery's signature with alice's key and
// records the activity ids it accepted; status decides its answer.
type receiver struct {
	mu       sync.Mutex
	verified map[string]int
	status   int
	pub      crypto.PublicKey
	// rfcOnly refuses draft-cavage signatures (issue 16); schemes counts
	// the attempts per signature scheme.
	rfcOnly bool
	schemes map[signature.Scheme]int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	p, err := signature.Check(req, body, time.Now())
	if err == nil {
		err = signature.Verify(req, p, r.pub)
	}
	if err == nil {
		r.mu.Lock()
		if r.schemes == nil { // receivers built elsewhere do not count
			r.schemes = map[signature.Scheme]int{}
		}
		r.schemes[p.Scheme]++
		rfcOnly := r.rfcOnly
		r.mu.Unlock()
		if rfcOnly && p.Scheme != signature.RFC9421 {
			http.Error(w, "RFC 9421 signatures only", http.StatusUnauthorized)
			return
		}
	}
	if err != nil || p.KeyID != keyID {
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status != http.StatusAccepted {
		w.WriteHeader(r.status)
		return
	}
	r.verified[req.URL.Path+" "+string(body)]++
	w.WriteHeader(http.StatusAccepted)
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.verified)
}

type rig struct {
	store  *fedpg.Store
	db     *pgxpool.Pool
	queue  *delivery.Queue
	recv   *receiver
	sender *federation.Account
	// recvAddr is the receiver's address, which recv.test resolves to.
	recvAddr string
}

func newRig(t *testing.T, status int) *rig {
	t.Helper()
	r := newIdleRig(t, status)
	w := &delivery.Worker{
		Queue: r.queue, Consumer: "test", SweepEvery: 100 * time.Millisecond, Log: r.queue.Log,
		Fetch: fetch.New(fetch.Config{Resolve: map[string]string{"recv.test": r.recvAddr}}),
		KeyID: func(context.Context, *federation.Account) (string, error) { return keyID, nil },
	}
	wctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(wctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

// newIdleRig is newRig without a worker: the test runs its own.
func newIdleRig(t *testing.T, status int) *rig {
	t.Helper()
	ctx := context.Background()
	db := testenv.DB(t)
	tn, err := tenantpg.New(db).CreateTenant(ctx, "A", tenant.NewDomain{Domain: "a.example", Verified: true})
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := federation.GenerateKeyPair()
	store := fedpg.New(db)
	sender, err := store.CreateAccount(ctx, federation.NewAccount{TenantID: tn.ID, Domain: "a.example", Username: "alice",
		Email: "alice@a.example", Password: "x", PasswordHash: "x", Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := signature.ParsePublicKeyPEM(keys.PublicPEM)
	recv := &receiver{verified: map[string]int{}, status: status, pub: pub, schemes: map[signature.Scheme]int{}}
	srv := httptest.NewServer(recv)
	t.Cleanup(srv.Close)
	client, prefix := testenv.Redis(t)
	q := &delivery.Queue{Store: store, Redis: client, Prefix: prefix, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	return &rig{store: store, db: db, queue: q, recv: recv, sender: sender, recvAddr: srv.Listener.Addr().String()}
}

func (r *rig) state(t *testing.T, sql string) string {
	var v any
	if err := r.db.QueryRow(context.Background(), sql).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(v)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
	}
}

func inboxes(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("http://recv.test/users/u%d/inbox", i)
	}
	return out
}

// Every (activity, inbox) pair arrives once, verified, and is recorded.
func TestDeliversSignedToEveryInbox(t *testing.T) {
	t.Parallel()
	r := newRig(t, http.StatusAccepted)
	ctx := context.Background()
	body := []byte(`{"id":"http://a.example/users/alice#note-1","type":"Create"}`)
	if err := r.queue.Send(ctx, r.sender.ID, "http://a.example/users/alice#note-1", body, inboxes(20), false); err != nil {
		t.Fatal(err)
	}
	// Sending again adds nothing: rows are unique per (activity, inbox).
	if err := r.queue.Send(ctx, r.sender.ID, "http://a.example/users/alice#note-1", body, inboxes(20), false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "20 verified deliveries", func() bool { return r.recv.count() == 20 })
	eventually(t, "rows delivered", func() bool {
		return r.state(t, `select count(*) from deliveries where state = 'delivered'`) == "20"
	})
	if got := r.state(t, `select count(*) from deliveries`); got != "20" {
		t.Fatalf("%s delivery rows, want 20", got)
	}
}

// A failing receiver is retried later, not lost, and not retried at once.
func TestFailedDeliveryIsRescheduled(t *testing.T) {
	t.Parallel()
	r := newRig(t, http.StatusInternalServerError)
	if err := r.queue.Send(context.Background(), r.sender.ID, "http://a.example/a/1", []byte(`{}`), inboxes(1), true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a recorded failed attempt", func() bool {
		return r.state(t, `select attempts from deliveries`) == "1"
	})
	row := r.state(t, `select state || ' ' || last_status || ' ' || (next_attempt_at > now() + interval '20 seconds')::text from deliveries`)
	if row != "pending 500 true" {
		t.Fatalf("after a 500: %s, want pending, status 500, next attempt later", row)
	}
	// Operators see it per host.
	states, err := r.store.DeliveryStates(context.Background(), "http://a.example/a/1")
	if err != nil {
		t.Fatal(err)
	}
	want := federation.DeliveryState{Host: "recv.test", Pending: 1, LastError: "status 500"}
	if len(states) != 1 || states[0] != want {
		t.Fatalf("delivery states %+v, want [%+v]", states, want)
	}
}

// Dispatch entries lost from Redis (a restart that emptied it) are rebuilt
// from PostgreSQL by the sweeper.
func TestLostStreamEntriesAreSwept(t *testing.T) {
	t.Parallel()
	r := newRig(t, http.StatusAccepted)
	ctx := context.Background()
	// Rows committed, dispatch never happened.
	if _, err := r.queue.Store.AddDeliveries(ctx, r.sender.ID, "http://a.example/a/2", []byte(`{"n":2}`), inboxes(5), false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "swept deliveries arrive", func() bool { return r.recv.count() == 5 })
	eventually(t, "rows delivered", func() bool {
		return r.state(t, `select count(*) from deliveries where state = 'delivered'`) == "5"
	})
}
