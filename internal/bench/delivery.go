package bench

import (
	"context"
	"crypto"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/delivery"
	"github.com/roost-social/roost/federation/outbox"
	"github.com/roost-social/roost/federation/signature"
)

// DeliveryOptions are the flags of `roost bench delivery`.
type DeliveryOptions struct {
	Inboxes     int           // receiving servers
	Concurrency int           // deliveries in flight
	Timeout     time.Duration // give up after
	CPUProfile  string        // a CPU profile of the timed window, when set
	// BlockProfile and MutexProfile, when set, get the block and mutex
	// profiles of the timed window (where goroutines wait, not run).
	BlockProfile, MutexProfile string
}

// Delivery is what the delivery benchmark posts through and delivers
// with, wired by cmd on federation resolving the Receiver's hosts.
type Delivery struct {
	Env
	Outbox interface {
		Post(ctx context.Context, local *federation.Account, p outbox.NewPost) (*federation.Status, error)
	}
	Worker *delivery.Worker
}

// Receiver is the benchmark's remote side: n loopback servers' inboxes
// (one listener; the hosts r0.test … rN.test resolve to it), each
// delivery's signature verified and each inbox counted once.
type Receiver struct {
	n    int
	ln   net.Listener
	srv  *http.Server
	recv *receiver
}

// NewReceiver listens on loopback for n inboxes' deliveries.
func NewReceiver(n int) (*Receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Receiver{n: n, ln: ln, recv: &receiver{want: int64(n), done: make(chan struct{})}}
	r.srv = &http.Server{Handler: r.recv, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(ln) }() // ends with Close
	return r, nil
}

// Resolve is the ROOST_FEDERATION_RESOLVE value sending every receiving
// host to the listener.
func (r *Receiver) Resolve() string {
	addr := r.ln.Addr().String()
	hosts := make([]string, r.n)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("r%d.test=%s", i, addr)
	}
	return strings.Join(hosts, ",")
}

// Close stops the listener.
func (r *Receiver) Close() error { return r.srv.Close() }

// Run measures a fan-out: one local account with followers on the
// receiver's servers (one inbox each, no shared inboxes), one post, and
// the time from the post call returning to the last delivery verified by
// its receiver.
func (d Delivery) Run(ctx context.Context, r *Receiver, o DeliveryOptions) (map[string]any, error) {
	recv := r.recv
	if _, err := d.Tenants.CreateTenant(ctx, "Bench", "bench.test", ""); err != nil {
		return nil, err
	}
	poster, err := d.CreateAccount(ctx, "bench.test", "poster", "poster@bench.test", "bench password", "Poster")
	if err != nil {
		return nil, err
	}
	if recv.pub, err = signature.ParsePublicKeyPEM(poster.PublicKeyPEM); err != nil {
		return nil, err
	}
	if err := seedRemoteFollowers(ctx, d.Env, poster.ID, r.n); err != nil {
		return nil, err
	}
	fl, err := d.newFloor(ctx, poster, recv.pub)
	if err != nil {
		return nil, err
	}
	// Half the floor before the run and half after: a machine whose load
	// changes meanwhile weighs on both sides of the ratio alike.
	before, err := fl.measure(standInBody, fl.inboxes[:len(fl.inboxes)/2])
	if err != nil {
		return nil, err
	}
	w := d.Worker
	w.Concurrency, w.PerHost = o.Concurrency, 4
	wctx, cancel := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() { _ = w.Run(wctx); close(stopped) }() // ends with cancel
	defer cancel()
	if err := workerReady(ctx, w.Queue); err != nil {
		return nil, err
	}

	st, err := d.Outbox.Post(ctx, poster, outbox.NewPost{Text: "Benchmark post"})
	if err != nil {
		return nil, err
	}
	start, cpuStart := time.Now(), sampleCPU()
	recv.setStart(start)
	stopProfiles, err := startProfiles(o.CPUProfile, o.BlockProfile, o.MutexProfile)
	if err != nil {
		return nil, err
	}
	select {
	case <-recv.done:
	case <-time.After(o.Timeout):
	case <-ctx.Done():
	}
	cpuEnd := sampleCPU()
	last, first := recv.times()
	elapsed := last.Sub(start)
	if err := stopProfiles(); err != nil {
		return nil, err
	}
	cancel() // let the worker record its last batch before counting rows
	<-stopped
	var failed int
	if err := d.DB.QueryRow(ctx, `select count(*) from deliveries where activity_id = $1 and state <> 'delivered'`,
		st.URI+"/activity").Scan(&failed); err != nil {
		return nil, fmt.Errorf("count deliveries: %w", err)
	}
	var body []byte
	if err := d.DB.QueryRow(ctx, `select body from deliveries where activity_id = $1 limit 1`, st.URI+"/activity").Scan(&body); err != nil {
		return nil, fmt.Errorf("load a delivery: %w", err)
	}
	after, err := fl.measure(body, fl.inboxes[len(fl.inboxes)/2:])
	if err != nil {
		return nil, err
	}
	floors := Floors{Sign: before.Sign + after.Sign, Verify: before.Verify + after.Verify}
	got := recv.count.Load()
	res := map[string]any{
		"bench": "delivery", "inboxes": r.n, "seconds": round3(elapsed.Seconds()),
		"deliveries_per_second": round3(float64(got) / max(elapsed.Seconds(), 1e-9)), "failed": int64(r.n) - got,
		// A delivery can land before Post has returned: that counts as 0.
		"first_delivery_ms": round3(max(first.Sub(start).Seconds(), 0) * 1000), "rows_not_delivered": failed,
		"sign_floor_seconds": round3(floors.Sign.Seconds()), "verify_floor_seconds": round3(floors.Verify.Seconds()),
		"limit_seconds": round3(floors.Limit().Seconds()), "ratio": ratio(elapsed, floors.Limit()), "loadavg": loadavg(),
	}
	res["progress_ms"] = recv.progress()
	// Where the window's CPU went (the floors are all this process's).
	for k, v := range cpuFields(cpuStart, cpuEnd, cpuEnd.at.Sub(start)) {
		res[k] = v
	}
	return res, nil
}

// workerReady waits until the worker beats (its consumer groups are
// created and its pool started), then a little more for its first
// blocking read: on a loaded machine a fixed sleep was not always enough,
// and the worker's start-up was counted as the first delivery's latency.
func workerReady(ctx context.Context, q *delivery.Queue) error {
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		st, err := q.Streams(ctx, time.Now())
		if err != nil {
			return fmt.Errorf("delivery worker: %w", err)
		}
		if len(st.Workers) > 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("delivery worker not running after 30 s")
		}
	}
	time.Sleep(100 * time.Millisecond)
	return nil
}

// standInBody stands for the post's activity before it exists: a Create
// of the same size. What signing costs does not depend on the body but
// for its digest (microseconds).
var standInBody = []byte(`{"@context":["https://www.w3.org/ns/activitystreams"],"id":"http://bench.test/users/poster/statuses/0/activity","type":"Create","actor":"http://bench.test/users/poster","published":"2026-12-06T00:00:00Z","to":["https://www.w3.org/ns/activitystreams#Public"],"cc":["http://bench.test/users/poster/followers"],"object":{"id":"http://bench.test/users/poster/statuses/0","type":"Note","attributedTo":"http://bench.test/users/poster","content":"<p>Benchmark post</p>","published":"2026-12-06T00:00:00Z","url":"http://bench.test/@poster/0","to":["https://www.w3.org/ns/activitystreams#Public"],"cc":["http://bench.test/users/poster/followers"],"sensitive":false,"tag":[],"attachment":[]}}`)

// floor is what the benchmark's floor is measured with: the poster's key
// and key id (as the worker signs), every follower's inbox, and the key
// the receivers verify with.
type floor struct {
	key     crypto.PrivateKey
	keyID   string
	inboxes []string
	pub     crypto.PublicKey
}

