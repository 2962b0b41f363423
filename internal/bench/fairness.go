package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/outbox"
)

// FairnessOptions are the flags of `roost bench fairness`.
type FairnessOptions struct {
	Backlog     int           // tenant A's followers: deliveries of its one post
	Concurrency int           // deliveries in flight
	Samples     int           // tenant B's direct messages per phase
	Timeout     time.Duration // give up on one message after
}

// FairnessReceiver is the remote side of the fairness benchmark: one
// loopback listener every receiving host resolves to. It answers 202 at
// once without verifying signatures (verifying is the receivers' cost,
// not Roost's, and would only load the machine) and records when each
// host first received something.
type FairnessReceiver struct {
	backlog int
	ln      net.Listener
	srv     *http.Server

	mu     sync.Mutex
	first  map[string]time.Time
	wake   chan struct{}
	bulkIn atomic.Int64
}

// NewFairnessReceiver listens on loopback for backlog followers' inboxes
// and the quiet tenant's correspondent (dm.test).
func NewFairnessReceiver(backlog int) (*FairnessReceiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &FairnessReceiver{backlog: backlog, ln: ln, first: map[string]time.Time{}, wake: make(chan struct{}, 1)}
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(ln) }() // ends with Close
	return r, nil
}

// Resolve is the ROOST_FEDERATION_RESOLVE value sending r0.test …
// r<backlog-1>.test and dm.test to the listener.
func (r *FairnessReceiver) Resolve() string {
	addr := r.ln.Addr().String()
	hosts := make([]string, 0, r.backlog+1)
	for i := range r.backlog {
		hosts = append(hosts, fmt.Sprintf("r%d.test=%s", i, addr))
	}
	return strings.Join(append(hosts, "dm.test="+addr), ",")
}

// Close stops the listener.
func (r *FairnessReceiver) Close() error { return r.srv.Close() }

func (r *FairnessReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	_, _ = io.Copy(io.Discard, io.LimitReader(req.Body, 1<<20))
	w.WriteHeader(http.StatusAccepted)
	key := req.Host + req.URL.Path
	r.mu.Lock()
	_, seen := r.first[key]
	if !seen {
		r.first[key] = time.Now()
	}
	r.mu.Unlock()
	if seen {
		return
	}
	if strings.HasPrefix(req.Host, "dm.test") {
		select {
		case r.wake <- struct{}{}:
		default:
		}
		return
	}
	r.bulkIn.Add(1)
}

// arrived reports when key (host + path) first received a delivery.
func (r *FairnessReceiver) arrived(key string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.first[key]
	return t, ok
}

// Fairness is what the fairness benchmark posts and delivers with, wired
// by cmd as Delivery is.
type Fairness struct {
	Delivery
}

