package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/mattn/go-mastodon"
	"github.com/roost-social/roost/internal/testenv"
)

// The multi-node proof (issue 8): one PostgreSQL, one Redis, three
// `roost serve` and two `roost work` processes of one instance on
// loopback, and a second instance (one serve, one work, its own database)
// that follows a poster of the first, standing for the rest of the
// fediverse.

// mnProc is one roost process the test may kill, stop and start again.
type mnProc struct {
	name, cmd string
	env       []string
	c         *exec.Cmd
	log       *tlsLog
	done      chan struct{}
	err       error
}

func startProc(t *testing.T, name, cmd string, env []string) *mnProc {
	t.Helper()
	p := &mnProc{name: name, cmd: cmd, env: env}
	p.start(t)
	t.Cleanup(func() {
		if p.running() {
			p.c.Process.Signal(syscall.SIGTERM)
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s log (tail):\n%s", p.name, tail(p.log.String(), 4000))
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func (p *mnProc) start(t *testing.T) {
	t.Helper()
	p.c = exec.Command(roostBin(t), p.cmd)
	p.c.Env = append(cleanEnv(), p.env...)
	if p.log == nil {
		p.log = &tlsLog{}
	}
	p.c.Stdout, p.c.Stderr = p.log, p.log
	if err := p.c.Start(); err != nil {
		t.Fatal(err)
	}
	p.done = make(chan struct{})
	go func() { p.err = p.c.Wait(); close(p.done) }()
}

func (p *mnProc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// kill is kill -9: no shutdown of any kind.
func (p *mnProc) kill(t *testing.T) {
	t.Helper()
	if err := p.c.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

// stop is SIGTERM, then a wait for a clean exit (a liveness bound).
func (p *mnProc) stop(t *testing.T) {
	t.Helper()
	p.c.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not exit within a minute of SIGTERM", p.name)
	}
	if p.err != nil {
		t.Fatalf("%s exited uncleanly on SIGTERM: %v\n%s", p.name, p.err, tail(p.log.String(), 3000))
	}
}

// withEnv returns env with the given variables set (later entries win in
// os/exec, but a clean list reads better in failure logs).
func withEnv(env []string, kv ...string) []string {
	out := slices.Clone(env)
	for _, s := range kv {
		name, _, _ := strings.Cut(s, "=")
		out = slices.DeleteFunc(out, func(e string) bool { return strings.HasPrefix(e, name+"=") })
		out = append(out, s)
	}
	return out
}

// poster posts as one account, continuously, through a set of node
// addresses: each post goes to the next address, and a post that fails in
// a way a retry may repeat (connection refused, reset before any answer,
// 503 with Retry-After) is retried on the next address with the same
// Idempotency-Key. Every acknowledged (200) status is recorded.
type poster struct {
	token string
	addrs []string
	next  atomic.Uint64
	seq   atomic.Uint64
	tag   string

	mu      sync.Mutex
	acked   map[string]string // status id → uri
	refused int               // connection refused
	shed    int               // 503 with Retry-After
	resets  int               // connection reset / EOF before an answer
	other   []string          // anything else: must stay empty
}

func newPoster(token, tag string, addrs ...string) *poster {
	return &poster{token: token, addrs: addrs, tag: tag, acked: map[string]string{}}
}

// client sends each request on a new connection: a node that stops
// closes its listener, and new connections are then refused, never
// half-served.
var posterClient = &http.Client{
	Timeout:   60 * time.Second,
	Transport: &http.Transport{DisableKeepAlives: true, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext},
}

// postOne posts once, retrying until acknowledged or ctx ends.
func (p *poster) postOne(ctx context.Context) {
	n := p.seq.Add(1)
	key := fmt.Sprintf("%s-%d", p.tag, n)
	form := url.Values{"status": {fmt.Sprintf("load %s number %d", p.tag, n)}, "visibility": {"public"}}
	giveUp := time.Now().Add(2 * time.Minute) // a liveness bound: no node came back
	for ctx.Err() == nil {
		if time.Now().After(giveUp) {
			p.mu.Lock()
			p.other = append(p.other, key+": no node accepted it for two minutes")
			p.mu.Unlock()
			return
		}
		addr := p.addrs[p.next.Add(1)%uint64(len(p.addrs))]
		req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+addr+"/api/v1/statuses", strings.NewReader(form.Encode()))
		req.Host = "a.test"
		req.Header.Set("Authorization", "Bearer "+p.token)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Idempotency-Key", key)
		resp, err := posterClient.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			p.mu.Lock()
			switch {
			case errors.Is(err, syscall.ECONNREFUSED):
				p.refused++
			case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
				p.resets++
			default:
				p.other = append(p.other, err.Error())
			}
			p.mu.Unlock()
			time.Sleep(20 * time.Millisecond)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 503 && resp.Header.Get("Retry-After") != "" {
			p.mu.Lock()
			p.shed++
			p.mu.Unlock()
			time.Sleep(20 * time.Millisecond)
			continue
		}
		var st struct{ ID, URI string }
		p.mu.Lock()
		if resp.StatusCode != 200 || json.Unmarshal(body, &st) != nil || st.ID == "" {
			p.other = append(p.other, fmt.Sprintf("%s: %d %s", addr, resp.StatusCode, tail(string(body), 200)))
		} else {
			p.acked[st.ID] = st.URI
		}
		p.mu.Unlock()
		return
	}
}

// run posts with workers concurrent posters until ctx ends. A post under
// way then is finished (retries included), never abandoned: a request
// cancelled by its client may well have been stored, and the count of
// stored posts must match the acknowledged ones.
func (p *poster) run(ctx context.Context, workers int) *sync.WaitGroup {
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				p.postOne(context.Background())
			}
		}()
	}
	return &wg
}

func (p *poster) ackedCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.acked)
}

