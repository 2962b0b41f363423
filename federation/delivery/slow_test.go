package delivery_test

import (
	"bufio"
	"context"
	"crypto"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
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

// sender is a tenant with alice on a.example and a Queue on a fresh
// database and Redis prefix, for tests that build their own Worker.
type sender struct {
	db      *pgxpool.Pool
	queue   *delivery.Queue
	account *federation.Account
	pub     crypto.PublicKey
}

func newSender(t *testing.T) *sender {
	t.Helper()
	ctx := context.Background()
	db := testenv.DB(t)
	tn, err := tenantpg.New(db).CreateTenant(ctx, "A", tenant.NewDomain{Domain: "a.example", Verified: true})
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := federation.GenerateKeyPair()
	store := fedpg.New(db)
	acct, err := store.CreateAccount(ctx, federation.NewAccount{TenantID: tn.ID, Domain: "a.example", Username: "alice",
		Email: "alice@a.example", Password: "x", PasswordHash: "x", Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := signature.ParsePublicKeyPEM(keys.PublicPEM)
	if err != nil {
		t.Fatal(err)
	}
	client, prefix := testenv.Redis(t)
	q := &delivery.Queue{Store: store, Redis: client, Prefix: prefix, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	return &sender{db: db, queue: q, account: acct, pub: pub}
}

// run starts w until the test ends.
func (s *sender) run(t *testing.T, w *delivery.Worker) {
	t.Helper()
	w.Queue = s.queue
	w.Log = s.queue.Log
	w.KeyID = func(context.Context, *federation.Account) (string, error) { return keyID, nil }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func (s *sender) scalar(t *testing.T, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := s.db.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// verified checks a delivery's signature as a receiver would at now.
func verified(req *http.Request, body []byte, pub crypto.PublicKey, now time.Time) bool {
	p, err := signature.Check(req, body, now)
	if err == nil {
		err = signature.Verify(req, p, pub)
	}
	return err == nil && p.KeyID == keyID
}

// stuckHost is a receiver that holds every request until released, then
// answers 500: hang.test never answers at all, trickle.test sends its
// status line one byte at a time and never finishes it.
type stuckHost struct {
	release  chan struct{}
	requests atomic.Int64 // requests received
	inFlight atomic.Int64
	maxHeld  atomic.Int64 // most requests held at once
	finished atomic.Int64 // requests answered (after release)
}

func newStuckHost() *stuckHost { return &stuckHost{release: make(chan struct{})} }

func (h *stuckHost) enter() {
	h.requests.Add(1)
	n := h.inFlight.Add(1)
	for {
		m := h.maxHeld.Load()
		if n <= m || h.maxHeld.CompareAndSwap(m, n) {
			return
		}
	}
}

func (h *stuckHost) leave() {
	h.inFlight.Add(-1)
	h.finished.Add(1)
}

func (h *stuckHost) hang(w http.ResponseWriter, r *http.Request) {
	h.enter()
	defer h.leave()
	io.Copy(io.Discard, r.Body)
	select {
	case <-h.release:
	case <-r.Context().Done():
	}
	w.WriteHeader(http.StatusInternalServerError)
}

// trickle takes over the connection and drips the status line until
// released; a client waiting for the headers gets nothing whole.
func (h *stuckHost) trickle(w http.ResponseWriter, r *http.Request) {
	h.enter()
	defer h.leave()
	io.Copy(io.Discard, r.Body)
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	status := "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
	i := 0
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-h.release:
			writeFlush(buf, status[i:])
			return
		case <-tick.C:
			if i < len(status)-4 { // never the final CRLF CRLF
				if writeFlush(buf, status[i:i+1]) != nil {
					return
				}
				i++
			}
		}
	}
}

func writeFlush(b *bufio.ReadWriter, s string) error {
	if _, err := b.WriteString(s); err != nil {
		return err
	}
	return b.Flush()
}

// A receiver that hangs or trickles holds at most PerHost deliveries; the
// pool keeps delivering to healthy hosts meanwhile, and once the bad hosts
// answer (with 500s) they are backed off and their circuit opens, so most
// of their deliveries are rescheduled without another request.
func TestSlowHostDoesNotSlowOthers(t *testing.T) {
	t.Parallel()
	s := newSender(t)
	ctx := context.Background()

	hang, trickle := newStuckHost(), newStuckHost()
	var goodMu sync.Mutex
	good := map[string]int{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST hang.test/", hang.hang)
	mux.HandleFunc("POST trickle.test/", trickle.trickle)
	mux.HandleFunc("POST good.test/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !verified(r, body, s.pub, time.Now()) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		goodMu.Lock()
		good[r.URL.Path]++
		goodMu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	const perHost, concurrency = 2, 8
	addr := srv.Listener.Addr().String()
	s.run(t, &delivery.Worker{
		Consumer: "slow", Concurrency: concurrency, PerHost: perHost, SweepEvery: 100 * time.Millisecond,
		// A long timeout: the bad hosts are released by the test, never by
		// the client giving up, so the good host cannot be rescued by it.
		Fetch: newFetch(map[string]string{"hang.test": addr, "trickle.test": addr, "good.test": addr}, 5*time.Minute),
	})
	// Registered after the worker, so run before its shutdown waits for
	// the held requests.
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(hang.release); close(trickle.release) }) }
	t.Cleanup(release)

	// The bad hosts' deliveries are queued first, many times the pool.
	const nBad, nGood = 40, 30
	body := []byte(`{"id":"http://a.example/users/alice#notes/1","type":"Create"}`)
	for _, host := range []string{"hang.test", "trickle.test"} {
		if err := s.queue.Send(ctx, s.account.ID, "http://a.example/users/alice#notes/1", body, hostInboxes(host, nBad), false); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.queue.Send(ctx, s.account.ID, "http://a.example/users/alice#notes/1", body, hostInboxes("good.test", nGood), false); err != nil {
		t.Fatal(err)
	}

	eventually(t, "every good.test delivery arrives while the bad hosts hold their requests", func() bool {
		goodMu.Lock()
		defer goodMu.Unlock()
		return len(good) == nGood
	})
	// Ordering, not timing: nothing has come back from a bad host yet, so
	// the good deliveries did not wait for them.
	if n := hang.finished.Load() + trickle.finished.Load(); n != 0 {
		t.Fatalf("%d bad-host requests finished before the good host was served", n)
	}
	// Successes are recorded in batches just after the receiver sees them.
	eventually(t, "every good.test row recorded delivered", func() bool {
		return s.scalar(t, `select count(*) from deliveries where host = 'good.test' and state = 'delivered'`) == nGood
	})
	if n := s.scalar(t, `select count(*) from deliveries where host <> 'good.test' and (state <> 'pending' or attempts <> 0)`); n != 0 {
		t.Fatalf("%d bad-host rows already recorded an attempt", n)
	}
	for name, h := range map[string]*stuckHost{"hang.test": hang, "trickle.test": trickle} {
		if h.requests.Load() == 0 {
			t.Fatalf("%s was never tried: the test proves nothing", name)
		}
		if m := h.maxHeld.Load(); m > perHost {
			t.Fatalf("%s held %d requests at once, PerHost is %d", name, m, perHost)
		}
	}

	// The bad hosts now answer 500 (after the stalls). Each failure backs
	// its row off; after enough of them the host's circuit opens and the
	// remaining rows are rescheduled without a request.
	release()
	for _, host := range []string{"hang.test", "trickle.test"} {
		eventually(t, "every "+host+" row attempted and backed off", func() bool {
			return s.scalar(t, `select count(*) from deliveries where host = $1 and state = 'pending'
				and attempts >= 1 and next_attempt_at > now()`, host) == nBad
		})
		if n := s.scalar(t, `select count(*) from deliveries where host = $1 and last_error like 'circuit open%'`, host); n == 0 {
			t.Fatalf("no %s row was rescheduled by an open circuit", host)
		}
	}
	// Requests to a bad host: the failures that opened the circuit (5), plus
	// at most PerHost already under way when it opened.
	for name, h := range map[string]*stuckHost{"hang.test": hang, "trickle.test": trickle} {
		if n := h.requests.Load(); n > 5+perHost {
			t.Fatalf("%s got %d requests for %d deliveries; the circuit should have stopped them at %d", name, n, nBad, 5+perHost)
		}
	}
}

func newFetch(resolve map[string]string, timeout time.Duration) *fetch.Client {
	return fetch.New(fetch.Config{Resolve: resolve, Timeout: timeout})
}

func hostInboxes(host string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "http://" + host + "/users/u" + strconv.Itoa(i) + "/inbox"
	}
	return out
}
