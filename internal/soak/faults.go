package soak

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/roost-social/roost/internal/devenv"
	"github.com/rs/zerolog"
)

// Fault kinds, as the result line counts them.
const (
	faultKillWeb    = "kill_web"
	faultKillWorker = "kill_worker"
	faultRolling    = "rolling_restart"
	faultRedis      = "redis_restart"
	faultRedisFlush = "redis_flush"
	faultPG         = "pg_restart"
	faultNet        = "net"
)

// faults injects failures from its own seeded generator, at random
// intervals, overlapping: each runs in its own goroutine, and a new one
// may start while others last. It never breaks the same thing twice at
// once (one lock per target), so that what it restores is what it broke.
type faults struct {
	env      *devenv.Env
	web      []*proc
	workers  []*proc
	proxy    *toxiproxy.Proxy
	progress io.Writer
	rnd      *rand.Rand
	every    time.Duration // mean interval between faults

	mu      sync.Mutex
	history []window // each fault: what and when
	counts  map[string]int
	busy    map[string]bool
	last    time.Time // when the last fault ended
	errs    []string
	wg      sync.WaitGroup
	// restores counts the servers being brought back now (restoring).
	restores atomic.Int32
}

// restoring reports whether a server the faults stopped is being
// started again (clients keep retrying meanwhile).
func (f *faults) restoring() bool { return f.restores.Load() > 0 }

// restore runs start, a stopped server's restart, counted by restoring;
// a restart that took longer than a client would wait without it is
// reported, so the figures never hide it.
func (f *faults) restore(what string, start func() error) error {
	f.restores.Add(1)
	defer f.restores.Add(-1)
	t := time.Now()
	err := start()
	if d := time.Since(t); d > 30*time.Second {
		fmt.Fprintf(f.progress, "soak: note: %s took %s to come back (clients waited, not counted as errors)\n", what, d.Round(time.Second))
	}
	return err
}

func newFaults(env *devenv.Env, web, workers []*proc, proxy *toxiproxy.Proxy, seed uint64, every time.Duration, progress io.Writer) *faults {
	return &faults{env: env, web: web, workers: workers, proxy: proxy, progress: progress, every: every,
		rnd: rand.New(rand.NewPCG(seed, 0xfa)), counts: map[string]int{}, busy: map[string]bool{}}
}

// newToxiproxy starts Toxiproxy in process: a proxy from a loopback
// listener to upstream, with no toxic until the soak adds one.
func newToxiproxy(name, upstream string) (*toxiproxy.Proxy, error) {
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, name, "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		return nil, err
	}
	return p, nil
}

// run injects faults until ctx ends, then waits for those under way to
// be undone.
func (f *faults) run(ctx context.Context) {
	for {
		wait := time.Duration(float64(f.every) * (0.3 + 1.4*f.rnd.Float64()))
		select {
		case <-ctx.Done():
			f.wg.Wait()
			return
		case <-time.After(wait):
		}
		kinds := []string{faultKillWeb, faultKillWorker, faultRolling, faultRedis, faultRedisFlush, faultPG, faultNet, faultNet}
		kind := kinds[f.rnd.IntN(len(kinds))]
		pick, hold := f.rnd.Uint64(), time.Duration(1+f.rnd.IntN(8))*time.Second
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			f.inject(kind, pick, hold)
		}()
	}
}

// lock claims a target; false if another fault holds it.
func (f *faults) lock(target string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.busy[target] {
		return false
	}
	f.busy[target] = true
	return true
}

func (f *faults) unlock(target string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.busy, target)
	f.last = time.Now()
}

func (f *faults) count(kind string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counts[kind]++
}

func (f *faults) failed(format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	fmt.Fprintln(f.progress, "soak: fault:", msg)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, msg)
}

// window is one fault, from when it began to when it was undone.
type window struct {
	kind, detail string
	from, to     time.Time
}