func (p *poster) summary() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return fmt.Sprintf("%d acknowledged; retried: %d refused, %d shed (503 + Retry-After), %d reset before an answer; other errors %d %q",
		len(p.acked), p.refused, p.shed, p.resets, len(p.other), p.other)
}

func TestMultiNode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	addrs := []string{freeAddr(t), freeAddr(t), freeAddr(t)}
	addrB := freeAddr(t)
	// b.test's instance fetches a.test from node 2 (alice's key, once:
	// then it is cached); a.test's instance delivers to b.test.
	resolve := "a.test=" + addrs[1] + ",b.test=" + addrB
	a := startNode(t, "mna", addrs[0], resolve)
	b := startNode(t, "mnb", addrB, resolve)
	a.env = withEnv(a.env, "ROOST_LOG_LEVEL=info", "ROOST_DOMAIN_CACHE_TTL=1h", "ROOST_SHUTDOWN_GRACE=20s",
		// A killed worker's deliveries are taken over after 3 s.
		"ROOST_DELIVERY_CLAIM_IDLE=3s", "ROOST_DELIVERY_SWEEP_EVERY=1s")
	b.env = withEnv(b.env, "ROOST_LOG_LEVEL=info")
	a.run(t, "tenant", "create", "--name", "A", "--domain", "a.test")
	for _, u := range []string{"alice", "bob"} {
		a.run(t, "account", "create", "--domain", "a.test", "--username", u, "--email", u+"@a.test", "--password", testPassword)
	}
	b.run(t, "tenant", "create", "--name", "B", "--domain", "b.test")
	b.run(t, "account", "create", "--domain", "b.test", "--username", "carol", "--email", "carol@b.test", "--password", testPassword)

	var web, workers []*mnProc
	for i, addr := range addrs {
		web = append(web, startProc(t, fmt.Sprintf("serve %d", i+1), "serve", withEnv(a.env, "ROOST_HTTP_ADDR="+addr)))
	}
	for i := range 2 {
		workers = append(workers, startProc(t, fmt.Sprintf("work %d", i+1), "work", a.env))
	}
	startProc(t, "b serve", "serve", b.env)
	startProc(t, "b work", "work", b.env)
	for _, addr := range addrs {
		waitHTTP(t, "http://"+addr+"/users/alice", "a.test", 200)
	}
	waitHTTP(t, "http://"+addrB+"/users/carol", "b.test", 200)

	alice := signIn(t, addrs[0], "http://a.test", "alice@a.test", "read write follow")
	bob := signIn(t, addrs[0], "http://a.test", "bob@a.test", "read write follow")
	carol := signIn(t, addrB, "http://b.test", "carol@b.test", "read write follow")
	// One token, three nodes: a client of each.
	on := func(c *mastodon.Client, addr string) *mastodon.Client {
		cc := mastodon.NewClient(&mastodon.Config{Server: c.Config.Server, AccessToken: c.Config.AccessToken})
		cc.Client = hostClient(addr)
		return cc
	}
	me, err := alice.GetAccountCurrentUser(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := on(bob, addrs[1]).AccountFollow(ctx, me.ID); err != nil {
		t.Fatal(err)
	}
	found, err := carol.AccountsSearchResolve(ctx, "alice@a.test", 5, true)
	if err != nil || len(found) != 1 {
		t.Fatalf("carol resolving alice@a.test: %v %v", found, err)
	}
	if _, err := carol.AccountFollow(ctx, found[0].ID); err != nil {
		t.Fatal(err)
	}
	b.eventually(t, "accepted", `select f.state from follows f join accounts r on r.id = f.followee_id where r.uri = 'http://a.test/users/alice'`)

	t.Run("post on 1, home timeline on 2, streaming on 3", func(t *testing.T) {
		sctx, cancel := context.WithCancel(ctx)
		defer cancel()
		ch, err := wsClient(bob, addrs[2]).StreamingWSUser(sctx)
		if err != nil {
			t.Fatal(err)
		}
		bobWS := record(ch)
		alice1 := on(alice, addrs[0])
		// The WebSocket connects in the background: post until it hears.
		for i := 0; !bobWS.has(anyUpdate); i++ {
			if i == 100 {
				t.Fatalf("bob's stream on node 3 never heard a post: %s", bobWS)
			}
			if _, err := alice1.PostStatus(ctx, &mastodon.Toot{Status: fmt.Sprintf("warming up %d", i), Visibility: "public"}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond)
		}
		hello, err := alice1.PostStatus(ctx, &mastodon.Toot{Status: "Hello from node 1", Visibility: "public"})
		if err != nil {
			t.Fatal(err)
		}
		waitEvent(t, "update on node 3", bobWS, isUpdate(hello.ID))
		home, err := on(bob, addrs[1]).GetTimelineHome(ctx, nil)
		if err != nil || len(home) == 0 || home[0].ID != hello.ID {
			t.Fatalf("bob's home on node 2: %v %v", home, err)
		}
	})

	t.Run("a domain added through node 2 is served by node 1 long before its cache entry expires", func(t *testing.T) {
		// Node 1 has cached "not ours" for d.test (for an hour: the TTL).
		waitHTTP(t, "http://"+addrs[0]+"/users/dave", "d.test", 404)
		n2 := withEnv(a.env, "ROOST_HTTP_ADDR="+addrs[1])
		if code, _, stderr := roost(t, n2, "tenant", "create", "--name", "D", "--domain", "d.test"); code != 0 {
			t.Fatal(stderr)
		}
		if code, _, stderr := roost(t, n2, "account", "create", "--domain", "d.test", "--username", "dave",
			"--email", "dave@d.test", "--password", testPassword); code != 0 {
			t.Fatal(stderr)
		}
		// The invalidation is pushed, not waited out: anything well under
		// the hour-long TTL proves it, and 30 s holds on a busy machine
		// where one second did not (issue 15, finding 10).
		deadline := time.Now().Add(30 * time.Second)
		for {
			code, _ := rawGet(t, addrs[0], "d.test", "/users/dave", "")
			if code == 200 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node 1 still answers %d for d.test 30 s after it was added", code)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	// Everything alice posts under load must be readable afterwards and
	// reach carol on b.test.
	verify := func(t *testing.T, p *poster, exact bool) {
		t.Helper()
		p.mu.Lock()
		ids, uris := make([]string, 0, len(p.acked)), make([]string, 0, len(p.acked))
		for id, uri := range p.acked {
			ids, uris = append(ids, id), append(uris, uri)
		}
		p.mu.Unlock()
		if len(ids) < 20 {
			t.Fatalf("only %d posts acknowledged under load; the test proves little (%s)", len(ids), p.summary())
		}
		reader := on(alice, addrs[2])
		for _, id := range ids {
			if st, err := reader.GetStatus(ctx, mastodon.ID(id)); err != nil || string(st.ID) != id {
				t.Fatalf("acknowledged status %s unreadable: %v", id, err)
			}
		}
		conn, err := pgx.Connect(ctx, a.db)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var stored int
		if err := conn.QueryRow(ctx, `select count(*) from statuses where content like $1`, "%load "+p.tag+" number%").Scan(&stored); err != nil {
			t.Fatal(err)
		}
		// A retried post is stored once (Idempotency-Key). Under kill -9 a
		// post may commit before its key is remembered, and its retry is
		// then a second post: more, never fewer.
		if stored < len(ids) || (exact && stored != len(ids)) {
			t.Errorf("%d %s posts stored for %d acknowledged", stored, p.tag, len(ids))
		}
		b.eventually(t, fmt.Sprint(len(uris)), `select count(*) from statuses where uri = any($1)`, uris)
	}

	t.Run("kill -9 of a web node and a worker under load", func(t *testing.T) {
		p := newPoster(alice.Config.AccessToken, "kill", addrs...)
		lctx, stop := context.WithCancel(ctx)
		wg := p.run(lctx, 3)
		eventuallyTrue(t, "posts acknowledged before the kill", func() bool { return p.ackedCount() >= 15 })
		web[0].kill(t)
		workers[0].kill(t)
		before := p.ackedCount()
		eventuallyTrue(t, "posts acknowledged after the kill", func() bool { return p.ackedCount() >= before+30 })
		stop()
		wg.Wait()
		t.Log(p.summary())
		if len(p.other) > 0 {
			t.Fatalf("errors a retry could not repeat: %q", p.other)
		}
		verify(t, p, false)
		web[0].start(t)
		workers[0].start(t)
		waitHTTP(t, "http://"+addrs[0]+"/readyz", "", 200)
	})

	t.Run("rolling restart under load", func(t *testing.T) {
		p := newPoster(alice.Config.AccessToken, "roll", addrs...)
		lctx, stop := context.WithCancel(ctx)
		wg := p.run(lctx, 3)
		eventuallyTrue(t, "posts acknowledged before the restart", func() bool { return p.ackedCount() >= 10 })
		drained := 0 // requests answered after SIGTERM: in flight when it came
		for i, w := range web {
			w.stop(t)
			log := w.log.String()
			at := strings.LastIndex(log, "shutting down web node")
			if at < 0 {
				t.Fatalf("%s: no graceful shutdown in its log", w.name)
			}
			drained += strings.Count(log[at:], "route=/api/v1/statuses status=200")
			w.start(t)
			waitHTTP(t, "http://"+addrs[i]+"/readyz", "", 200)
			before := p.ackedCount()
			eventuallyTrue(t, "posts acknowledged after restarting "+w.name, func() bool { return p.ackedCount() >= before+5 })
		}
		for _, w := range workers {
			w.stop(t)
			w.start(t)
			before := p.ackedCount()
			eventuallyTrue(t, "posts acknowledged after restarting "+w.name, func() bool { return p.ackedCount() >= before+5 })
		}
		stop()
		wg.Wait()
		t.Logf("%s; %d posts were in flight at a SIGTERM and answered 200 during the drain", p.summary(), drained)
		p.mu.Lock()
		other := p.other
		p.mu.Unlock()
		// A connection can still be reset as a node stops (one queued on
		// a listener that closed, or a keep-alive connection closed as a
		// request arrived on it). Every post carries an Idempotency-Key
		// and is retried, and verify checks each acknowledged post was
		// stored exactly once; any error a client could not repeat fails
		// the test.
		if len(other) > 0 {
			t.Fatalf("a rolling restart dropped requests a retry could not repeat: %q", other)
		}
		verify(t, p, true)
	})
}

// Part (c) of the multi-node proof, apart because it needs Pebble and
// HTTPS listeners: three web nodes of one instance, a certificate obtained
// by node 1 from a real ACME CA is served by node 3 without a new order
// (certificates live in PostgreSQL, shared by every node), and by node 2,
// which answered the challenge.
func TestMultiNodeCertificate(t *testing.T) {
	t.Parallel()
	const ip1, ip2, ip3 = "127.0.0.5", "127.0.0.6", "127.0.0.7"
	base := []string{"ROOST_DATABASE_URL=" + testenv.DatabaseURL(t), "ROOST_REDIS_URL=" + testenv.RedisURL(),
		fmt.Sprintf("ROOST_REDIS_PREFIX=test:%d:mncert:", os.Getpid())}
	if code, _, stderr := roost(t, base, "tenant", "create", "--name", "A", "--domain", "a.test"); code != 0 {
		t.Fatal(stderr)
	}
	// a.test resolves to node 2: the node that answers the challenge is
	// not the one that asked.
	dnsAddr := startDNS(t, map[string]string{"a.test": ip2}, ip2)
	httpPort, tlsPort := sharedPorts(t, ip1, ip2, ip3)
	ca := startPebble(t, httpPort, tlsPort, dnsAddr)
	env := append(base, "ROOST_TLS=acme", "ROOST_ACME_CA="+ca.dir, "ROOST_ACME_CA_ROOT="+ca.caPEM,
		"ROOST_URL_SCHEME=https", "ROOST_PUBLIC_PORT="+strconv.Itoa(tlsPort), "ROOST_LOG_LEVEL=info")
	n1 := startTLSNode(t, env, ip1, httpPort, tlsPort, "http-01")
	n2 := startTLSNode(t, env, ip2, httpPort, tlsPort, "http-01")
	n3 := startTLSNode(t, env, ip3, httpPort, tlsPort, "http-01")
	roots := ca.issuingRoots(t)

	leaf1, err := n1.handshake("a.test", "", roots)
	if err != nil {
		t.Fatalf("a.test on node 1: %v", err)
	}
	if got := ca.orders(); got != 1 {
		t.Fatalf("%d orders for a.test, want 1", got)
	}
	for name, n := range map[string]*tlsNode{"node 3": n3, "node 2": n2} {
		leaf, err := n.handshake("a.test", "", roots)
		if err != nil {
			t.Fatalf("a.test on %s: %v", name, err)
		}
		if leaf.SerialNumber.Cmp(leaf1.SerialNumber) != 0 {
			t.Fatalf("%s served serial %v, node 1 obtained %v", name, leaf.SerialNumber, leaf1.SerialNumber)
		}
	}
	if got := ca.orders(); got != 1 {
		t.Fatalf("%d orders after nodes 2 and 3 served a.test, want 1", got)
	}
	if got := n3.metric(t, `roost_tls_orders_total{result="obtained"}`); got > 0 {
		t.Fatalf("node 3 obtained %v certificates itself", got)
	}
}
