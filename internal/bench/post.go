package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostOptions are the flags of `roost bench post`.
type PostOptions struct {
	Followers   []int  // audiences measured in turn: the poster's local followers
	Posts       int    // timed posts per audience
	Concurrency int    // posts in flight
	Probes      int    // posts, one at a time on an idle queue, timed to their last follower's home feed
	CPUProfile  string // a CPU profile of the timed posts, when set
	// Rate and LatencyPosts are the latency run: LatencyPosts posts sent
	// at Rate per second on a schedule (open loop: a slow answer does not
	// delay the next post), as one busy account posts, while the fan-out
	// of the earlier ones runs. 0 skips it.
	Rate         float64
	LatencyPosts int
	// Durable says the private PostgreSQL runs as an operator's does
	// (fsync and synchronous_commit on); reported in the JSON line.
	Durable bool
	// WithoutTriggers are triggers ("table.trigger") disabled on the
	// private database before the run, to measure what they cost.
	WithoutTriggers []string
	// PullAbove is the fan-out job's bound (ROOST_HOME_PULL_FOLLOWERS;
	// ≤ 0: none), reported in the JSON line: past it the poster is read
	// by its followers' home timelines instead of filed in them.
	PullAbove int
}

// Post is what the post benchmark posts through: the client API, and the
// home-feed fan-out job that files posts for large audiences after commit.
type Post struct {
	Env
	API
	// FanOut runs `roost work`'s home-fanout jobs until ctx ends.
	FanOut func(ctx context.Context) error
}

// PostResult is the benchmark's JSON line. Two runs per audience,
// named apart because they answer different questions:
//   - latency: one account posting at a steady rate (Rate per second,
//     open loop) while the fan-out of its earlier posts runs: what a
//     person posting waits. Its floor is a bare INSERT and commit on the
//     same database, sent on the same schedule in the same run
//     (CommitFloorP99), and the ratio survives the machine's load;
//   - saturation: Concurrency posts at once, as fast as they are
//     answered, while the fan-out worker files each post for every
//     follower: the machine's throughput, not one post's latency.
//
// The top-level figures are the largest audience's; the ratios over
// audiences (largest over smallest, 1: independent of the audience).
type PostResult struct {
	Bench     string `json:"bench"`
	Followers int    `json:"followers"`
	Durable   bool   `json:"durable"`
	PullAbove int    `json:"home_pull_followers"`
	// The latency run, largest audience.
	LatencyRate         float64 `json:"latency_rate_per_second"`
	LatencyP50          float64 `json:"latency_p50_ms"`
	LatencyP99          float64 `json:"latency_p99_ms"`
	CommitFloorP50      float64 `json:"commit_floor_p50_ms"`
	CommitFloorP99      float64 `json:"commit_floor_p99_ms"`
	LatencyP99OverFloor float64 `json:"latency_p99_over_floor"`
	LatencyP99Ratio     float64 `json:"latency_p99_ratio"`
	// The saturation run, largest audience.
	PerSecond   float64 `json:"saturation_per_second"`
	P50         float64 `json:"saturation_p50_ms"`
	P99         float64 `json:"saturation_p99_ms"`
	Posts       int     `json:"saturation_posts"`
	Concurrency int     `json:"saturation_concurrency"`
	P99Ratio    float64 `json:"saturation_p99_ratio"`
	// FloorP99 and P99OverFloor are the saturation run's (PostAudience).
	FloorP99        float64        `json:"saturation_floor_p99_ms"`
	P99OverFloor    float64        `json:"saturation_p99_over_floor"`
	LastHomeFeedMax float64        `json:"last_home_feed_max_ms"`
	Audiences       []PostAudience `json:"audiences"`
	WithoutTriggers []string       `json:"without_triggers,omitempty"`
}

// PostLatency is one audience's latency run: posts at a steady rate, the
// bare INSERT+commit floor sent on the same schedule between them, and
// the fan-out backlog the posts met (0: the worker kept up).
type PostLatency struct {
	Rate           float64 `json:"rate_per_second"`
	Posts          int     `json:"posts"`
	P50            float64 `json:"p50_ms"`
	P99            float64 `json:"p99_ms"`
	Max            float64 `json:"max_ms"`
	CommitFloorP50 float64 `json:"commit_floor_p50_ms"`
	CommitFloorP99 float64 `json:"commit_floor_p99_ms"`
	P99OverFloor   float64 `json:"p99_over_floor"`
	FanOutsQueued  int     `json:"fanouts_queued_max"`
}