// inject breaks one thing for about hold, then restores it.
func (f *faults) inject(kind string, pick uint64, hold time.Duration) {
	ctx := context.Background()
	w := window{kind: kind, from: time.Now()}
	defer func() {
		if w.detail == "" {
			return // not injected: its target was busy
		}
		w.to = time.Now()
		f.mu.Lock()
		f.history = append(f.history, w)
		f.mu.Unlock()
	}()
	switch kind {
	case faultKillWeb, faultKillWorker:
		procs := f.web
		if kind == faultKillWorker {
			procs = f.workers
		}
		p := procs[int(pick%uint64(len(procs)))]
		if !f.lock(p.name) {
			return
		}
		defer f.unlock(p.name)
		p.hold(true)
		defer p.hold(false)
		p.signal(syscall.SIGKILL)
		f.count(kind)
		w.detail = "kill -9 " + p.name
		time.Sleep(hold)
		if err := p.start(); err != nil {
			f.failed("restart %s: %v", p.name, err)
		}
	case faultRolling:
		if !f.lock("rolling") {
			return
		}
		defer f.unlock("rolling")
		f.count(kind)
		w.detail = "SIGTERM and start, one process at a time"
		for _, p := range append(append([]*proc{}, f.web...), f.workers...) {
			if !f.lock(p.name) {
				continue
			}
			p.hold(true)
			p.signal(syscall.SIGTERM)
			err := p.start()
			p.hold(false)
			if err != nil {
				f.failed("restart %s: %v", p.name, err)
			}
			if p.cmd == "serve" {
				_ = waitReady(ctx, newClient(nil, 0).hc, p.addr, time.Minute) // a node not ready after a minute shows in the invariants
			}
			f.unlock(p.name)
		}
	case faultRedis, faultRedisFlush:
		if !f.lock("redis") {
			return
		}
		defer f.unlock("redis")
		// With its data: a snapshot, then kill -9 (what came after the
		// snapshot is lost, as after a crash); emptied: no snapshot.
		if kind == faultRedis {
			if err := f.env.SaveRedis(); err != nil {
				// Not a harness failure: the restart then comes back empty,
				// which the soak also injects on purpose.
				fmt.Fprintf(f.progress, "soak: note: Redis's snapshot failed (%v); it restarts empty\n", err)
			}
		}
		if err := f.env.StopRedis(true); err != nil {
			f.failed("stop Redis: %v", err)
		}
		if kind == faultRedisFlush {
			if err := f.env.DropRedisData(); err != nil {
				f.failed("drop Redis's data: %v", err)
			}
		}
		f.count(kind)
		w.detail = map[string]string{faultRedis: "SAVE, kill -9, start with the snapshot", faultRedisFlush: "kill -9, start empty"}[kind]
		time.Sleep(hold)
		if err := f.restore("Redis", func() error { return f.env.StartRedis(ctx) }); err != nil {
			f.failed("start Redis: %v", err)
		}
	case faultPG:
		if !f.lock("postgres") {
			return
		}
		defer f.unlock("postgres")
		mode := "fast"
		if pick%2 == 0 {
			mode = "immediate"
		}
		if err := f.env.StopPostgres(mode); err != nil {
			f.failed("stop PostgreSQL (%s): %v", mode, err)
		}
		f.count(kind)
		w.detail = "stop -m " + mode + ", start"
		time.Sleep(hold)
		if err := f.restore("PostgreSQL", func() error { return f.env.StartPostgres(ctx) }); err != nil {
			f.failed("start PostgreSQL: %v", err)
		}
	case faultNet:
		if f.proxy == nil || !f.lock("net") {
			return
		}
		defer f.unlock("net")
		toxics := []string{
			`{"name":"soak","type":"latency","stream":"downstream","toxicity":1,"attributes":{"latency":1500,"jitter":500}}`,
			`{"name":"soak","type":"reset_peer","stream":"upstream","toxicity":0.5,"attributes":{"timeout":200}}`,
			`{"name":"soak","type":"timeout","stream":"upstream","toxicity":1,"attributes":{"timeout":0}}`,
			`{"name":"soak","type":"bandwidth","stream":"downstream","toxicity":1,"attributes":{"rate":1}}`,
		}
		t := toxics[int(pick%uint64(len(toxics)))]
		if _, err := f.proxy.Toxics.AddToxicJson(strings.NewReader(t)); err != nil {
			f.failed("add toxic %s: %v", t, err)
			return
		}
		f.count(kind)
		w.detail = "toxic " + strings.SplitN(strings.SplitN(t, `"type":"`, 2)[1], `"`, 2)[0]
		time.Sleep(3 * hold)
		if err := f.proxy.Toxics.RemoveToxic(ctx, "soak"); err != nil {
			f.failed("remove toxic: %v", err)
		}
	}
}

// snapshot is the counts so far.
func (f *faults) snapshot() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for k, v := range f.counts {
		out[k] = v
	}
	return out
}

// lastEnded is when the last fault was undone.
func (f *faults) lastEnded() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

// windows is every fault injected, in order.
func (f *faults) windows() []window {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Clone(f.history)
	slices.SortFunc(out, func(a, b window) int { return a.from.Compare(b.from) })
	return out
}
