package jobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// fakeClock hands every wait to the test, which decides when it ends:
// no test here depends on how fast the machine is.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits chan wait
}

type wait struct {
	d    time.Duration
	fire chan time.Time
}

func newClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), waits: make(chan wait, 100)}
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	w := wait{d: d, fire: make(chan time.Time, 1)}
	c.waits <- w
	return w.fire
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// next returns the next wait a job asked for.
func (c *fakeClock) next(t *testing.T) wait {
	t.Helper()
	return recv(t, c.waits)
}

// recv guards against a hang (a failing test), it asserts no timing.
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatal("nothing arrived: a job or the runner is stuck")
		panic("unreachable")
	}
}

// syncBuffer is a log sink jobs may write from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type harness struct {
	clock *fakeClock
	logs  *syncBuffer
	reg   *prometheus.Registry
	r     *Runner
}

func newHarness() *harness {
	h := &harness{clock: newClock(), logs: &syncBuffer{}, reg: prometheus.NewRegistry()}
	h.r = &Runner{
		Log:        slog.New(slog.NewTextHandler(h.logs, nil)),
		Registerer: h.reg,
		After:      h.clock.After,
		Now:        h.clock.Now,
		MinBackoff: time.Second,
		MaxBackoff: 4 * time.Second,
	}
	return h
}

// start runs jobs in the background; the returned channel yields Run's
// result once it returns.
func (h *harness) start(ctx context.Context, jobs ...Job) <-chan error {
	done := make(chan error, 1)
	go func() { done <- h.r.Run(ctx, jobs...) }()
	return done
}