func (d Delivery) newFloor(ctx context.Context, poster *federation.Account, pub crypto.PublicKey) (*floor, error) {
	key, err := signature.ParsePrivateKeyPEM(poster.PrivateKeyPEM)
	if err != nil {
		return nil, err
	}
	keyID, err := d.Worker.KeyID(ctx, poster)
	if err != nil {
		return nil, err
	}
	rows, err := d.DB.Query(ctx, `select inbox_url from accounts where tenant_id is null order by id`)
	if err != nil {
		return nil, fmt.Errorf("load inboxes: %w", err)
	}
	inboxes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("load inboxes: %w", err)
	}
	return &floor{key: key, keyID: keyID, inboxes: inboxes, pub: pub}, nil
}

// measure signs a delivery of body to each inbox, then verifies each as
// its receiver does, every core at a time.
func (f *floor) measure(body []byte, inboxes []string) (Floors, error) {
	var out Floors
	var reqs []*http.Request
	var err error
	if out.Sign, reqs, err = signFloor(f.key, f.keyID, body, inboxes); err != nil {
		return Floors{}, err
	}
	bodies := make([][]byte, len(reqs))
	for i := range bodies {
		bodies[i] = body
	}
	if out.Verify, err = verifyFloor(reqs, bodies, f.pub); err != nil {
		return Floors{}, err
	}
	return out, nil
}

// seedRemoteFollowers caches n remote actors, r<i>.test/users/f<i>, each
// with its own inbox, following the poster.
func seedRemoteFollowers(ctx context.Context, e Env, posterID int64, n int) error {
	if _, err := e.DB.Exec(ctx, `
		insert into accounts (domain, username, public_key_pem, uri, inbox_url, fetched_at)
		select 'r' || i || '.test', 'f' || i, '', 'http://r' || i || '.test/users/f' || i, 'http://r' || i || '.test/inbox', now()
		from generate_series(0, $1 - 1) i`, n); err != nil {
		return fmt.Errorf("seed remote followers: %w", err)
	}
	if _, err := e.DB.Exec(ctx, `insert into follows (follower_id, followee_id, state, uri)
		select id, $1, 'accepted', uri || '#follow' from accounts where tenant_id is null`, posterID); err != nil {
		return fmt.Errorf("seed follows: %w", err)
	}
	return nil
}

// receiver verifies every delivery's signature and counts them.
type receiver struct {
	pub   crypto.PublicKey
	want  int64
	count atomic.Int64
	done  chan struct{}

	mu          sync.Mutex
	start       time.Time
	first, last time.Time
	arrived     []time.Time // each inbox's first verified delivery
	seen        sync.Map    // host → true: each inbox counted once
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	p, err := signature.Check(req, body, time.Now())
	if err == nil {
		err = signature.Verify(req, p, r.pub)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	w.WriteHeader(http.StatusAccepted)
	if _, dup := r.seen.LoadOrStore(req.Host, true); dup {
		return
	}
	now := time.Now()
	r.mu.Lock()
	if r.first.IsZero() {
		r.first = now
	}
	r.last = now
	r.arrived = append(r.arrived, now)
	r.mu.Unlock()
	if r.count.Add(1) == r.want {
		close(r.done)
	}
}

func (r *receiver) setStart(t time.Time) {
	r.mu.Lock()
	r.start = t
	r.mu.Unlock()
}

// progress is when each tenth of the inboxes had been delivered to, in
// milliseconds from the start: a slow start, an even pace and a long
// tail cost the same seconds but have different causes.
func (r *receiver) progress() []float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []float64
	for tenth := 1; tenth <= 10 && len(r.arrived) > 0; tenth++ {
		at := r.arrived[max(0, min(len(r.arrived), len(r.arrived)*tenth/10)-1)]
		out = append(out, round3(max(at.Sub(r.start).Seconds(), 0)*1000))
	}
	return out
}

func (r *receiver) times() (last, first time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last, r.first
}
