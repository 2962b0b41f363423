package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// PostOptions are the flags of `roost bench post`.
type PostOptions struct {
	Followers   int    // local followers of the poster
	Posts       int    // timed posts
	Concurrency int    // posts in flight
	CPUProfile  string // a CPU profile of the timed posts, when set
}

// Post is what the post benchmark posts through: the client API.
type Post struct {
	Env
	API
}

// PostResult is the benchmark's JSON line.
type PostResult struct {
	Bench       string  `json:"bench"`
	PerSecond   float64 `json:"per_second"`
	P99         float64 `json:"p99_ms"`
	P50         float64 `json:"p50_ms"`
	Posts       int     `json:"posts"`
	Followers   int     `json:"followers"`
	Concurrency int     `json:"concurrency"`
}

// warmupPosts are posted before the timed ones (connections, caches).
const warmupPosts = 20

// Run measures statuses created per second through POST
// /api/v1/statuses (the real client API on a loopback listener, a real
// OAuth token) by an account with o.Followers local followers: each post
// is stored and fanned out to every follower's home feed in its
// transaction before the response.
func (b Post) Run(ctx context.Context, o PostOptions) (*PostResult, error) {
	tn, err := b.Tenants.CreateTenant(ctx, "Bench", "bench.test", "")
	if err != nil {
		return nil, err
	}
	poster, err := b.CreateAccount(ctx, "bench.test", "poster", "poster@bench.test", "bench password", "Poster")
	if err != nil {
		return nil, err
	}
	if err := seedLocalFollowers(ctx, b.Env, tn.ID, poster.ID, o.Followers); err != nil {
		return nil, err
	}
	srv, err := startClient(b.Server)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	tok, err := token(ctx, b.OAuth, tn.ID, poster.ID, "read write")
	if err != nil {
		return nil, err
	}
	var seq atomic.Int64
	post := func() error { return postOne(srv, tok, seq.Add(1)) }
	for range warmupPosts {
		if err := post(); err != nil {
			return nil, err
		}
	}
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
	}
	lat, wall, err := timePosts(post, o.Posts, o.Concurrency)
	if o.CPUProfile != "" {
		pprof.StopCPUProfile()
	}
	if err != nil {
		return nil, err
	}
	if err := checkHomeFeeds(ctx, b.Env, tn.ID, o.Posts+warmupPosts); err != nil {
		return nil, err
	}
	return &PostResult{Bench: "post", PerSecond: round3(float64(o.Posts) / wall.Seconds()), P99: pct(lat, 99),
		P50: pct(lat, 50), Posts: o.Posts, Followers: o.Followers, Concurrency: o.Concurrency}, nil
}

// seedLocalFollowers creates n local accounts following the poster.
// They never sign anything, so they share a dummy key; their follows go
// through the triggers as any follow does.
func seedLocalFollowers(ctx context.Context, e Env, tenantID, posterID int64, n int) error {
	if _, err := e.DB.Exec(ctx, `
		insert into accounts (tenant_id, domain, username, public_key_pem, private_key_pem)
		select $1, 'bench.test', 'f' || i, '', 'unused' from generate_series(1, $2::int) i`, tenantID, n); err != nil {
		return fmt.Errorf("seed local followers: %w", err)
	}
	if _, err := e.DB.Exec(ctx, `
		insert into follows (follower_id, followee_id, state, uri)
		select id, $1, 'accepted', 'http://bench.test/follows/' || id from accounts
		where tenant_id = $2 and username like 'f%'`, posterID, tenantID); err != nil {
		return fmt.Errorf("seed follows: %w", err)
	}
	return nil
}

// postOne posts status number n as the token's account.
func postOne(srv *client, token string, n int64) error {
	body := url.Values{"status": {fmt.Sprintf("Benchmark post %d, with a little text as a real post would have.", n)}}
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

// timePosts makes n posts with conc workers and returns each one's
// latency and the wall time.
func timePosts(post func() error, n, conc int) ([]time.Duration, time.Duration, error) {
	lat := make([]time.Duration, n)
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	start := time.Now()
	for range conc {
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
	if err, ok := firstErr.Load().(error); ok {
		return nil, 0, err
	}
	return lat, wall, nil
}

// checkHomeFeeds fails unless every follower's home feed holds every
// post.
func checkHomeFeeds(ctx context.Context, e Env, tenantID int64, posts int) error {
	var short int
	if err := e.DB.QueryRow(ctx, `select count(*) from accounts a where a.tenant_id = $1 and a.username like 'f%'
		and (select count(*) from home_feeds h where h.account_id = a.id) <> $2`, tenantID, posts).Scan(&short); err != nil {
		return err
	}
	if short > 0 {
		return fmt.Errorf("%d followers' home feeds miss posts", short)
	}
	return nil
}