func (h *harness) count(t *testing.T, metric, job string) float64 {
	t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != metric {
			continue
		}
		for _, m := range mf.GetMetric() {
			if m.GetLabel()[0].GetValue() == job {
				if m.GetCounter() != nil {
					return m.GetCounter().GetValue()
				}
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return 0
}

func TestIssue15Finding7PanicIsRecoveredAndReported(t *testing.T) {
	h := newHarness()
	ctx, cancel := context.WithCancel(context.Background())
	passes := make(chan int, 10)
	n := 0
	done := h.start(ctx, Job{Name: "poison", Every: time.Minute, Run: func(context.Context) error {
		n++
		passes <- n
		if n == 1 {
			panic("poison item")
		}
		return nil
	}})
	recv(t, passes)
	w := h.clock.next(t) // the panicking pass is over: the job waits for its next tick
	if w.d != time.Minute {
		t.Fatalf("after a panic the job waits %v, want its interval", w.d)
	}
	logs := h.logs.String()
	for _, want := range []string{"job panicked", "job=poison", "poison item", "TestIssue15Finding7PanicIsRecoveredAndReported"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q (error and stack):\n%s", want, logs)
		}
	}
	if f := h.count(t, "roost_job_failures_total", "poison"); f != 1 {
		t.Errorf("failures = %v, want 1", f)
	}
	w.fire <- time.Time{}
	if got := recv(t, passes); got != 2 {
		t.Fatalf("pass %d after the panic, want 2", got)
	}
	h.clock.next(t)
	cancel()
	if err := recv(t, done); err != nil {
		t.Fatal(err)
	}
	if r := h.count(t, "roost_job_runs_total", "poison"); r != 2 {
		t.Errorf("runs = %v, want 2", r)
	}
	if f := h.count(t, "roost_job_failures_total", "poison"); f != 1 {
		t.Errorf("failures = %v after a good pass, want still 1", f)
	}
}

func TestIssue15Finding7PanickingJobDoesNotStopOthers(t *testing.T) {
	h := newHarness()
	ctx, cancel := context.WithCancel(context.Background())
	healthy := make(chan struct{}, 10)
	worker := make(chan struct{})
	done := h.start(ctx,
		Job{Name: "panics", Every: time.Hour, Run: func(context.Context) error { panic("boom") }},
		Job{Name: "worker", Run: func(ctx context.Context) error {
			close(worker)
			<-ctx.Done()
			return nil
		}},
		Job{Name: "healthy", Every: 2 * time.Hour, Run: func(context.Context) error {
			healthy <- struct{}{}
			return nil
		}},
	)
	recv(t, healthy)
	recv(t, worker)
	// Both interval jobs wait for their next tick (told apart by their
	// intervals); fire both once.
	h.bothWait(t).fire()
	recv(t, healthy) // still running after the other job panicked twice
	h.bothWait(t)
	if f := h.count(t, "roost_job_failures_total", "panics"); f != 2 {
		t.Errorf("failures of the panicking job = %v, want 2", f)
	}
	if f := h.count(t, "roost_job_failures_total", "healthy"); f != 0 {
		t.Errorf("failures of the healthy job = %v, want 0", f)
	}
	cancel()
	if err := recv(t, done); err != nil {
		t.Fatal(err)
	}
}

type waits map[time.Duration]wait

func (w waits) fire() {
	for _, x := range w {
		x.fire <- time.Time{}
	}
}

// bothWait returns once the hourly and the two-hourly job each wait.
func (h *harness) bothWait(t *testing.T) waits {
	t.Helper()
	got := waits{}
	for len(got) < 2 {
		w := h.clock.next(t)
		if _, dup := got[w.d]; dup {
			t.Fatalf("a job waited twice for %v without being fired", w.d)
		}
		got[w.d] = w
	}
	return got
}

func TestIssue15Finding7ShutdownWaitsForEveryJob(t *testing.T) {
	h := newHarness()
	ctx, cancel := context.WithCancel(context.Background())
	stopping := make(chan struct{})
	release := make(chan struct{})
	started := make(chan struct{})
	done := h.start(ctx,
		Job{Name: "slow-to-stop", Run: func(ctx context.Context) error {
			close(started)
			<-ctx.Done()
			close(stopping)
			<-release // e.g. finishing the item in hand
			return ctx.Err()
		}},
		Job{Name: "ticker", Every: time.Minute, Run: func(context.Context) error { return nil }},
	)
	recv(t, started)
	cancel()
	recv(t, stopping)
	select {
	case <-done:
		t.Fatal("Run returned while a job was still stopping")
	default:
	}
	close(release)
	if err := recv(t, done); err != nil {
		t.Fatal(err)
	}
	if f := h.count(t, "roost_job_failures_total", "slow-to-stop"); f != 0 {
		t.Errorf("a job ending with shutdown counted as failed (%v)", f)
	}
}

func TestIssue15Finding7IntervalPasses(t *testing.T) {
	h := newHarness()
	ctx, cancel := context.WithCancel(context.Background())
	passes := make(chan struct{}, 10)
	fail := errors.New("store down")
	n := 0
	done := h.start(ctx, Job{Name: "every", Every: 30 * time.Second, Run: func(context.Context) error {
		n++
		passes <- struct{}{}
		if n == 2 {
			return fail
		}
		return nil
	}})
	recv(t, passes) // the first pass runs at once, before any wait
	for range 3 {
		w := h.clock.next(t)
		if w.d != 30*time.Second {
			t.Fatalf("waits %v between passes, want 30s", w.d)
		}
		select {
		case <-passes:
			t.Fatal("a pass ran before its tick")
		default:
		}
		w.fire <- time.Time{}
		recv(t, passes)
	}
	h.clock.next(t)
	cancel()
	if err := recv(t, done); err != nil {
		t.Fatal(err)
	}
	if r := h.count(t, "roost_job_runs_total", "every"); r != 4 {
		t.Errorf("runs = %v, want 4", r)
	}
	if f := h.count(t, "roost_job_failures_total", "every"); f != 1 {
		t.Errorf("failures = %v, want 1", f)
	}
	if d := h.count(t, "roost_job_duration_seconds", "every"); d != 4 {
		t.Errorf("duration observations = %v, want 4", d)
	}
	if !strings.Contains(h.logs.String(), "store down") {
		t.Errorf("the failed pass's error is not logged:\n%s", h.logs.String())
	}
}

func TestIssue15Finding7LongRunningRestartsWithCappedBackoff(t *testing.T) {
	h := newHarness()
	ctx, cancel := context.WithCancel(context.Background())
	starts := make(chan int, 20)
	n := 0
	done := h.start(ctx, Job{Name: "worker", Run: func(context.Context) error {
		n++
		starts <- n
		switch n {
		case 3:
			panic("worker panicked")
		case 5:
			h.clock.advance(10 * time.Second) // ran well for longer than the cap
		case 6:
			return nil // returned before shutdown: restarted too
		}
		return errors.New("lost the queue")
	}})
	want := []time.Duration{1, 2, 4, 4, 1, 2}
	for i, d := range want {
		recv(t, starts)
		w := h.clock.next(t)
		if w.d != d*time.Second {
			t.Fatalf("restart %d waits %v, want %v", i+1, w.d, d*time.Second)
		}
		w.fire <- time.Time{}
	}
	recv(t, starts)
	h.clock.next(t)
	cancel()
	if err := recv(t, done); err != nil {
		t.Fatal(err)
	}
	if f := h.count(t, "roost_job_failures_total", "worker"); f != 6 {
		t.Errorf("failures = %v, want 6 (5 errors and a panic; the early return is not one)", f)
	}
	if !strings.Contains(h.logs.String(), "worker panicked") {
		t.Error("the panic is not logged")
	}
}

func TestIssue15Finding7InvalidJobsStartNothing(t *testing.T) {
	ran := false
	ok := func(context.Context) error { ran = true; return nil }
	for name, jobs := range map[string][]Job{
		"no name":   {{Every: time.Second, Run: ok}},
		"duplicate": {{Name: "a", Every: time.Second, Run: ok}, {Name: "a", Every: time.Second, Run: ok}},
		"no run":    {{Name: "a", Every: time.Second}},
		"negative":  {{Name: "a", Every: -time.Second, Run: ok}},
	} {
		if err := (&Runner{}).Run(context.Background(), jobs...); err == nil {
			t.Errorf("%s: Run accepted it", name)
		}
	}
	if ran {
		t.Error("a job ran although the list was invalid")
	}
}

func TestIssue15Finding7MetricsShareARegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 2 { // `roost dev` may start runners on one registry
		r := &Runner{Registerer: reg}
		if err := r.Run(ctx, Job{Name: "a", Every: time.Second, Run: func(context.Context) error { return nil }}); err != nil {
			t.Fatal(err)
		}
	}
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 0 {
		t.Fatalf("gathered %d families, %v; a cancelled context runs nothing", len(mfs), err)
	}
}