// Run measures how long tenant B's direct message to one remote inbox
// takes to arrive, first with the delivery queue idle, then while tenant
// A's one post fans out to o.Backlog inboxes: the issue-20 target is at
// most a second on this machine in both phases. The timed span is from
// the send (committing and dispatching the message's row) to the
// receiver's having it.
func (f Fairness) Run(ctx context.Context, r *FairnessReceiver, o FairnessOptions) (map[string]any, error) {
	a, b, err := f.seed(ctx, o.Backlog)
	if err != nil {
		return nil, err
	}
	w := f.Worker
	w.Concurrency, w.PerHost = o.Concurrency, 4
	wctx, cancel := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() { _ = w.Run(wctx); close(stopped) }() // ends with cancel
	defer func() { cancel(); <-stopped }()
	if err := workerReady(ctx, w.Queue); err != nil {
		return nil, err
	}
	quiet, err := f.messages(ctx, r, b, "quiet", o)
	if err != nil {
		return nil, err
	}
	if _, err := f.Outbox.Post(ctx, a, outbox.NewPost{Text: "Tenant A's post to every follower"}); err != nil {
		return nil, err
	}
	// The backlog is flowing: A's deliveries are arriving and most are
	// still queued when B's messages are sent.
	for deadline := time.Now().Add(o.Timeout); r.bulkIn.Load() < int64(min(200, o.Backlog/10)); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("tenant A's deliveries did not start within %s", o.Timeout)
		}
	}
	var queued int
	if err := f.DB.QueryRow(ctx, `select count(*) from deliveries where sender_id = $1 and state = 'pending'`, a.ID).Scan(&queued); err != nil {
		return nil, fmt.Errorf("count A's backlog: %w", err)
	}
	aStart := time.Now()
	aBefore := r.bulkIn.Load()
	busy, err := f.messages(ctx, r, b, "busy", o)
	if err != nil {
		return nil, err
	}
	aRate := float64(r.bulkIn.Load()-aBefore) / max(time.Since(aStart).Seconds(), 1e-9)
	return map[string]any{
		"bench": "fairness", "backlog": o.Backlog, "concurrency": o.Concurrency, "samples": o.Samples,
		"b_dm_ms_quiet_p50": ms(quiet[len(quiet)/2]), "b_dm_ms_quiet_max": ms(quiet[len(quiet)-1]),
		"b_dm_ms_backlog_p50": ms(busy[len(busy)/2]), "b_dm_ms_backlog_max": ms(busy[len(busy)-1]),
		"a_queued_when_b_sent": queued, "a_deliveries_per_second_meanwhile": round3(aRate),
		"target_ms": 1000, "within_target": busy[len(busy)-1] <= time.Second, "loadavg": loadavg(),
	}, nil
}

func ms(d time.Duration) float64 { return round3(d.Seconds() * 1000) }

// seed creates tenant A with backlog remote followers and tenant B.
func (f Fairness) seed(ctx context.Context, backlog int) (a, b *federation.Account, err error) {
	if _, err := f.Tenants.CreateTenant(ctx, "Busy", "busy.test", ""); err != nil {
		return nil, nil, err
	}
	if _, err := f.Tenants.CreateTenant(ctx, "Quiet", "quiet.test", ""); err != nil {
		return nil, nil, err
	}
	if a, err = f.CreateAccount(ctx, "busy.test", "poster", "poster@busy.test", "bench password", "Busy poster"); err != nil {
		return nil, nil, err
	}
	if b, err = f.CreateAccount(ctx, "quiet.test", "writer", "writer@quiet.test", "bench password", "Quiet writer"); err != nil {
		return nil, nil, err
	}
	if err := seedRemoteFollowers(ctx, f.Env, a.ID, backlog); err != nil {
		return nil, nil, err
	}
	return a, b, nil
}

// messages sends o.Samples direct messages from b, one at a time, each to
// a fresh inbox on dm.test, and returns their latencies, sorted.
func (f Fairness) messages(ctx context.Context, r *FairnessReceiver, b *federation.Account, phase string, o FairnessOptions) ([]time.Duration, error) {
	out := make([]time.Duration, 0, o.Samples)
	for i := range o.Samples {
		path := fmt.Sprintf("/users/friend/%s-%d/inbox", phase, i)
		id := fmt.Sprintf("http://quiet.test/users/writer/dm/%s-%d", phase, i)
		body := []byte(`{"@context":"https://www.w3.org/ns/activitystreams","type":"Create","id":"` + id +
			`","actor":"http://quiet.test/users/writer","to":["http://dm.test/users/friend"],"object":{"type":"Note","id":"` + id +
			`/note","content":"hello","to":["http://dm.test/users/friend"]}}`)
		// Express, as the outbox marks direct messages.
		sent := time.Now()
		if err := f.Worker.Queue.Send(ctx, b.ID, id, body, []string{"http://dm.test" + path}, true); err != nil {
			return nil, err
		}
		for deadline := sent.Add(o.Timeout); ; {
			if at, ok := r.arrived("dm.test" + path); ok {
				out = append(out, at.Sub(sent))
				break
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("tenant B's %s message not delivered within %s", phase, o.Timeout)
			}
			select {
			case <-r.wake:
			case <-time.After(5 * time.Millisecond):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}
