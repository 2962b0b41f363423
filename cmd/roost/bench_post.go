package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/roost-social/roost/internal/config"
)

// benchPost measures statuses created per second through POST
// /api/v1/statuses (the real client API on a loopback listener, a real
// OAuth token) by an account with -followers local followers: each post
// is stored and fanned out to every follower's home feed in its
// transaction before the response.
func benchPost(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("bench post", flag.ContinueOnError)
	followers := fs.Int("followers", 1000, "local followers of the poster")
	posts := fs.Int("posts", 1000, "timed posts")
	conc := fs.Int("concurrency", 4, "posts in flight")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the timed posts here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log = slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, stop, err := benchServices(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer stop()
	tn, err := svc.tenantSv.CreateTenant(ctx, "Bench", "bench.test", "")
	if err != nil {
		return err
	}
	poster, err := createAccount(ctx, svc, "bench.test", "poster", "poster@bench.test", "bench password", "Poster")
	if err != nil {
		return err
	}
	// Followers are local accounts (never signing anything, so a dummy
	// key); their follows go through the triggers as any follow does.
	if _, err := svc.db.Exec(ctx, `
		insert into accounts (tenant_id, domain, username, public_key_pem, private_key_pem)
		select $1, 'bench.test', 'f' || i, '', 'unused' from generate_series(1, $2::int) i`, tn.ID, *followers); err != nil {
		return err
	}
	if _, err := svc.db.Exec(ctx, `
		insert into follows (follower_id, followee_id, state, uri)
		select id, $1, 'accepted', 'http://bench.test/follows/' || id from accounts
		where tenant_id = $2 and username like 'f%'`, poster.ID, tn.ID); err != nil {
		return err
	}
	srv, err := startBenchAPI(ctx, cfg, log, svc)
	if err != nil {
		return err
	}
	defer srv.stop()
	token, err := benchToken(ctx, srv.oauth, tn.ID, poster.ID, "read write")
	if err != nil {
		return err
	}
	var seq atomic.Int64
	post := func() error {
		body := url.Values{"status": {fmt.Sprintf("Benchmark post %d, with a little text as a real post would have.", seq.Add(1))}}
		req, err := http.NewRequest("POST", "http://"+srv.addr+"/api/v1/statuses", strings.NewReader(body.Encode()))
		if err != nil {
			return err
		}
		req.Host = "bench.test"
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, b, err := srv.do(req)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("POST /api/v1/statuses: %s: %s", resp.Status, b)
		}
		return nil
	}
	const warmup = 20
	for range warmup {
		if err := post(); err != nil {
			return err
		}
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
	}
	lat := make([]time.Duration, *posts)
	next := make(chan int, *posts)
	for i := range *posts {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	start := time.Now()
	for range *conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t := time.Now()
				if err := post(); err != nil {
					firstErr.Store(err)
					return
				}
				lat[i] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	if *cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	if err, ok := firstErr.Load().(error); ok {
		return err
	}
	// Every follower's home feed holds every post.
	var short int
	if err := svc.db.QueryRow(ctx, `select count(*) from accounts a where a.tenant_id = $1 and a.username like 'f%'
		and (select count(*) from home_feeds h where h.account_id = a.id) <> $2`, tn.ID, *posts+warmup).Scan(&short); err != nil {
		return err
	}
	if short > 0 {
		return fmt.Errorf("%d followers' home feeds miss posts", short)
	}
	return printResult(postResult{Bench: "post", PerSecond: round3(float64(*posts) / wall.Seconds()), P99: pct(lat, 99),
		P50: pct(lat, 50), Posts: *posts, Followers: *followers, Concurrency: *conc})
}

type postResult struct {
	Bench       string  `json:"bench"`
	PerSecond   float64 `json:"per_second"`
	P99         float64 `json:"p99_ms"`
	P50         float64 `json:"p50_ms"`
	Posts       int     `json:"posts"`
	Followers   int     `json:"followers"`
	Concurrency int     `json:"concurrency"`
}