// PostAudience is one audience's figures: the latency run, the
// saturation run (post latency through the API, the response comes after
// commit), and the time from a post's request to its last follower's
// home-feed row, measured on an idle queue.
type PostAudience struct {
	Followers int          `json:"followers"`
	Latency   *PostLatency `json:"latency,omitempty"`
	// Read says the poster was read by its followers' home timelines
	// (past PullAbove, migration 060) at the end of the audience: its
	// posts filed no home-feed rows for followers.
	Read bool `json:"read_by_followers"`
	// The saturation run: Concurrency posts in flight.
	PerSecond       float64 `json:"saturation_per_second"`
	P50             float64 `json:"saturation_p50_ms"`
	P99             float64 `json:"saturation_p99_ms"`
	LastHomeFeedP50 float64 `json:"last_home_feed_p50_ms"`
	LastHomeFeedMax float64 `json:"last_home_feed_max_ms"`
	// DrainSeconds is how long the fan-outs of the saturation run took to
	// finish after the last post's response (a burst of Posts posts to
	// Followers each).
	DrainSeconds float64 `json:"drain_seconds"`
	Load1        float64 `json:"load1"` // the machine's 1-minute load average after the audience
	// FloorP50 and FloorP99 are the latency of the lightest signed-in
	// request (GET /api/v1/preferences: HTTP, the token, one read), as
	// many and as concurrent as the saturation run's posts, right after
	// them: what any request costs on this machine now. P99OverFloor is
	// P99 over FloorP99, a figure that survives the machine's load.
	FloorP50     float64 `json:"saturation_floor_p50_ms"`
	FloorP99     float64 `json:"saturation_floor_p99_ms"`
	P99OverFloor float64 `json:"saturation_p99_over_floor"`
}

// warmupPosts are posted before the timed ones (connections, caches).
const warmupPosts = 20

