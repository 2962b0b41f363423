// Package soak is `roost soak`: a chaos soak of a whole Roost cluster on
// loopback. It provisions PostgreSQL and Redis (internal/devenv), starts
// web nodes and workers (this same executable), two remote Roost
// instances on their own databases, a slow and a flaky receiver, and
// Toxiproxy between the workers and one remote; drives an open-loop,
// seeded workload of people's apps and remote servers; injects faults
// from the seed (kill -9, rolling restarts, Redis and PostgreSQL
// restarts, network toxics, skewed remote clocks); and, once the faults
// stop and the queues drain, checks that nothing acknowledged was lost.
//
// It takes its database wiring from cmd/roost (Opener) and never builds
// a store itself.
package soak

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/devenv"
)

// Options are the flags of `roost soak`.
type Options struct {
	Duration time.Duration // the faulted, loaded window
	Seed     uint64
	Rate     float64 // client operations per second
	Tenants  int
	Accounts int // per tenant
	Nodes    int // roost serve processes
	Workers  int // roost work processes
	Remotes  int // remote Roost instances (0–2)
	// FaultEvery is the mean interval between faults.
	FaultEvery time.Duration
	// Drain bounds the wait for the queues to drain after the faults.
	Drain time.Duration
	// Exe is the roost executable the nodes run.
	Exe string
	// Open wires a database (cmd/roost).
	Open Opener
	// Progress receives progress lines (stderr).
	Progress io.Writer
}

// Result is the last line of `roost soak`.
type Result struct {
	Bench               string         `json:"bench"`
	Seconds             float64        `json:"seconds"`
	Ops                 int64          `json:"ops"`
	Acknowledged        int            `json:"acknowledged"`
	Lost                int            `json:"lost"`
	DuplicateDeliveries int            `json:"duplicate_deliveries"`
	Faults              map[string]int `json:"faults"`
	ErrorsRetryable     int64          `json:"errors_retryable"`
	ErrorsOther         int            `json:"errors_other"`
	RecoveryP99Seconds  float64        `json:"recovery_p99_seconds"`
	// ReadAuthors are the local accounts read by their followers' home
	// timelines instead of filed in them (issue 21, migration 060; as
	// past ROOST_HOME_PULL_FOLLOWERS): every fourth.
	ReadAuthors int `json:"read_authors"`
	// NotStarted are operations due within the window but still queued
	// behind their account's earlier ones when it ended: dropped, never
	// sent (a cluster that keeps up leaves none).
	NotStarted int64 `json:"not_started"`
	// Streams are the streaming clients by transport ("websocket", "sse")
	// and their connections over the run ("websocket_connects",
	// "sse_connects": more than the clients when nodes dropped them).
	Streams map[string]int `json:"streams"`
	// ByKind are the operations acknowledged, by kind (media uploads,
	// exports and imports among them).
	ByKind map[string]int `json:"by_kind"`
	// HarnessErrors are the soak's own failures (a fault it could not
	// undo: a server that would not start again within devenv's bound).
	// They fail the run but are not the cluster's errors.
	HarnessErrors []string `json:"harness_errors,omitempty"`

	// Violations are the first invariant violations, with ids (printed
	// before the line, not part of it).
	Violations []string `json:"-"`
}

// Failed reports whether the soak found something.
func (r *Result) Failed() bool { return r.Lost > 0 || r.ErrorsOther > 0 || len(r.HarnessErrors) > 0 }

// cluster is everything the soak started.
type cluster struct {
	dir      string
	main     *devenv.Env
	remote   *devenv.Env
	site     *Site
	web      []*proc
	workers  []*proc
	lb       *balancer
	proxy    *toxiproxy.Proxy
	edges    []*edgeActor
	remotes  []*remoteNode
	progress io.Writer
	// unsupervise stops restarting processes that exit.
	unsupervise context.CancelFunc
}

