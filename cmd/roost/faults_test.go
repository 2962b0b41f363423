package main

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	goredis "github.com/redis/go-redis/v9"
	"github.com/roost-social/roost/federation/delivery"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/federation/signature"
	"github.com/roost-social/roost/internal/devenv"
	"github.com/roost-social/roost/internal/testenv"
)

// faultReceiver stands for many remote servers (one per Host): it verifies
// every delivery's signature with the sender's key and records each
// (inbox, activity id) pair it accepted, and how often. Once gateAt
// requests have arrived, further ones wait at a gate until the test opens
// it, so a test can act while a fan-out is certainly under way.
type faultReceiver struct {
	pub    crypto.PublicKey
	keyID  string
	delay  time.Duration
	gateAt int
	gate   chan struct{}
	once   sync.Once

	mu       sync.Mutex
	arrived  int
	held     int // waiting at the gate
	rejected int
	pairs    map[string]int
	first    map[string]bool // pairs sent to the first listener
}

func newFaultReceiver(gateAt int, delay time.Duration) *faultReceiver {
	return &faultReceiver{gateAt: gateAt, delay: delay, gate: make(chan struct{}), pairs: map[string]int{}, first: map[string]bool{}}
}

// listener returns a server for the receiver; requests to a first one are
// remembered as such, whenever they are read.
func (f *faultReceiver) listener(t *testing.T, first bool) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f.serve(w, r, first) }))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func (f *faultReceiver) serve(w http.ResponseWriter, r *http.Request, first bool) {
	if r.Method != http.MethodPost {
		// Not a delivery: `roost work` also asks the hosts it delivers to
		// for their NodeInfo (the dashboard's remote hosts), which these
		// servers do not publish.
		http.NotFound(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	p, err := signature.Check(r, body, time.Now())
	if err == nil {
		err = signature.Verify(r, p, f.pub)
	}
	var act struct{ ID string }
	if err == nil && p.KeyID != f.keyID {
		err = fmt.Errorf("signed by %s", p.KeyID)
	}
	if err == nil {
		err = json.Unmarshal(body, &act)
	}
	f.mu.Lock()
	if err != nil || act.ID == "" {
		f.rejected++
		f.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	key := r.Host + r.URL.Path + " " + act.ID
	f.arrived++
	if first {
		f.first[key] = true
	}
	gated := f.gateAt > 0 && f.arrived > f.gateAt
	if gated {
		f.held++
	}
	f.mu.Unlock()
	if gated {
		<-f.gate
		f.mu.Lock()
		f.held--
		f.mu.Unlock()
	}
	time.Sleep(f.delay)
	// Recorded even if the sender has gone meanwhile: a real receiver may
	// well have applied an activity whose sender never saw the answer.
	f.mu.Lock()
	f.pairs[key]++
	f.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

func (f *faultReceiver) openGate() { f.once.Do(func() { close(f.gate) }) }

// stats returns the distinct pairs, all recorded deliveries, and the
// requests held at the gate.
func (f *faultReceiver) stats() (pairs, total, held int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range f.pairs {
		total += n
	}
	return len(f.pairs), total, f.held
}

// missing lists wanted pairs never recorded.
func (f *faultReceiver) missing(want []string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, k := range want {
		if f.pairs[k] == 0 {
			out = append(out, k)
		}
	}
	return out
}

// fanOut is one sender (alice@a.test, created with the CLI) and a
// receiver standing for hosts r0.test … r{hosts-1}.test. Workers reach it
// on a first listener; secondEnv points a later worker at another, so that
// what each sent is known even if a dead worker's last requests are read
// late.
type fanOut struct {
	env      []string
	recv     *faultReceiver
	db       *pgxpool.Pool
	redis    *goredis.Client
	prefix   string
	queue    *delivery.Queue
	senderID int64
	inboxes  []string
	activity string
	logs     []*bytes.Buffer
	// secondEnv sends a worker's deliveries to the second listener.
	secondEnv string
}

// newFanOut prepares a database, the sender and the receiver; redisURL is
// the Redis the worker and the test's queue share.
func newFanOut(t *testing.T, recv *faultReceiver, hosts, inboxes int, redisURL string, extraEnv ...string) *fanOut {
	t.Helper()
	resolve := func(addr string) string {
		out := make([]string, hosts)
		for i := range out {
			out[i] = fmt.Sprintf("r%d.test=%s", i, addr)
		}
		return "ROOST_FEDERATION_RESOLVE=" + strings.Join(out, ",")
	}
	dbURL := testenv.DatabaseURL(t)
	f := &fanOut{recv: recv, prefix: fmt.Sprintf("test:%d:faults:%d:", os.Getpid(), time.Now().UnixNano())}
	f.env = append([]string{
		"ROOST_DATABASE_URL=" + dbURL,
		"ROOST_REDIS_URL=" + redisURL,
		"ROOST_REDIS_PREFIX=" + f.prefix,
		"ROOST_URL_SCHEME=http",
		resolve(recv.listener(t, true)),
		"ROOST_LOG_LEVEL=debug",
	}, extraEnv...)
	f.secondEnv = resolve(recv.listener(t, false))
	t.Cleanup(recv.openGate) // before the listeners close: they wait for held requests
	for _, args := range [][]string{
		{"tenant", "create", "--name", "A", "--domain", "a.test"},
		{"account", "create", "--domain", "a.test", "--username", "alice", "--email", "alice@a.test", "--password", "long enough password"},
	} {
		if code, _, stderr := roost(t, f.env, args...); code != 0 {
			t.Fatalf("roost %v: exit %d\n%s", args, code, stderr)
		}
	}
	ctx := context.Background()
	var err error
	if f.db, err = pgxpool.New(ctx, dbURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.db.Close)
	var pubPEM string
	if err := f.db.QueryRow(ctx, `select id, public_key_pem from accounts where username = 'alice' and domain = 'a.test'`).
		Scan(&f.senderID, &pubPEM); err != nil {
		t.Fatal(err)
	}
	if recv.pub, err = signature.ParsePublicKeyPEM(pubPEM); err != nil {
		t.Fatal(err)
	}
	recv.keyID = "http://a.test/users/alice#main-key"
	opt, err := goredis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	f.redis = goredis.NewClient(opt)
	t.Cleanup(func() {
		iter := f.redis.Scan(context.Background(), 0, f.prefix+"*", 1000).Iterator()
		for iter.Next(context.Background()) {
			f.redis.Del(context.Background(), iter.Val())
		}
		f.redis.Close()
	})
	// The test process enqueues as `roost serve` would: same database,
	// Redis and prefix as the worker.
	f.queue = &delivery.Queue{Store: fedpg.New(f.db), Redis: f.redis, Prefix: f.prefix,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	f.activity = "http://a.test/users/alice#notes/1"
	for i := range inboxes {
		f.inboxes = append(f.inboxes, fmt.Sprintf("http://r%d.test/users/u%d/inbox", i%hosts, i))
	}
	return f
}

func (f *fanOut) send(t *testing.T) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": f.activity, "type": "Create",
		"actor": "http://a.test/users/alice", "object": map[string]any{"type": "Note", "content": "hello"},
	})
	if err := f.queue.Send(context.Background(), f.senderID, f.activity, body, f.inboxes, false); err != nil {
		t.Fatal(err)
	}
}

// wantPairs are the receiver's keys for every inbox of the fan-out.
func (f *fanOut) wantPairs() []string {
	out := make([]string, len(f.inboxes))
	for i, in := range f.inboxes {
		out[i] = strings.TrimPrefix(in, "http://") + " " + f.activity
	}
	return out
}

// work starts a `roost work` process (with env on top of the fan-out's);
// the test may kill it.
func (f *fanOut) work(t *testing.T, env ...string) *exec.Cmd {
	t.Helper()
	c := exec.Command(roostBin(t), "work")
	c.Env = append(append(cleanEnv(), f.env...), env...)
	var buf bytes.Buffer
	c.Stdout, c.Stderr = &buf, &buf
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	f.logs = append(f.logs, &buf)
	n := len(f.logs)
	t.Cleanup(func() {
		c.Process.Signal(syscall.SIGTERM)
		c.Wait()
		if t.Failed() {
			t.Logf("worker %d log:\n%s", n, buf.String())
		}
	})
	return c
}

func (f *fanOut) count(t *testing.T, sql string) int {
	t.Helper()
	var n int
	if err := f.db.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// waitFor polls cond (a liveness bound, not a timing check).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(90 * time.Second); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
	}
}

// finish waits until every row is delivered and every pair recorded.
func (f *fanOut) finish(t *testing.T) {
	t.Helper()
	n := len(f.inboxes)
	waitFor(t, fmt.Sprintf("all %d rows delivered", n), func() bool {
		return f.count(t, `select count(*) from deliveries where state = 'delivered'`) == n
	})
	if miss := f.recv.missing(f.wantPairs()); len(miss) > 0 {
		t.Fatalf("rows delivered but %d pairs never arrived, e.g. %s", len(miss), miss[0])
	}
	f.recv.mu.Lock()
	rejected := f.recv.rejected
	f.recv.mu.Unlock()
	if rejected > 0 {
		t.Fatalf("%d deliveries failed signature verification", rejected)
	}
}

// SECURITY 31 and 32: `kill -9` a worker in the middle of a fan-out. A new
// worker (another consumer) takes over the entries the dead one had read
// but not acknowledged, with XAUTOCLAIM — the sweeper is set to an hour so
// nothing else could — and every (activity, inbox) pair arrives. Delivery
// is at-least-once: a pair the dead worker had sent but not yet recorded
// as delivered may arrive a second time; every other pair arrives once.
func TestKillWorkerMidFanOut(t *testing.T) {
	t.Parallel()
	const hosts, inboxes, gateAt = 40, 200, 60
	recv := newFaultReceiver(gateAt, 20*time.Millisecond)
	f := newFanOut(t, recv, hosts, inboxes, testenv.RedisURL(),
		"ROOST_DELIVERY_CLAIM_IDLE=2s", "ROOST_DELIVERY_SWEEP_EVERY=1h")
	f.send(t)
	first := f.work(t)
	waitFor(t, "the first worker's deliveries held mid-fan-out", func() bool {
		_, _, held := recv.stats()
		return held > 0
	})
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	// The process is gone: no request of its can start now. Those inside
	// the receiver are still recorded, though their sender never saw an
	// answer.
	pairsAtKill, _, _ := recv.stats()
	if pairsAtKill >= inboxes {
		t.Fatalf("all %d pairs arrived before the kill; the test proves nothing", pairsAtKill)
	}
	// Rows the dead worker recorded as delivered: these must never be sent
	// again.
	recorded := map[string]bool{}
	rows, err := f.db.Query(context.Background(), `select inbox_url from deliveries where state = 'delivered'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var in string
		if err := rows.Scan(&in); err != nil {
			t.Fatal(err)
		}
		recorded[strings.TrimPrefix(in, "http://")+" "+f.activity] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	dead := fmt.Sprintf("%s-%d", host, first.Process.Pid)
	pend, err := f.redis.XPending(context.Background(), f.prefix+"deliveries:bulk", "workers").Result()
	if err != nil {
		t.Fatal(err)
	}
	if pend.Consumers[dead] == 0 {
		t.Fatalf("the killed worker %s left no pending entries (%+v); nothing to reclaim", dead, pend.Consumers)
	}
	recv.openGate()

	f.work(t, f.secondEnv)
	f.finish(t)
	waitFor(t, "the dead consumer's entries taken over and acknowledged", func() bool {
		p, err := f.redis.XPending(context.Background(), f.prefix+"deliveries:bulk", "workers").Result()
		return err == nil && p.Consumers[dead] == 0 && p.Count == 0
	})
	// At-least-once, and no more: only a delivery the dead worker had sent
	// without recording the answer may arrive twice.
	recv.mu.Lock()
	defer recv.mu.Unlock()
	inFlight, dups := 0, 0
	for _, k := range f.wantPairs() {
		n := recv.pairs[k]
		switch {
		case recv.first[k] && !recorded[k]:
			inFlight++
			if n > 2 {
				t.Errorf("%s arrived %d times; it was in flight once when the worker died", k, n)
			}
		case n != 1:
			t.Errorf("%s arrived %d times; want once (sent by the killed worker %v, recorded by it %v)", k, n, recv.first[k], recorded[k])
		}
		dups += n - 1
	}
	t.Logf("killed %s with %d entries pending, %d pairs recorded by the receiver and %d rows delivered; "+
		"%d deliveries sent but unrecorded at the kill, %d of them sent again",
		dead, pend.Consumers[dead], pairsAtKill, len(recorded), inFlight, dups)
}

// SECURITY 33: Redis is emptied (FLUSHALL, every connection dropped: a
// restart without persistence) in the middle of a fan-out. Entries no
// worker had read are gone; the worker recreates its consumer groups and
// its sweeper rebuilds the dispatch from PostgreSQL: every pair arrives,
// once. The Redis is private to this test, so flushing it disturbs no
// other.
func TestRedisEmptiedMidFanOut(t *testing.T) {
	t.Parallel()
	env, err := devenv.Start(context.Background(), devenv.Options{Dir: t.TempDir(), SkipPostgres: true, Install: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Stop() })
	const hosts, inboxes, gateAt = 40, 400, 20
	recv := newFaultReceiver(gateAt, 20*time.Millisecond)
	f := newFanOut(t, recv, hosts, inboxes, env.RedisURL, "ROOST_DELIVERY_SWEEP_EVERY=500ms")
	f.send(t)
	f.work(t)
	waitFor(t, "deliveries held mid-fan-out", func() bool {
		_, _, held := recv.stats()
		return held > 0
	})
	ctx := context.Background()
	bulk := f.prefix + "deliveries:bulk"
	length, err := f.redis.XLen(ctx, bulk).Result()
	if err != nil {
		t.Fatal(err)
	}
	pend, err := f.redis.XPending(ctx, bulk, "workers").Result()
	if err != nil {
		t.Fatal(err)
	}
	if unread := length - pend.Count; unread <= 0 {
		t.Fatalf("no unread entries to lose (%d in the stream, %d pending); the test proves nothing", length, pend.Count)
	}
	if err := f.redis.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := f.redis.Do(ctx, "CLIENT", "KILL", "TYPE", "normal").Err(); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.redis.Exists(ctx, bulk).Result(); n != 0 {
		t.Fatal("the stream survived FLUSHALL")
	}
	t.Logf("flushed %d entries (%d of them read by the worker)", length, pend.Count)
	recv.openGate()
	f.finish(t)
	if _, total, _ := recv.stats(); total != inboxes {
		t.Fatalf("%d deliveries recorded for %d pairs; a live worker should deliver each once", total, inboxes)
	}
	if n := f.count(t, `select count(*) from deliveries where attempts <> 1`); n != 0 {
		t.Fatalf("%d rows took more than one attempt", n)
	}
}