// Run measures, for each audience in turn (the same poster, followers
// added between audiences), statuses created per second through POST
// /api/v1/statuses (the real client API on a loopback listener, a real
// OAuth token) and how long their followers wait for them. A post commits
// with its author's and first followers' home-feed rows; the fan-out job,
// running beside as in `roost work`, files it for the rest after commit.
func (b Post) Run(ctx context.Context, o PostOptions) (*PostResult, error) {
	if len(o.Followers) == 0 || b.FanOut == nil {
		return nil, fmt.Errorf("bench post: no audience or no fan-out job")
	}
	for _, t := range o.WithoutTriggers {
		table, name, ok := strings.Cut(t, ".")
		if !ok {
			return nil, fmt.Errorf("bench post: trigger %q is not table.trigger", t)
		}
		if _, err := b.DB.Exec(ctx, `alter table `+pgx.Identifier{table}.Sanitize()+` disable trigger `+
			pgx.Identifier{name}.Sanitize()); err != nil {
			return nil, fmt.Errorf("disable trigger %s: %w", t, err)
		}
	}
	tn, err := b.Tenants.CreateTenant(ctx, "Bench", "bench.test", "")
	if err != nil {
		return nil, err
	}
	poster, err := b.CreateAccount(ctx, "bench.test", "poster", "poster@bench.test", "bench password", "Poster")
	if err != nil {
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
	fctx, stopFanOut := context.WithCancel(ctx)
	fanOutDone := make(chan error, 1)
	go func() { fanOutDone <- b.FanOut(fctx) }()
	defer func() {
		stopFanOut()
		<-fanOutDone
	}()
	if _, err := b.DB.Exec(ctx, commitFloorTable); err != nil {
		return nil, fmt.Errorf("commit floor table: %w", err)
	}
	res := &PostResult{Bench: "post", Posts: o.Posts, Concurrency: o.Concurrency, WithoutTriggers: o.WithoutTriggers,
		Durable: o.Durable, LatencyRate: o.Rate, PullAbove: o.PullAbove}
	run := postRun{Post: b, o: o, tenantID: tn.ID, posterID: poster.ID, srv: srv, token: tok}
	for _, n := range o.Followers {
		a, err := run.audience(ctx, n)
		if err != nil {
			return nil, err
		}
		res.Audiences = append(res.Audiences, *a)
		if line, err := json.Marshal(a); err == nil { // a struct of numbers: cannot fail
			fmt.Fprintf(b.progress(), "bench post: %s\n", line)
		}
	}
	first, last := res.Audiences[0], res.Audiences[len(res.Audiences)-1]
	res.Followers, res.PerSecond, res.P50, res.P99 = last.Followers, last.PerSecond, last.P50, last.P99
	res.FloorP99, res.P99OverFloor, res.LastHomeFeedMax = last.FloorP99, last.P99OverFloor, last.LastHomeFeedMax
	if first.P99 > 0 {
		res.P99Ratio = round3(last.P99 / first.P99)
	}
	if l, f := last.Latency, first.Latency; l != nil && f != nil {
		res.LatencyP50, res.LatencyP99, res.LatencyP99OverFloor = l.P50, l.P99, l.P99OverFloor
		res.CommitFloorP50, res.CommitFloorP99 = l.CommitFloorP50, l.CommitFloorP99
		if f.P99 > 0 {
			res.LatencyP99Ratio = round3(l.P99 / f.P99)
		}
	}
	return res, nil
}

// postRun is one run's poster and client.
type postRun struct {
	Post
	o                  PostOptions
	tenantID, posterID int64
	srv                *client
	token              string
	seeded             int
	seq                atomic.Int64
	profiled           bool
}

// audience grows the poster's followers to n and measures: warm-up posts,
// the timed posts (their fan-outs running meanwhile), the drain of their
// fan-outs, then Probes single posts on an idle queue.
func (r *postRun) audience(ctx context.Context, n int) (*PostAudience, error) {
	if n > r.seeded {
		if err := seedLocalFollowers(ctx, r.Env, r.tenantID, r.posterID, r.seeded, n-r.seeded); err != nil {
			return nil, err
		}
		r.seeded = n
		r.srv.closeIdle() // the server dropped them while seeding (its idle timeout)
	}
	fmt.Fprintf(r.progress(), "bench post: %d followers\n", n)
	var mu sync.Mutex
	var ids []int64
	post := func() error {
		id, err := postOne(r.srv, r.token, r.seq.Add(1))
		mu.Lock()
		ids = append(ids, id)
		mu.Unlock()
		return err
	}
	for range warmupPosts {
		if err := post(); err != nil {
			return nil, err
		}
	}
	if err := r.drain(ctx); err != nil {
		return nil, err
	}
	r.srv.closeIdle()
	steady, err := r.latency(ctx, post)
	if err != nil {
		return nil, err
	}
	if err := r.drain(ctx); err != nil {
		return nil, err
	}
	r.srv.closeIdle()
	stopProfile, err := r.profile()
	if err != nil {
		return nil, err
	}
	lat, wall, err := timePosts(post, r.o.Posts, r.o.Concurrency)
	stopProfile()
	if err != nil {
		return nil, err
	}
	drainStart := time.Now()
	if err := r.drain(ctx); err != nil {
		return nil, err
	}
	drained := time.Since(drainStart)
	r.srv.closeIdle()
	floor, _, err := timePosts(r.lightRequest, r.o.Posts, r.o.Concurrency) // the same load, the lightest request
	if err != nil {
		return nil, err
	}
	r.srv.closeIdle() // idle through the drain: the server may have closed them
	last, err := r.lastHomeFeeds(ctx)
	if err != nil {
		return nil, err
	}
	read, err := r.checkHomes(ctx, ids, n)
	if err != nil {
		return nil, err
	}
	a := &PostAudience{Followers: n, Latency: steady, Read: read, PerSecond: round3(float64(r.o.Posts) / wall.Seconds()),
		P50: pct(lat, 50), P99: pct(lat, 99), LastHomeFeedP50: pct(last, 50), LastHomeFeedMax: pct(last, 100),
		DrainSeconds: round3(drained.Seconds()), Load1: load1(), FloorP50: pct(floor, 50), FloorP99: pct(floor, 99)}
	if a.FloorP99 > 0 {
		a.P99OverFloor = round3(a.P99 / a.FloorP99)
	}
	return a, nil
}

// lightRequest is the floor's request: GET /api/v1/preferences as the
// poster (the token, one read, a small JSON object).
func (r *postRun) lightRequest() error {
	req, err := http.NewRequest("GET", "http://"+r.srv.addr+"/api/v1/preferences", nil)
	if err != nil {
		return err
	}
	req.Host = "bench.test"
	req.Header.Set("Authorization", "Bearer "+r.token)
	resp, b, err := r.srv.do(req)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /api/v1/preferences: %s: %s", resp.Status, b)
	}
	return nil
}