func (o *Options) defaults() {
	if o.Rate <= 0 {
		o.Rate = 20
	}
	o.Tenants, o.Accounts, o.Nodes, o.Workers = max(o.Tenants, 1), max(o.Accounts, 2), max(o.Nodes, 1), max(o.Workers, 1)
	o.Remotes = min(max(o.Remotes, 0), 2)
	if o.FaultEvery <= 0 {
		o.FaultEvery = 8 * time.Second
	}
	if o.Drain <= 0 {
		o.Drain = 3 * time.Minute
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
}

// Run provisions the cluster, runs the soak and checks the invariants.
func Run(ctx context.Context, o Options) (*Result, error) {
	o.defaults()
	fmt.Fprintf(o.Progress, "soak: seed %d (replay with --seed %d); %d tenants × %d accounts, %d web nodes, %d workers, %d remotes, %.0f ops/s for %s\n",
		o.Seed, o.Seed, o.Tenants, o.Accounts, o.Nodes, o.Workers, o.Remotes, o.Rate, o.Duration)
	c, w, err := provision(ctx, o)
	if c != nil {
		defer c.stop()
	}
	if err != nil {
		return nil, err
	}
	res, err := w.run(ctx, c)
	if err != nil {
		fmt.Fprint(o.Progress, c.logs()) // what the nodes said, for a failed setup
	}
	return res, err
}

func provision(ctx context.Context, o Options) (*cluster, *world, error) {
	dir, err := os.MkdirTemp("", "roost-soak-")
	if err != nil {
		return nil, nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil { // the database server's user reads it
		return nil, nil, err
	}
	c := &cluster{dir: dir, progress: o.Progress}
	if c.main, err = devenv.Start(ctx, devenv.Options{Dir: filepath.Join(dir, "main"), Install: true, Database: "soak"}); err != nil {
		return c, nil, err
	}
	if o.Remotes > 0 {
		if c.remote, err = devenv.Start(ctx, devenv.Options{Dir: filepath.Join(dir, "remote"), Install: true, Database: "remote0"}); err != nil {
			return c, nil, err
		}
	}
	if c.site, err = o.Open(ctx, c.main.DatabaseURL, c.main.RedisURL); err != nil {
		return c, nil, err
	}
	kp, err := federation.GenerateKeyPair()
	if err != nil {
		return c, nil, err
	}
	var domains []string
	for i := range o.Tenants {
		domains = append(domains, fmt.Sprintf("t%d.soak.test", i))
	}
	fmt.Fprintf(o.Progress, "soak: seeding %d tenants...\n", len(domains))
	accts, err := seed(ctx, c.site, domains, o.Accounts, kp)
	if err != nil {
		return c, nil, err
	}
	// Addresses first: every process's resolve list names them.
	var webAddrs []string
	for range o.Nodes {
		a, err := freeAddr()
		if err != nil {
			return c, nil, err
		}
		webAddrs = append(webAddrs, a)
	}
	if c.lb, err = newBalancer(webAddrs); err != nil {
		return c, nil, err
	}
	for i, spec := range []struct {
		host        string
		slow, flaky bool
	}{{"slow.soak.test", true, false}, {"flaky.soak.test", false, true}} {
		e, err := newEdgeActor(spec.host, "edge", o.Seed+uint64(i), spec.slow, spec.flaky, kp.PublicPEM)
		if err != nil {
			return c, nil, err
		}
		c.edges = append(c.edges, e)
	}
	if err := c.startRemotes(ctx, o, domains, kp); err != nil {
		return c, nil, err
	}
	if len(c.remotes) > 0 {
		if c.proxy, err = newToxiproxy("remote0", c.remotes[0].front.Addr); err != nil {
			return c, nil, err
		}
	}
	if err := c.startMain(ctx, o, domains, webAddrs); err != nil {
		return c, nil, err
	}
	w := &world{o: o, cl: newClient(webAddrs, 3*time.Minute), lb: c.lb.Addr, site: c.site, remotes: c.remotes, edges: c.edges,
		rnd: rand.New(rand.NewPCG(o.Seed, 1)), byAcct: map[string]*localUser{}, byKind: map[string]int{}}
	for _, a := range accts {
		u := &localUser{account: a, q: make(chan func(), 100000), plannedFollows: map[string]bool{}, targetIDs: map[string]string{},
			everFollow: map[string]bool{}, followed: map[string]bool{}, followLog: map[string][]event{}, pinned: map[string]bool{}}
		w.locals = append(w.locals, u)
		w.byAcct[a.acct()] = u
	}
	return c, w, nil
}

// startRemotes seeds and starts the remote instances: r<i>.soak.test,
// three accounts each, a web node behind a counting front door, and a
// worker; they reach the cluster's tenants through the balancer and each
// other through their front doors (a boost by a tenant of one remote's
// post, delivered to the other remote, is fetched from its origin).
func (c *cluster) startRemotes(ctx context.Context, o Options, domains []string, kp federation.KeyPair) error {
	var resolve []string
	for _, d := range domains {
		resolve = append(resolve, d+"=http://"+c.lb.Addr)
	}
	addrs := make([]string, o.Remotes)
	fronts := make([]*frontDoor, o.Remotes)
	for i := range o.Remotes {
		addr, err := freeAddr()
		if err != nil {
			return err
		}
		if fronts[i], err = newFrontDoor(addr); err != nil {
			return err
		}
		addrs[i] = addr
		resolve = append(resolve, fmt.Sprintf("r%d.soak.test=http://%s", i, fronts[i].Addr))
	}
	for i := range o.Remotes {
		r := &remoteNode{domain: fmt.Sprintf("r%d.soak.test", i), ids: map[string]string{}, front: fronts[i]}
		addr := addrs[i]
		r.dbURL = c.remote.DatabaseURL
		if i > 0 {
			r.dbURL = strings.Replace(c.remote.DatabaseURL, "/remote0?", fmt.Sprintf("/remote%d?", i), 1)
			conn, err := pgx.Connect(ctx, c.remote.AdminURL)
			if err != nil {
				return err
			}
			_, err = conn.Exec(ctx, fmt.Sprintf("create database remote%d", i))
			_ = conn.Close(ctx)
			if err != nil {
				return err
			}
		}
		site, err := o.Open(ctx, r.dbURL, c.remote.RedisURL)
		if err != nil {
			return err
		}
		r.site = site
		if r.users, err = seed(ctx, site, []string{r.domain}, 3, kp); err != nil {
			return err
		}
		env := append(baseEnv(), "ROOST_DATABASE_URL="+r.dbURL, "ROOST_REDIS_URL="+c.remote.RedisURL,
			"ROOST_REDIS_PREFIX="+r.domain+":", "ROOST_URL_SCHEME=http", "ROOST_LOG_LEVEL=warn",
			"ROOST_MEDIA_DIR="+filepath.Join(c.dir, r.domain), "ROOST_FEDERATION_RESOLVE="+strings.Join(resolve, ","),
			"ROOST_DELIVERY_SWEEP_EVERY=2s", "ROOST_DELIVERY_CLAIM_IDLE=20s")
		r.serve = &proc{name: r.domain + " serve", cmd: "serve", addr: addr, exe: o.Exe, env: append(slices.Clone(env), "ROOST_HTTP_ADDR="+addr), log: &ring{}}
		r.work = &proc{name: r.domain + " work", cmd: "work", exe: o.Exe, env: env, log: &ring{}}
		for _, p := range []*proc{r.serve, r.work} {
			if err := p.start(); err != nil {
				return err
			}
		}
		c.remotes = append(c.remotes, r)
	}
	return nil
}

// startMain starts the cluster's web nodes and workers. Web nodes reach
// remotes directly (their fetches of actors and keys); workers reach the
// first remote through Toxiproxy.
func (c *cluster) startMain(ctx context.Context, o Options, domains, webAddrs []string) error {
	var direct, viaProxy []string
	for _, e := range c.edges {
		direct = append(direct, e.host+"=http://"+e.Addr)
	}
	for _, d := range domains {
		direct = append(direct, d+"=http://"+c.lb.Addr)
	}
	viaProxy = slices.Clone(direct)
	for i, r := range c.remotes {
		direct = append(direct, r.domain+"=http://"+r.front.Addr)
		if i == 0 {
			viaProxy = append(viaProxy, r.domain+"=http://"+c.proxy.Listen)
		} else {
			viaProxy = append(viaProxy, r.domain+"=http://"+r.front.Addr)
		}
	}
	env := append(baseEnv(), "ROOST_DATABASE_URL="+c.main.DatabaseURL, "ROOST_REDIS_URL="+c.main.RedisURL,
		"ROOST_REDIS_PREFIX=soak:", "ROOST_URL_SCHEME=http", "ROOST_LOG_LEVEL=warn",
		"ROOST_MEDIA_DIR="+filepath.Join(c.dir, "media"), "ROOST_SHUTDOWN_GRACE=10s",
		"ROOST_DELIVERY_SWEEP_EVERY=2s", "ROOST_DELIVERY_CLAIM_IDLE=20s")
	for i, addr := range webAddrs {
		c.web = append(c.web, &proc{name: fmt.Sprintf("serve %d", i+1), cmd: "serve", addr: addr, exe: o.Exe, log: &ring{},
			env: append(slices.Clone(env), "ROOST_HTTP_ADDR="+addr, "ROOST_FEDERATION_RESOLVE="+strings.Join(direct, ","))})
	}
	for i := range o.Workers {
		c.workers = append(c.workers, &proc{name: fmt.Sprintf("work %d", i+1), cmd: "work", exe: o.Exe, log: &ring{},
			env: append(slices.Clone(env), "ROOST_FEDERATION_RESOLVE="+strings.Join(viaProxy, ","))})
	}
	for _, p := range append(slices.Clone(c.web), c.workers...) {
		if err := p.start(); err != nil {
			return err
		}
	}
	all := append(slices.Clone(c.web), c.workers...)
	for _, r := range c.remotes {
		all = append(all, r.serve, r.work)
	}
	sctx, stop := context.WithCancel(context.Background())
	c.unsupervise = stop
	go supervise(sctx, all)
	hc := newClient(nil, 0).hc
	for _, p := range c.web {
		if err := waitReady(ctx, hc, p.addr, 2*time.Minute); err != nil {
			return fmt.Errorf("%w\n%s", err, clip(p.log.String(), 3000))
		}
	}
	for _, r := range c.remotes {
		if err := waitReady(ctx, hc, r.serve.addr, 2*time.Minute); err != nil {
			return fmt.Errorf("%w\n%s", err, clip(r.serve.log.String(), 3000))
		}
	}
	return nil
}

// stop ends every process and server the soak started.
func (c *cluster) stop() {
	if c.unsupervise != nil {
		c.unsupervise()
	}
	var wg sync.WaitGroup
	var procs []*proc
	procs = append(procs, c.web...)
	procs = append(procs, c.workers...)
	for _, r := range c.remotes {
		procs = append(procs, r.serve, r.work)
	}
	for _, p := range procs {
		p.hold(true) // the supervisor may be in a round
		wg.Add(1)
		go func() { defer wg.Done(); p.signal(syscall.SIGTERM) }()
	}
	wg.Wait()
	for _, r := range c.remotes {
		r.front.close()
		if r.site != nil {
			r.site.Close()
		}
	}
	for _, e := range c.edges {
		e.close()
	}
	if c.proxy != nil {
		c.proxy.Stop()
	}
	if c.lb != nil {
		c.lb.close()
	}
	if c.site != nil {
		c.site.Close()
	}
	for _, e := range []*devenv.Env{c.remote, c.main} {
		if e != nil {
			if err := e.Stop(); err != nil {
				fmt.Fprintf(c.progress, "soak: stopping the private servers: %v\n", err)
			}
		}
	}
	_ = os.RemoveAll(c.dir) // a temporary directory; what is left is harmless
}

// logs returns the tails of every process's log, for a failed run.
func (c *cluster) logs() string {
	var b strings.Builder
	procs := append(slices.Clone(c.web), c.workers...)
	for _, r := range c.remotes {
		procs = append(procs, r.serve, r.work)
	}
	for _, p := range procs {
		fmt.Fprintf(&b, "--- %s (tail)\n%s\n", p.name, tailOf(p.log.String(), 2000))
	}
	return b.String()
}

func tailOf(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
