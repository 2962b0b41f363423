package bench

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// commitFloorTable is what the latency run's floor writes: one small row
// per INSERT, each its own transaction, on the benchmark's database.
const commitFloorTable = `create table if not exists bench_commit_floor (
	id bigserial primary key, at timestamptz not null default now())`

// latency is the audience's latency run: LatencyPosts posts sent at
// Rate per second on a fixed schedule (a late answer never delays the
// next post), and between every two posts one bare INSERT+commit on the
// same database, the floor any acknowledged write costs here now. The
// fan-out worker runs meanwhile, filing these posts and the earlier ones
// for every follower, as it would behind a busy account. Nil when the
// run is off.
func (r *postRun) latency(ctx context.Context, post func() error) (*PostLatency, error) {
	if r.o.Rate <= 0 || r.o.LatencyPosts <= 0 {
		return nil, nil
	}
	fmt.Fprintf(r.progress(), "bench post: latency run, %d posts at %g/s\n", r.o.LatencyPosts, r.o.Rate)
	period := time.Duration(float64(time.Second) / r.o.Rate)
	lat := make([]time.Duration, r.o.LatencyPosts)
	floor := make([]time.Duration, r.o.LatencyPosts)
	errc := make(chan error, 2*r.o.LatencyPosts)
	var wg sync.WaitGroup
	var mu sync.Mutex
	queued := 0
	start := time.Now()
	for i := range r.o.LatencyPosts {
		at := start.Add(time.Duration(i) * period)
		time.Sleep(time.Until(at))
		wg.Add(2)
		go func() {
			defer wg.Done()
			t := time.Now()
			if err := post(); err != nil {
				errc <- err
				return
			}
			lat[i] = time.Since(t)
		}()
		go func() {
			defer wg.Done()
			time.Sleep(time.Until(at.Add(period / 2)))
			t := time.Now()
			if _, err := r.DB.Exec(ctx, `insert into bench_commit_floor default values`); err != nil {
				errc <- fmt.Errorf("commit floor: %w", err)
				return
			}
			floor[i] = time.Since(t)
			var n int
			if err := r.DB.QueryRow(ctx, `select count(*) from home_fanouts`).Scan(&n); err == nil {
				mu.Lock()
				queued = max(queued, n)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return nil, err
	}
	l := &PostLatency{Rate: r.o.Rate, Posts: r.o.LatencyPosts, P50: pct(lat, 50), P99: pct(lat, 99), Max: pct(lat, 100),
		CommitFloorP50: pct(floor, 50), CommitFloorP99: pct(floor, 99), FanOutsQueued: queued}
	if l.CommitFloorP99 > 0 {
		l.P99OverFloor = round3(l.P99 / l.CommitFloorP99)
	}
	return l, nil
}
