package bench

import (
	"bytes"
	"context"
	"crypto"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/signature"
	"github.com/roost-social/roost/tenant/oauth"
)

// LoadOptions are the flags of `roost bench load`.
type LoadOptions struct {
	Nodes       int           // roost serve processes
	Workers     int           // roost work processes
	Tenants     int           // tenant domains (one account each)
	Users       int           // accounts with OAuth tokens that read timelines and post
	Rate        float64       // requests per second (the first rate with FindMax)
	Duration    time.Duration // length of each timed run
	FindMax     bool          // raise the rate by Step until p99 > P99 or an error, and report the highest rate held
	Step        float64       // rate multiplier between FindMax runs
	P99         float64       // p99 target in ms for FindMax
	Overload    bool          // run at Rate (far past saturation), then at RecoverRate
	RecoverRate float64       // rate of the recovery run after Overload
	MaxInflight string        // ROOST_MAX_INFLIGHT of the serve nodes
}

// Load is what the load benchmark seeds and starts: the tenants, tokens
// and remote sender of the mix, and the `roost serve` and `roost work`
// processes (this same executable) on the private database and Redis.
type Load struct {
	Env
	OAuth  *oauth.Service
	Actors federation.RemoteActorStore
	// Exe is the roost executable the nodes run.
	Exe string
	// DatabaseURL, RedisURL and RedisPrefix are the private servers'.
	DatabaseURL, RedisURL, RedisPrefix string
	// Emit prints one result line (each timed run's, before the last).
	Emit func(v any) error
}

// Run drives a mixed workload at a fixed request rate against several
// real `roost serve` processes (and `roost work` processes behind them)
// sharing one private PostgreSQL and Redis, across many tenant domains:
// WebFinger, actor documents, signed inbox POSTs, home timeline reads and
// posts, and returns the last line.
//
// The generator is open-loop: request i is due at start + i/rate whatever
// happened to the earlier ones, and its latency runs from when it was due,
// not from when it was sent, so a stalled server is charged for every
// request that queued behind the stall (no coordinated omission).
func (b Load) Run(ctx context.Context, o LoadOptions) (map[string]any, error) {
	fmt.Fprintf(b.progress(), "seeding %d tenant domains...\n", o.Tenants)
	w, err := seedLoad(ctx, b, o.Tenants, o.Users)
	if err != nil {
		return nil, err
	}
	if w.sender, err = cacheSender(ctx, b.Actors, "rsa"); err != nil {
		return nil, err
	}
	cluster, err := startLoadCluster(b, o.Nodes, o.Workers, o.MaxInflight)
	if err != nil {
		return nil, err
	}
	defer cluster.stop()
	w.addrs = cluster.addrs
	// Connections dialled for a request another connection then carried
	// are open but have never sent one: a stopping node waits for them.
	defer w.client.CloseIdleConnections()
	// Warm up: caches filled, connections open, every user's home feed
	// holding a few posts.
	fmt.Fprintf(b.progress(), "warming up on %d nodes...\n", o.Nodes)
	w.run(50, 4*time.Second)
	for _, u := range w.users {
		for range 3 {
			w.do(loadReq{kind: "post", user: u})
		}
	}

	switch {
	case o.Overload:
		return w.overload(cluster, b.Emit, b.progress(), o.Rate, o.RecoverRate, o.Duration)
	case o.FindMax:
		return w.findMax(b.Emit, o)
	}
	res := w.run(o.Rate, o.Duration)
	if err := b.Emit(res.line()); err != nil {
		return nil, err
	}
	return res.summary(), nil
}