// profile starts the CPU profile of the first audience's timed posts.
func (r *postRun) profile() (stop func(), err error) {
	if r.o.CPUProfile == "" || r.profiled {
		return func() {}, nil
	}
	r.profiled = true
	f, err := os.Create(r.o.CPUProfile)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close() // the profile is written; a close error loses nothing more
	}, nil
}

// drain waits until no fan-out is queued.
func (r *postRun) drain(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Minute)
	for {
		var queued int
		if err := r.DB.QueryRow(ctx, `select count(*) from home_fanouts`).Scan(&queued); err != nil {
			return fmt.Errorf("fan-out queue: %w", err)
		}
		if queued == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d fan-outs still queued after 30 minutes", queued)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lastHomeFeeds posts Probes posts one at a time and times each from its
// request to its showing on the home timeline of the follower the fan-out
// reaches last (the highest account id: it goes by id), read as an app
// reads it (GET /api/v1/timelines/home, with the web node's page cache).
func (r *postRun) lastHomeFeeds(ctx context.Context) ([]time.Duration, error) {
	var lastID int64
	if err := r.DB.QueryRow(ctx, `select max(follower_id) from follows where followee_id = $1 and state = 'accepted'`,
		r.posterID).Scan(&lastID); err != nil {
		return nil, fmt.Errorf("last follower: %w", err)
	}
	tok, err := token(ctx, r.OAuth, r.tenantID, lastID, "read")
	if err != nil {
		return nil, err
	}
	var out []time.Duration
	for range max(r.o.Probes, 1) {
		start := time.Now()
		id, err := postOne(r.srv, r.token, r.seq.Add(1))
		if err != nil {
			return nil, err
		}
		for {
			// The oldest status after id-1: id once it shows (probes go
			// one at a time, so nothing newer does).
			page, err := r.home(tok, "limit=1&min_id="+strconv.FormatInt(id-1, 10))
			if err != nil {
				return nil, err
			}
			if len(page) == 1 && page[0] == id {
				break
			}
			if time.Since(start) > 10*time.Minute {
				return nil, fmt.Errorf("post %d never reached its last follower", id)
			}
			time.Sleep(2 * time.Millisecond)
		}
		out = append(out, time.Since(start))
	}
	return out, nil
}

// closeIdle closes the idle keep-alive connections: after a long pause
// the server has closed them, and reusing one fails.
func (b *client) closeIdle() {
	for {
		select {
		case c := <-b.conns:
			_ = c.conn.Close() // unused since; nothing to report
		default:
			return
		}
	}
}

// load1 is the machine's 1-minute load average (0 when unreadable).
func load1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f, _ := strconv.ParseFloat(strings.Fields(string(b) + " 0")[0], 64) // malformed: 0
	return f
}

// seedLocalFollowers creates n more local accounts (after the first
// from) following the poster. They never sign anything, so they share a
// dummy key; their follows go through the triggers as any follow does.
func seedLocalFollowers(ctx context.Context, e Env, tenantID, posterID int64, from, n int) error {
	if _, err := e.DB.Exec(ctx, `
		with f as (
			insert into accounts (tenant_id, domain, username, public_key_pem, private_key_pem)
			select $1, 'bench.test', 'f' || i, '', 'unused' from generate_series($3::int + 1, $3::int + $2::int) i
			returning id)
		insert into follows (follower_id, followee_id, state, uri)
		select id, $4, 'accepted', 'http://bench.test/follows/' || id from f`, tenantID, n, from, posterID); err != nil {
		return fmt.Errorf("seed local followers: %w", err)
	}
	return nil
}