func TestIssue15Finding7GuardTurnsPanicsIntoErrors(t *testing.T) {
	err := Guard(func() error {
		var items []int
		return errors.New(fmt.Sprint(items[len(items)])) // index out of range: a runtime error
	})
	var p *PanicError
	if !errors.As(err, &p) || len(p.Stack) == 0 {
		t.Fatalf("Guard = %v, want a *PanicError with a stack", err)
	}
	var re interface{ RuntimeError() }
	if !errors.As(err, &re) {
		t.Errorf("the runtime error is not unwrapped from %v", err)
	}
	sentinel := errors.New("plain")
	if err := Guard(func() error { return sentinel }); err != sentinel {
		t.Errorf("Guard changed a plain error: %v", err)
	}
}

func TestIssue15Finding7DrainStopsWhenEmptyFailedOrBounded(t *testing.T) {
	ctx := context.Background()
	pending, calls := 25, 0
	take := func(context.Context) (int, error) {
		calls++
		n := min(pending, 10)
		pending -= n
		return n, nil
	}
	if err := Drain(100, take)(ctx); err != nil || pending != 0 || calls != 4 {
		t.Fatalf("err %v, pending %d after %d batches; want drained, stopping at the empty batch", err, pending, calls)
	}
	pending, calls = 1000, 0
	if err := Drain(3, take)(ctx); err != nil || calls != 3 {
		t.Fatalf("err %v after %d batches, want at most 3", err, calls)
	}
	fail := errors.New("db down")
	calls = 0
	failing := func(context.Context) (int, error) { calls++; return 5, fail }
	if err := Drain(100, failing)(ctx); err != fail || calls != 1 {
		t.Fatalf("err %v after %d batches, want the first failure returned", err, calls)
	}
}

// Issue 19: a worker loop backs off from its dependency's outage doubling,
// capped, with jitter inside [d·(1−Jitter), d], and starts again from Min
// after a success (Rand injected: no clock, no chance).
func TestIssue19BackoffCappedAndJittered(t *testing.T) {
	draws := []float64{0, 0.5, 0.999, 1 - 1e-9, 0.25}
	b := Backoff{Min: 100 * time.Millisecond, Max: time.Second, Jitter: 0.5, Rand: func() float64 {
		v := draws[0]
		draws = append(draws[1:], v)
		return v
	}}
	steps := []time.Duration{100, 200, 400, 800, 1000, 1000, 1000}
	for i, step := range steps {
		d := step * time.Millisecond
		got := b.Next()
		if got > d || got < d/2 {
			t.Fatalf("wait %d = %v, want within [%v, %v]", i, got, d/2, d)
		}
	}
	b.Reset()
	b.Jitter = 0
	if got := b.Next(); got != 100*time.Millisecond {
		t.Fatalf("after Reset: %v, want Min", got)
	}
	if got := (&Backoff{}).Next(); got != 0 {
		t.Fatalf("zero Backoff waits %v", got)
	}
}

// The runner's restart back-off takes the same jitter when a process asks
// for it: every wait within its step, never above the cap.
func TestIssue19RunnerRestartJitter(t *testing.T) {
	h := newHarness()
	h.r.Jitter = DefaultJitter
	ctx, cancel := context.WithCancel(context.Background())
	done := h.start(ctx, Job{Name: "worker", Run: func(context.Context) error { return errors.New("database down") }})
	for _, step := range []time.Duration{1, 2, 4, 4, 4} {
		w := h.clock.next(t)
		if d := step * time.Second; w.d > d || w.d < d/2 {
			t.Fatalf("restart waits %v, want within [%v, %v]", w.d, d/2, d)
		}
		w.fire <- time.Time{}
	}
	h.clock.next(t)
	cancel()
	if err := recv(t, done); err != nil {
		t.Fatal(err)
	}
}
