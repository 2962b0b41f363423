package soak

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// client is a Mastodon app's HTTP client as people's apps behave: every
// write carries an Idempotency-Key (posts) or is idempotent by nature, and
// a request that failed in a way a retry may repeat — no answer, a 5xx, a
// 429 — is sent again, with the same key, to the next node, until it is
// acknowledged or giveUp passes (a liveness bound: no node answered).
type client struct {
	addrs []string
	next  atomic.Uint64
	hc    *http.Client
	// giveUp bounds the retries of one request.
	giveUp time.Duration
	// restoring, when set, reports that the harness is still bringing
	// back a server it stopped (devenv's restart, up to its bound): a
	// request does not give up meanwhile, nor for a minute after, since
	// a server down longer than the apps' retry budget is the harness's
	// failure (reported as such), not the cluster's. Set before the
	// workload starts.
	restoring func() bool

	retryable atomic.Int64 // attempts that failed and were retried
	ops       atomic.Int64 // requests sent (first attempts)

	mu  sync.Mutex
	lat []sample
}

// sample is one request's outcome: latency from when it was due (open
// loop: a stall is charged to every request queued behind it), and the
// attempts that failed before it, by what they saw.
type sample struct {
	due, done time.Time
	lat       time.Duration
	ok        bool
	failed    map[string]int
}

func newClient(addrs []string, giveUp time.Duration) *client {
	return &client{addrs: addrs, giveUp: giveUp, hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConnsPerHost: 64, IdleConnTimeout: 20 * time.Second,
		DialContext: (&net.Dialer{Timeout: 3 * time.Second}).DialContext}}}
}

// call is one API request.
type call struct {
	method, path string
	domain       string // Host
	token        string
	form         url.Values
	body         []byte    // a raw body (multipart uploads), sent again as is on a retry
	ctype        string    // its Content-Type
	key          string    // Idempotency-Key
	addr         string    // a fixed node (remote servers' own); "" round robin
	due          time.Time // when the open-loop schedule wanted it sent
}

// reply is a final answer.
type reply struct {
	status   int
	body     []byte
	attempts int
}

func (r reply) ok() bool { return r.status >= 200 && r.status < 300 }

// do sends c until it gets a final answer: a 2xx, or a 4xx other than
// 429. A transport error, 5xx or 429 is retried after a short pause (the
// Retry-After, at most 2 s).
func (cl *client) do(ctx context.Context, c call) (reply, error) {
	cl.ops.Add(1)
	if c.due.IsZero() {
		c.due = time.Now()
	}
	stop := time.Now().Add(cl.giveUp)
	var last string
	var failed map[string]int
	for attempt := 1; ; attempt++ {
		addr := c.addr
		if addr == "" {
			addr = cl.addrs[cl.next.Add(1)%uint64(len(cl.addrs))]
		}
		status, body, retryAfter, err := cl.once(ctx, addr, c)
		if err == nil && status != 429 && status < 500 {
			cl.record(c.due, status >= 200 && status < 300, failed)
			return reply{status: status, body: body, attempts: attempt}, nil
		}
		if err != nil {
			last = err.Error()
		} else {
			last = fmt.Sprintf("%d %s", status, clip(string(body), 160))
		}
		if failed == nil {
			failed = map[string]int{}
		}
		failed[failure(status, err)]++
		if cl.restoring != nil && cl.restoring() {
			if later := time.Now().Add(time.Minute); later.After(stop) {
				stop = later
			}
		}
		if ctx.Err() != nil || time.Now().After(stop) {
			cl.record(c.due, false, failed)
			return reply{attempts: attempt}, fmt.Errorf("%s %s on %s: no answer a retry could end after %d attempts: %s",
				c.method, c.path, c.domain, attempt, last)
		}
		cl.retryable.Add(1)
		pause := 100 * time.Millisecond * time.Duration(min(attempt, 10))
		if retryAfter > 0 {
			pause = min(retryAfter, 2*time.Second)
		}
		time.Sleep(pause)
	}
}

func (cl *client) once(ctx context.Context, addr string, c call) (int, []byte, time.Duration, error) {
	var body io.Reader
	if c.form != nil {
		body = strings.NewReader(c.form.Encode())
	} else if c.body != nil {
		body = bytes.NewReader(c.body)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, "http://"+addr+c.path, body)
	if err != nil {
		return 0, nil, 0, err
	}
	req.Host = c.domain
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else if c.ctype != "" {
		req.Header.Set("Content-Type", c.ctype)
	}
	if c.key != "" {
		req.Header.Set("Idempotency-Key", c.key)
	}
	resp, err := cl.hc.Do(req)
	if err != nil {
		return 0, nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return 0, nil, 0, err
	}
	ra, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	return resp.StatusCode, b, time.Duration(ra) * time.Second, nil
}

func (cl *client) record(due time.Time, ok bool, failed map[string]int) {
	now := time.Now()
	cl.mu.Lock()
	cl.lat = append(cl.lat, sample{due: due, done: now, lat: now.Sub(due), ok: ok, failed: failed})
	cl.mu.Unlock()
}

// failure names what a failed attempt saw, for the per-fault summary.
func failure(status int, err error) string {
	switch {
	case err == nil:
		return strconv.Itoa(status)
	case strings.Contains(err.Error(), "connection refused"):
		return "refused"
	case strings.Contains(err.Error(), "reset"), strings.Contains(err.Error(), "EOF"):
		return "reset"
	case strings.Contains(err.Error(), "Timeout"), strings.Contains(err.Error(), "deadline"):
		return "timeout"
	}
	return "other"
}

func (cl *client) samples() []sample {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return append([]sample(nil), cl.lat...)
}

// apiStatus is what the soak reads of a Mastodon status entity.
type apiStatus struct {
	ID         string `json:"id"`
	URI        string `json:"uri"`
	Content    string `json:"content"`
	Visibility string `json:"visibility"`
	Account    struct {
		ID   string `json:"id"`
		Acct string `json:"acct"`
	} `json:"account"`
	Mentions []struct {
		Acct string `json:"acct"`
	} `json:"mentions"`
	Reblog           *apiStatus `json:"reblog"`
	MediaAttachments []struct {
		ID  string `json:"id"`
		URL string `json:"url"`
	} `json:"media_attachments"`
}

func decode[T any](b []byte) (T, error) {
	var v T
	err := json.Unmarshal(b, &v)
	return v, err
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