// postOne posts status number n as the token's account and returns its
// id.
func postOne(srv *client, token string, n int64) (int64, error) {
	body := url.Values{"status": {fmt.Sprintf("Benchmark post %d, with a little text as a real post would have.", n)}}
	req, err := http.NewRequest("POST", "http://"+srv.addr+"/api/v1/statuses", strings.NewReader(body.Encode()))
	if err != nil {
		return 0, err
	}
	req.Host = "bench.test"
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, b, err := srv.do(req)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("POST /api/v1/statuses: %s: %s", resp.Status, b)
	}
	var st struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return 0, fmt.Errorf("POST /api/v1/statuses: %w", err)
	}
	return strconv.ParseInt(st.ID, 10, 64)
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

// checkHomes fails unless every post of ids is on the home timeline of
// its followers and reports whether the poster is read (migration 060).
// A poster filed in feeds has a home-feed row per follower and post; a
// read poster's posts have rows for at most the first followers (those
// of the post that marked it, HomeFanOutInline). Either way the home
// timelines of the first, a middle and the last follower, read through
// the API, must show every post.
func (r *postRun) checkHomes(ctx context.Context, ids []int64, followers int) (bool, error) {
	var rows int64
	var read bool
	if err := r.DB.QueryRow(ctx, `select (select count(*) from home_feeds where status_id = any($1)),
		exists (select 1 from home_pull_authors where account_id = $2)`, ids, r.posterID).Scan(&rows, &read); err != nil {
		return false, err
	}
	if want := int64(len(ids)) * int64(followers+1); !read && rows != want { // ids: unique (one per post)
		return false, fmt.Errorf("home feeds hold %d rows of %d posts, want %d", rows, len(ids), want)
	}
	if most := int64(len(ids)) * 21; read && rows > most {
		return true, fmt.Errorf("home feeds hold %d rows of %d posts of a read poster, want at most %d", rows, len(ids), most)
	}
	fr, err := r.DB.Query(ctx, `select follower_id from follows where followee_id = $1 and state = 'accepted'
		order by follower_id`, r.posterID)
	if err != nil {
		return false, err
	}
	sample, err := pgx.CollectRows(fr, pgx.RowTo[int64])
	if err != nil || len(sample) == 0 {
		return false, fmt.Errorf("the poster's followers: %d, %v", len(sample), err)
	}
	oldest := slices.Min(ids)
	for _, f := range []int64{sample[0], sample[len(sample)/2], sample[len(sample)-1]} {
		tok, err := token(ctx, r.OAuth, r.tenantID, f, "read")
		if err != nil {
			return false, err
		}
		shown := map[int64]bool{}
		for maxID := int64(0); ; {
			q := "limit=40&since_id=" + strconv.FormatInt(oldest-1, 10)
			if maxID > 0 {
				q += "&max_id=" + strconv.FormatInt(maxID, 10)
			}
			page, err := r.home(tok, q)
			if err != nil {
				return false, err
			}
			if len(page) == 0 {
				break
			}
			for _, id := range page {
				shown[id] = true
			}
			maxID = page[len(page)-1]
		}
		for _, id := range ids {
			if !shown[id] {
				return false, fmt.Errorf("post %d is not on follower %d's home timeline", id, f)
			}
		}
	}
	return read, nil
}

// home reads a page of the token's home timeline through the API (query:
// its parameters) and returns its status ids, newest first.
func (r *postRun) home(tok, query string) ([]int64, error) {
	req, err := http.NewRequest("GET", "http://"+r.srv.addr+"/api/v1/timelines/home?"+query, nil)
	if err != nil {
		return nil, err
	}
	req.Host = "bench.test"
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, b, err := r.srv.do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /api/v1/timelines/home: %s: %s", resp.Status, b)
	}
	var page []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &page); err != nil {
		return nil, fmt.Errorf("GET /api/v1/timelines/home: %w", err)
	}
	out := make([]int64, len(page))
	for i, s := range page {
		if out[i], err = strconv.ParseInt(s.ID, 10, 64); err != nil {
			return nil, fmt.Errorf("GET /api/v1/timelines/home: id %q", s.ID)
		}
	}
	return out, nil
}
