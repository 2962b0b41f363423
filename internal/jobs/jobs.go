// Package jobs supervises Roost's background work (`roost work`): named
// jobs that run a pass at an interval, or run as long-lived worker loops,
// under one errgroup. A panicking job is recovered, logged with its stack
// and counted as failed; interval jobs go on at their next tick and
// long-running jobs are restarted with capped back-off, so one poison
// item cannot stop the other jobs or the process. Shutdown waits for
// every job to return.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"
)

// Job is one named piece of background work.
type Job struct {
	// Name labels the job's logs and metrics; unique within a Run.
	Name string
	// Every > 0: Run is one pass, called at once and then Every after
	// each pass ends. Every == 0: Run is long-running (a worker loop)
	// that returns only when ctx ends; it is restarted with capped
	// back-off if it fails, panics or returns early.
	Every time.Duration
	// Run does the work; it must return soon after ctx ends.
	Run func(ctx context.Context) error
}

// Default back-off between restarts of a long-running job.
const (
	DefaultMinBackoff = time.Second
	DefaultMaxBackoff = time.Minute
)

// Runner runs jobs under supervision. The zero value works: it logs to
// slog.Default, records no metrics and uses the wall clock.
type Runner struct {
	// Log receives job failures (error and stack) and restarts.
	Log *slog.Logger
	// Registerer receives the runs, failures and duration metrics per
	// job name (roost_job_*); nil records none.
	Registerer prometheus.Registerer
	// After waits for a duration (time.After when nil); tests inject a
	// fake clock so no test depends on wall-clock timing.
	After func(time.Duration) <-chan time.Time
	// Now reads the clock for durations and back-off resets (time.Now
	// when nil).
	Now func() time.Time
	// MinBackoff and MaxBackoff bound the wait before a failed
	// long-running job restarts: doubling from Min, capped at Max, back
	// to Min after a run that lasted at least Max.
	MinBackoff, MaxBackoff time.Duration
	// Jitter is the share of each restart wait drawn at random (Backoff);
	// 0 waits exactly. Processes set DefaultJitter so their loops do not
	// all restart at once when a dependency returns.
	Jitter float64
}

// Run starts every job and returns when ctx ends and every job has
// returned. Jobs are contained: their failures and panics are logged and
// counted, never returned; Run fails only on an invalid job list, before
// starting anything.
func (r *Runner) Run(ctx context.Context, jobs ...Job) error {
	if err := validate(jobs); err != nil {
		return err
	}
	m, err := newMetrics(r.Registerer)
	if err != nil {
		return err
	}
	g, ctx := errgroup.WithContext(ctx)
	for _, j := range jobs {
		g.Go(func() error {
			if j.Every > 0 {
				r.interval(ctx, m, j)
			} else {
				r.longRunning(ctx, m, j)
			}
			return nil
		})
	}
	return g.Wait()
}

func validate(jobs []Job) error {
	seen := make(map[string]bool, len(jobs))
	for _, j := range jobs {
		switch {
		case j.Name == "":
			return errors.New("jobs: a job has no name")
		case seen[j.Name]:
			return fmt.Errorf("jobs: two jobs are named %q", j.Name)
		case j.Run == nil:
			return fmt.Errorf("jobs: job %q has no Run", j.Name)
		case j.Every < 0:
			return fmt.Errorf("jobs: job %q has a negative interval", j.Name)
		}
		seen[j.Name] = true
	}
	return nil
}

// interval calls one pass at once, then Every after each pass ends.
func (r *Runner) interval(ctx context.Context, m *metrics, j Job) {
	for ctx.Err() == nil {
		_ = r.once(ctx, m, j) // logged and counted; the next pass is the retry
		if !r.wait(ctx, j.Every) {
			return
		}
	}
}

// longRunning runs j until ctx ends, restarting it after a failure, a
// panic or an early return with back-off.
func (r *Runner) longRunning(ctx context.Context, m *metrics, j Job) {
	backoff := Backoff{Min: r.minBackoff(), Max: r.maxBackoff(), Jitter: r.Jitter}
	for ctx.Err() == nil {
		start := r.now()
		err := r.once(ctx, m, j)
		if ctx.Err() != nil {
			return
		}
		if r.now().Sub(start) >= r.maxBackoff() {
			backoff.Reset() // it ran well for a while: a fresh failure
		}
		wait := backoff.Next()
		if err == nil {
			r.log().Warn("job returned before shutdown; restarting", "job", j.Name, "in", wait)
		} else {
			r.log().Warn("restarting failed job", "job", j.Name, "in", wait)
		}
		if !r.wait(ctx, wait) {
			return
		}
	}
}

// once runs one call of j with panic recovery, logging and metrics. A
// failure while ctx is ending (a pass cut short by shutdown) is not one.
func (r *Runner) once(ctx context.Context, m *metrics, j Job) error {
	start := r.now()
	err := Guard(func() error { return j.Run(ctx) })
	m.observe(j.Name, r.now().Sub(start))
	var p *PanicError
	switch {
	case errors.As(err, &p):
		m.fail(j.Name)
		r.log().Error("job panicked", "job", j.Name, "err", p.Error(), "stack", string(p.Stack))
	case err != nil && ctx.Err() == nil:
		m.fail(j.Name)
		r.log().Error("job failed", "job", j.Name, "err", err)
	}
	return err
}

// wait returns false when ctx ends before d has passed.
func (r *Runner) wait(ctx context.Context, d time.Duration) bool {
	after := r.After
	if after == nil {
		after = time.After
	}
	select {
	case <-ctx.Done():
		return false
	case <-after(d):
		return true
	}
}

func (r *Runner) log() *slog.Logger {
	if r.Log == nil {
		return slog.Default()
	}
	return r.Log
}

func (r *Runner) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}

func (r *Runner) minBackoff() time.Duration {
	if r.MinBackoff <= 0 {
		return DefaultMinBackoff
	}
	return r.MinBackoff
}

func (r *Runner) maxBackoff() time.Duration {
	if r.MaxBackoff <= 0 {
		return max(DefaultMaxBackoff, r.minBackoff())
	}
	return max(r.MaxBackoff, r.minBackoff())
}

// PanicError is a recovered panic: its value and the goroutine's stack.
type PanicError struct {
	Value any
	Stack []byte
}

// Error says what panicked, without the stack (log Stack separately).
func (p *PanicError) Error() string { return fmt.Sprintf("panic: %v", p.Value) }

// Unwrap exposes a panic value that is an error (e.g. a runtime error).
func (p *PanicError) Unwrap() error {
	err, _ := p.Value.(error)
	return err
}

// Guard calls fn and turns a panic in it into a *PanicError. Jobs that
// process items call it per item, so a poison item is marked failed with
// the panic as its error instead of crashing and being retried forever.
func Guard(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return fn()
}

// Drain makes one pass out of a batch function that returns how many
// items it took: it calls batch until a batch takes none or fails, at
// most maxBatches times (the rest waits for the next pass), so a backlog
// clears without waiting an interval per batch.
func Drain(maxBatches int, batch func(ctx context.Context) (int, error)) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		for range maxBatches {
			n, err := batch(ctx)
			if err != nil || n == 0 || ctx.Err() != nil {
				return err
			}
		}
		return nil
	}
}