// findMax raises the rate until a run fails. The machine's other work
// makes single runs noisy: the search ends after two failed rates in a
// row, and reports the highest rate held.
func (w *loadWorld) findMax(emit func(any) error, o LoadOptions) (map[string]any, error) {
	var best *loadResult
	for r, failed := o.Rate, 0; failed < 2; r *= o.Step {
		res := w.run(r, o.Duration)
		if err := emit(res.line()); err != nil {
			return nil, err
		}
		if res.Errors > 0 || res.P99 > o.P99 || res.RPS < r*0.95 {
			failed++
			continue
		}
		failed, best = 0, res
	}
	if best == nil {
		return nil, fmt.Errorf("no rate held (p99 ≤ %g ms, 0 errors) from %g/s", o.P99, o.Rate)
	}
	return best.summary(), nil
}

// loadWorld is what the generator knows of the instance.
type loadWorld struct {
	domains []string
	users   []loadUser
	sender  crypto.PrivateKey
	addrs   []string
	client  *http.Client
	seq     atomic.Int64
}

type loadUser struct {
	domain, token string
}

// seedLoad creates n tenants, each with one account "user" (sharing one
// key pair: keys are generated at 2 per second per core, and nothing here
// depends on their being distinct), and OAuth tokens for users of them.
func seedLoad(ctx context.Context, b Load, n, users int) (*loadWorld, error) {
	w := &loadWorld{client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConnsPerHost: 512, IdleConnTimeout: time.Minute,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}}}
	for i := range n {
		w.domains = append(w.domains, fmt.Sprintf("t%d.load.test", i))
	}
	// Tenants through the service (validation, verified domains, host
	// invalidation), four at a time.
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	for part := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := part; i < n; i += 4 {
				if _, err := b.Tenants.CreateTenant(ctx, "Load "+strconv.Itoa(i), w.domains[i], ""); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return nil, err
	}
	kp, err := federation.GenerateKeyPair()
	if err != nil {
		return nil, err
	}
	if _, err := b.DB.Exec(ctx, `
		insert into accounts (tenant_id, domain, username, display_name, public_key_pem, private_key_pem)
		select d.tenant_id, d.domain, 'user', 'User of ' || d.domain, $2, $3 from domains d where d.domain like '%.load.test'
		order by d.domain limit $1`, n, kp.PublicPEM, kp.PrivatePEM); err != nil {
		return nil, err
	}
	for i := 0; i < users && i < n; i++ {
		d := w.domains[i*n/max(users, 1)]
		var tenantID, accountID int64
		if err := b.DB.QueryRow(ctx, `select tenant_id, id from accounts where domain = $1 and username = 'user'`, d).
			Scan(&tenantID, &accountID); err != nil {
			return nil, fmt.Errorf("account on %s: %w", d, err)
		}
		tok, err := token(ctx, b.OAuth, tenantID, accountID, "read write")
		if err != nil {
			return nil, err
		}
		w.users = append(w.users, loadUser{domain: d, token: tok})
	}
	return w, nil
}

// loadCluster is the serve and work processes of the benchmark.
type loadCluster struct {
	addrs    []string
	procs    []*exec.Cmd
	dir      string
	progress io.Writer
}

