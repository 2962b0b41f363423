package main

import (
	"context"
	"crypto"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roost-social/roost/federation/outbox"
	"github.com/roost-social/roost/federation/signature"
	"github.com/roost-social/roost/internal/config"
)

// benchDelivery measures a fan-out: one local account with followers on N
// loopback servers (one inbox each, no shared inboxes), one post, and the
// time from the post call returning to the last delivery verified by its
// receiver.
func benchDelivery(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("bench delivery", flag.ContinueOnError)
	n := fs.Int("inboxes", 580, "number of receiving servers")
	concurrency := fs.Int("concurrency", 128, "deliveries in flight")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the timed window here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	recv := &benchReceiver{want: int64(*n), done: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: recv, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	addr := ln.Addr().String()
	hosts := make([]string, *n)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("r%d.test=%s", i, addr)
	}
	cfg.FederationResolve = strings.Join(hosts, ",")
	log = slog.New(slog.NewTextHandler(io.Discard, nil)) // the resolve warning would print 580+ hosts

	svc, stop, err := benchServices(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer stop()
	if _, err := svc.tenantSv.CreateTenant(ctx, "Bench", "bench.test", ""); err != nil {
		return err
	}
	poster, err := createAccount(ctx, svc, "bench.test", "poster", "poster@bench.test", "bench password", "Poster")
	if err != nil {
		return err
	}
	if recv.pub, err = signature.ParsePublicKeyPEM(poster.PublicKeyPEM); err != nil {
		return err
	}
	if _, err := svc.db.Exec(ctx, `
		insert into accounts (domain, username, public_key_pem, uri, inbox_url, fetched_at)
		select 'r' || i || '.test', 'f' || i, '', 'http://r' || i || '.test/users/f' || i, 'http://r' || i || '.test/inbox', now()
		from generate_series(0, $1 - 1) i`, *n); err != nil {
		return err
	}
	if _, err := svc.db.Exec(ctx, `insert into follows (follower_id, followee_id, state, uri)
		select id, $1, 'accepted', uri || '#follow' from accounts where tenant_id is null`, poster.ID); err != nil {
		return err
	}
	fd, err := newFed(cfg, log, svc, storeResolver{svc.tenants})
	if err != nil {
		return err
	}
	w := fd.deliveryWorker(log)
	w.Concurrency, w.PerHost = *concurrency, 4
	wctx, cancel := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() { w.Run(wctx); close(stopped) }()
	defer cancel()
	time.Sleep(300 * time.Millisecond) // consumer groups created, pool idle

	st, err := fd.outbox.Post(ctx, poster, outbox.NewPost{Text: "Benchmark post"})
	if err != nil {
		return err
	}
	start := time.Now()
	recv.setStart(start)
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	select {
	case <-recv.done:
	case <-time.After(*timeout):
	case <-ctx.Done():
	}
	last, first := recv.times()
	elapsed := last.Sub(start).Seconds()
	cancel() // let the worker record its last batch before counting rows
	<-stopped
	var failed int
	svc.db.QueryRow(ctx, `select count(*) from deliveries where activity_id = $1 and state <> 'delivered'`, st.URI+"/activity").Scan(&failed)
	got := recv.count.Load()
	return printResult(map[string]any{
		"bench": "delivery", "inboxes": *n, "seconds": round3(elapsed),
		"deliveries_per_second": round3(float64(got) / max(elapsed, 1e-9)), "failed": int64(*n) - got,
		// A delivery can land before Post has returned: that counts as 0.
		"first_delivery_ms": round3(max(first.Sub(start).Seconds(), 0) * 1000), "rows_not_delivered": failed,
	})
}

// benchReceiver verifies every delivery's signature and counts them.
type benchReceiver struct {
	pub   crypto.PublicKey
	want  int64
	count atomic.Int64
	done  chan struct{}

	mu          sync.Mutex
	start       time.Time
	first, last time.Time
	seen        sync.Map // host → true: each inbox counted once
}

func (r *benchReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
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
	r.mu.Unlock()
	if r.count.Add(1) == r.want {
		close(r.done)
	}
}

func (r *benchReceiver) setStart(t time.Time) {
	r.mu.Lock()
	r.start = t
	r.mu.Unlock()
}

func (r *benchReceiver) times() (last, first time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last, r.first
}

func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }
