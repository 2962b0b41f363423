package soak

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// proc is one roost process the soak kills, stops and starts again.
type proc struct {
	name, cmd, addr string
	exe             string
	env             []string
	log             *ring

	mu       sync.Mutex
	c        *exec.Cmd
	done     chan struct{}
	held     bool // down on purpose (a fault): the supervisor leaves it
	restarts int  // by the supervisor
}

// hold marks the process down on purpose, or not.
func (p *proc) hold(down bool) {
	p.mu.Lock()
	p.held = down
	p.mu.Unlock()
}

// supervise starts again, every second, any process that exited without
// a fault holding it down — as systemd or Kubernetes would: a node that
// cannot reach PostgreSQL at start exits, and its supervisor retries.
func supervise(ctx context.Context, procs []*proc) {
	for ctx.Err() == nil {
		time.Sleep(time.Second)
		for _, p := range procs {
			p.mu.Lock()
			down := !p.held && p.done != nil && isClosed(p.done)
			if down {
				p.restarts++
			}
			p.mu.Unlock()
			if down {
				_ = p.start() // fails only if the binary is gone; the next round retries
			}
		}
	}
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := exec.Command(p.exe, p.cmd)
	c.Env = p.env
	c.Stdout, c.Stderr = p.log, p.log
	if err := c.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	go func() { _ = c.Wait(); close(done) }() // the exit status is the log's to tell
	p.c, p.done = c, done
	return nil
}

func (p *proc) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// signal sends sig and waits for the exit (SIGKILL after a minute).
func (p *proc) signal(sig syscall.Signal) {
	p.mu.Lock()
	c, done := p.c, p.done
	p.mu.Unlock()
	if c == nil {
		return
	}
	_ = c.Process.Signal(sig) // an exited process: nothing to do
	select {
	case <-done:
	case <-time.After(time.Minute):
		_ = c.Process.Kill()
		<-done
	}
}

// ring keeps the last 64 KB a process wrote, for failure reports.
type ring struct {
	mu  sync.Mutex
	buf []byte
}

func (r *ring) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.buf = append(r.buf, b...)
	if len(r.buf) > 64<<10 {
		r.buf = append([]byte(nil), r.buf[len(r.buf)-32<<10:]...)
	}
	return len(b), nil
}

func (r *ring) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return string(r.buf)
}

// freeAddr returns a loopback address nobody listens on now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// baseEnv is the process environment without any ROOST_ variable of the
// caller's: the soak's processes see only the settings it gives them.
func baseEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ROOST_") {
			out = append(out, kv)
		}
	}
	return out
}

// balancer is the front door of the cluster's web nodes for the remote
// servers and the soak's own signed inbox traffic, as a load balancer
// with health checks would be: round robin, and a request whose
// connection was refused (a node down) is sent to the next node. Bodies
// are buffered (at most 1 MB, fiber's own limit) so that a refused one
// can be sent again.
type balancer struct {
	addrs []string
	next  atomic.Uint64
	tr    *http.Transport
	srv   *http.Server
	Addr  string
}

func newBalancer(addrs []string) (*balancer, error) {
	b := &balancer{addrs: addrs, tr: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second,
		DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b.Addr = l.Addr().String()
	b.srv = &http.Server{Handler: b, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = b.srv.Serve(l) }() // ends with Close
	return b, nil
}

func (b *balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "body", http.StatusBadRequest)
		return
	}
	for range len(b.addrs) {
		addr := b.addrs[b.next.Add(1)%uint64(len(b.addrs))]
		out := r.Clone(r.Context())
		out.URL.Scheme, out.URL.Host, out.RequestURI = "http", addr, ""
		out.Body = io.NopCloser(bytes.NewReader(body))
		resp, err := b.tr.RoundTrip(out)
		if err != nil {
			if errors.Is(err, syscall.ECONNREFUSED) {
				continue
			}
			http.Error(w, "upstream: "+err.Error(), http.StatusBadGateway)
			return
		}
		copyResponse(w, resp)
		return
	}
	http.Error(w, "no web node up", http.StatusServiceUnavailable)
}

func copyResponse(w http.ResponseWriter, resp *http.Response) {
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body) // the client may have gone
}

func (b *balancer) close() { _ = b.srv.Close() }

// frontDoor stands before a remote Roost node and counts, per (inbox
// path, activity id), the deliveries it accepted (2xx): the remote's
// inbox deduplicates, so only here can a second send be seen.
type frontDoor struct {
	Addr string
	srv  *http.Server
	rp   *httputil.ReverseProxy

	mu       sync.Mutex
	accepted map[string]int
}

func newFrontDoor(upstream string) (*frontDoor, error) {
	f := &frontDoor{accepted: map[string]int{}}
	f.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme, pr.Out.URL.Host = "http", upstream
			pr.Out.Host = pr.In.Host // the tenant's name: signatures cover it
		},
		Transport: &http.Transport{MaxIdleConnsPerHost: 32, IdleConnTimeout: 30 * time.Second,
			DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			http.Error(w, err.Error(), http.StatusBadGateway)
		},
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f.Addr = l.Addr().String()
	f.srv = &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = f.srv.Serve(l) }() // ends with Close
	return f, nil
}

func (f *frontDoor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/inbox") {
		f.rp.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "body", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	rec := &statusRecorder{ResponseWriter: w}
	f.rp.ServeHTTP(rec, r)
	if rec.status >= 200 && rec.status < 300 {
		key := r.Host + r.URL.Path + " " + activityID(body)
		f.mu.Lock()
		f.accepted[key]++
		f.mu.Unlock()
	}
}

func (f *frontDoor) count(inboxURL, activity string) int {
	key := strings.TrimPrefix(strings.TrimPrefix(inboxURL, "http://"), "https://") + " " + activity
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.accepted[key]
}

func (f *frontDoor) close() { _ = f.srv.Close() }

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = 200
	}
	return s.ResponseWriter.Write(b)
}

// waitReady polls a node's /readyz (a liveness bound of a minute).
func waitReady(ctx context.Context, c *http.Client, addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/readyz", nil)
		if resp, err := c.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s not ready within %s", addr, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