func startLoadCluster(b Load, nodes, workers int, maxInflight string) (*loadCluster, error) {
	exe := b.Exe
	dir, err := os.MkdirTemp("", "roost-load-")
	if err != nil {
		return nil, err
	}
	c := &loadCluster{dir: dir, progress: b.progress()}
	env := []string{"ROOST_DATABASE_URL=" + b.DatabaseURL, "ROOST_REDIS_URL=" + b.RedisURL,
		"ROOST_REDIS_PREFIX=" + b.RedisPrefix, "ROOST_URL_SCHEME=http", "ROOST_LOG_LEVEL=warn",
		"ROOST_MEDIA_DIR=" + dir, "ROOST_MAX_INFLIGHT=" + maxInflight}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ROOST_") {
			env = append(env, kv)
		}
	}
	start := func(cmd string, extra ...string) error {
		p := exec.Command(exe, cmd)
		p.Env = append(append([]string{}, env...), extra...)
		p.Stderr = c.progress
		if err := p.Start(); err != nil {
			return err
		}
		c.procs = append(c.procs, p)
		return nil
	}
	for range nodes {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			c.stop()
			return nil, err
		}
		addr := l.Addr().String()
		l.Close()
		if err := start("serve", "ROOST_HTTP_ADDR="+addr); err != nil {
			c.stop()
			return nil, err
		}
		c.addrs = append(c.addrs, addr)
	}
	for range workers {
		if err := start("work"); err != nil {
			c.stop()
			return nil, err
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, addr := range c.addrs {
		for {
			resp, err := http.Get("http://" + addr + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					break
				}
			}
			if time.Now().After(deadline) {
				c.stop()
				return nil, fmt.Errorf("node %s never became ready", addr)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return c, nil
}

func (c *loadCluster) stop() {
	for _, p := range c.procs {
		p.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range c.procs {
		p.Wait()
	}
	os.RemoveAll(c.dir)
}

// serveRSS is the largest resident set of the serve processes, in MiB.
func (c *loadCluster) serveRSS() float64 {
	var most float64
	for _, p := range c.procs[:len(c.addrs)] {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Process.Pid))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseFloat(f[1], 64)
				most = max(most, kb/1024)
			}
		}
	}
	return round3(most)
}

// shedTotal sums roost_http_shed_total over the serve nodes: the 503s the
// limiter answered, as opposed to requests that timed out inside.
func (c *loadCluster) shedTotal() int {
	total := 0
	for _, addr := range c.addrs {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			fmt.Fprintf(c.progress, "scraping %s: %v\n", addr, err)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "roost_http_shed_total{") {
				if f := strings.Fields(line); len(f) == 2 {
					n, _ := strconv.ParseFloat(f[1], 64)
					total += int(n)
				}
			}
		}
	}
	return total
}

// loadReq is one request of the mix.
type loadReq struct {
	kind   string
	domain string
	user   loadUser
	inbox  *signedInbox
}

type signedInbox struct {
	header http.Header
	body   []byte
}

// LoadMix is the share of each kind of request, in percent: reads by
// remote servers and crawlers (WebFinger, actors), deliveries to inboxes,
// and people in apps.
var LoadMix = []struct {
	Kind  string
	Share int
}{{"webfinger", 20}, {"actor", 20}, {"inbox", 20}, {"timeline", 30}, {"post", 10}}

// plan draws n requests of the mix; inbox POSTs are signed here, before
// the timed window (signing is the sender's cost, not the server's).
func (w *loadWorld) plan(n int) []loadReq {
	reqs := make([]loadReq, n)
	rnd := rand.New(rand.NewPCG(uint64(n), 8))
	for i := range reqs {
		x, kind := rnd.IntN(100), ""
		for _, m := range LoadMix {
			if x < m.Share {
				kind = m.Kind
				break
			}
			x -= m.Share
		}
		reqs[i] = loadReq{kind: kind, domain: w.domains[rnd.IntN(len(w.domains))], user: w.users[rnd.IntN(len(w.users))]}
	}
	var wg sync.WaitGroup
	for part := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := part; i < n; i += 2 {
				if reqs[i].kind == "inbox" {
					reqs[i].inbox = w.signInbox(reqs[i].domain)
				}
			}
		}()
	}
	wg.Wait()
	return reqs
}

func (w *loadWorld) signInbox(domain string) *signedInbox {
	id := fmt.Sprintf("%s/statuses/load-%d-%d", senderActor, time.Now().UnixNano(), w.seq.Add(1))
	body := []byte(fmt.Sprintf(`{"@context":"https://www.w3.org/ns/activitystreams","id":"%s/activity","type":"Create","actor":"%s","to":["https://www.w3.org/ns/activitystreams#Public"],"object":{"id":"%s","type":"Note","attributedTo":"%s","content":"<p>load</p>","published":"2026-11-27T10:00:00Z","to":["https://www.w3.org/ns/activitystreams#Public"]}}`, id, senderActor, id, senderActor))
	r, _ := http.NewRequest("POST", "http://"+domain+"/inbox", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/activity+json")
	if err := signature.Sign(r, body, senderActor+"#main-key", w.sender, time.Now()); err != nil {
		panic(err) // a key that signed once signs always
	}
	return &signedInbox{header: r.Header, body: body}
}

// do sends one request to the next node and returns its status (0 for a
// transport error).
func (w *loadWorld) do(q loadReq) int {
	addr := w.addrs[int(w.seq.Add(1))%len(w.addrs)]
	var req *http.Request
	switch q.kind {
	case "webfinger":
		req, _ = http.NewRequest("GET", "http://"+addr+"/.well-known/webfinger?resource=acct:user@"+q.domain, nil)
		req.Host = q.domain
	case "actor":
		req, _ = http.NewRequest("GET", "http://"+addr+"/users/user", nil)
		req.Host = q.domain
		req.Header.Set("Accept", "application/activity+json")
	case "inbox":
		req, _ = http.NewRequest("POST", "http://"+addr+"/inbox", bytes.NewReader(q.inbox.body))
		req.Host = q.domain
		req.Header = q.inbox.header.Clone()
	case "timeline":
		req, _ = http.NewRequest("GET", "http://"+addr+"/api/v1/timelines/home?limit=20", nil)
		req.Host = q.user.domain
		req.Header.Set("Authorization", "Bearer "+q.user.token)
	case "post":
		body := url.Values{"status": {fmt.Sprintf("Load post %d, with a little text as a real post would have.", w.seq.Add(1))}}
		req, _ = http.NewRequest("POST", "http://"+addr+"/api/v1/statuses", strings.NewReader(body.Encode()))
		req.Host = q.user.domain
		req.Header.Set("Authorization", "Bearer "+q.user.token)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// loadResult is one timed run.
type loadResult struct {
	Rate      float64            `json:"rate"`
	RPS       float64            `json:"rps"`
	P50       float64            `json:"p50_ms"`
	P99       float64            `json:"p99_ms"`
	Errors    int                `json:"errors"`
	Shed      int                `json:"shed"`
	ShedP99   float64            `json:"shed_p99_ms,omitempty"`
	Requests  int                `json:"requests"`
	ByKind    map[string]int     `json:"by_kind"`
	P99ByKind map[string]float64 `json:"p99_ms_by_kind"`
	MaxRSSMiB float64            `json:"max_serve_rss_mib,omitempty"`
	Load1     string             `json:"loadavg"`
	// FloorP99 is the p99 of GET /healthz (the nodes' HTTP and nothing
	// else), one sent beside every tenth request of the run, on the same
	// nodes at the same moments: what any answer costs on this machine
	// now. P99OverFloor survives the machine's load.
	FloorP99     float64 `json:"floor_p99_ms"`
	P99OverFloor float64 `json:"p99_over_floor"`
}

// summary is the benchmark's last JSON line for run r.
func (r *loadResult) summary() map[string]any {
	return map[string]any{"bench": "load", "rps": r.RPS, "p50_ms": r.P50, "p99_ms": r.P99, "errors": r.Errors,
		"floor_p99_ms": r.FloorP99, "p99_over_floor": r.P99OverFloor, "loadavg": r.Load1}
}

// line is the run's JSON line.
func (r *loadResult) line() any {
	return struct {
		Bench string `json:"bench"`
		*loadResult
	}{"load-run", r}
}

// run sends rate requests per second for d, open-loop, and measures each
// from its due time. A request still unanswered 30 s after it was due is
// an error.
func (w *loadWorld) run(rate float64, d time.Duration) *loadResult {
	n := int(rate * d.Seconds())
	reqs := w.plan(n)
	lat := make([]time.Duration, n)
	status := make([]int, n)
	floor := make([]time.Duration, 0, n/10+1)
	var floorMu sync.Mutex
	interval := time.Duration(float64(time.Second) / rate)
	var wg sync.WaitGroup
	start := time.Now().Add(50 * time.Millisecond)
	for i := range reqs {
		due := start.Add(time.Duration(i) * interval)
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			status[i] = w.do(reqs[i])
			lat[i] = time.Since(due)
		}()
		if i%10 == 0 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if w.healthz() {
					floorMu.Lock()
					floor = append(floor, time.Since(due))
					floorMu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	wall := time.Since(start)
	res := &loadResult{Rate: rate, Requests: n, ByKind: map[string]int{}, P99ByKind: map[string]float64{}, Load1: loadavg()}
	var ok, shed []time.Duration
	kinds := map[string][]time.Duration{}
	for i, q := range reqs {
		want := 200
		if q.kind == "inbox" {
			want = 202
		}
		res.ByKind[q.kind]++
		switch {
		case status[i] == want:
			ok = append(ok, lat[i])
			kinds[q.kind] = append(kinds[q.kind], lat[i])
		case status[i] == 503 || status[i] == 429:
			res.Shed++
			shed = append(shed, lat[i])
		default:
			res.Errors++
		}
	}
	all := append(append([]time.Duration{}, ok...), shed...)
	res.RPS = round3(float64(len(ok)) / wall.Seconds())
	res.P50, res.P99 = pct(all, 50), pct(all, 99)
	res.Errors += res.Shed // a shed request is an error to whoever sent it
	if len(shed) > 0 {
		res.ShedP99 = pct(shed, 99)
	}
	for k, l := range kinds {
		res.P99ByKind[k] = pct(l, 99)
	}
	if res.FloorP99 = pct(floor, 99); res.FloorP99 > 0 {
		res.P99OverFloor = round3(res.P99 / res.FloorP99)
	}
	return res
}

// healthz is the floor's request: GET /healthz on the next node; false
// unless answered 200.
func (w *loadWorld) healthz() bool {
	addr := w.addrs[int(w.seq.Add(1))%len(w.addrs)]
	resp, err := w.client.Get("http://" + addr + "/healthz")
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body) // drained for the keep-alive; the status is the answer
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// overload runs far past saturation while sampling the serve nodes'
// memory, then at a rate they hold: the first run should end in fast
// 503s, not in queues, and the second should be clean without a restart.
func (w *loadWorld) overload(c *loadCluster, emit func(any) error, progress io.Writer, rate, recoverRate float64, d time.Duration) (map[string]any, error) {
	var rss atomic.Value
	rss.Store(c.serveRSS())
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if r := c.serveRSS(); r > rss.Load().(float64) {
					rss.Store(r)
				}
			}
		}
	}()
	before, shedBefore := c.serveRSS(), c.shedTotal()
	over := w.run(rate, d)
	close(done)
	limiterShed := c.shedTotal() - shedBefore
	over.MaxRSSMiB = rss.Load().(float64)
	fmt.Fprintf(progress, "serve RSS before the overload: %.1f MiB; peak during it: %.1f MiB; %d of %d 503s answered by the limiter\n",
		before, over.MaxRSSMiB, limiterShed, over.Shed)
	if err := emit(over.line()); err != nil {
		return nil, err
	}
	time.Sleep(2 * time.Second)
	rec := w.run(recoverRate, d)
	rec.MaxRSSMiB = c.serveRSS()
	if err := emit(rec.line()); err != nil {
		return nil, err
	}
	out := rec.summary()
	maps.Copy(out, map[string]any{"overload_rate": rate, "overload_shed": over.Shed, "overload_other_errors": over.Errors - over.Shed,
		"overload_shed_p99_ms": over.ShedP99, "overload_max_rss_mib": over.MaxRSSMiB, "overload_limiter_shed": limiterShed})
	return out, nil
}

// loadavg is the machine's 1-minute load average, for the record.
func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}
