package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// hammer is a closed-loop HTTP/1.1 load generator, as wrk is: conns
// keep-alive connections to addr, each sending the same request again as
// soon as the previous answer has been read, for a fixed time. The
// request is serialised once; a connection the server closes is dialled
// again.
type hammer struct {
	addr  string
	req   []byte // the serialised request
	conns int
	// dial opens a connection (net.Dial on addr when nil); tests inject
	// one.
	dial func() (net.Conn, error)
}

// hammerResult is one run: answers by status, the latency of each 200.
type hammerResult struct {
	ok      []time.Duration
	errors  int
	status  map[int]int
	elapsed time.Duration
}

// newHammer serialises r (Host and headers as set) for conns
// connections to addr.
func newHammer(addr string, r *http.Request, conns int) (*hammer, error) {
	var b bytes.Buffer
	if err := r.Write(&b); err != nil {
		return nil, err
	}
	return &hammer{addr: addr, req: b.Bytes(), conns: max(conns, 1)}, nil
}

func (h *hammer) connect() (net.Conn, error) {
	if h.dial != nil {
		return h.dial()
	}
	return net.DialTimeout("tcp", h.addr, 5*time.Second)
}

// run loads the server for d and returns what it answered. Latency runs
// from writing the request to reading the last byte of the answer.
func (h *hammer) run(d time.Duration) *hammerResult {
	type part struct {
		ok     []time.Duration
		errors int
		status map[int]int
	}
	parts := make([]part, h.conns)
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for i := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := &parts[i]
			p.status = map[int]int{}
			p.ok = make([]time.Duration, 0, 4096)
			var c net.Conn
			var br *bufio.Reader
			defer func() {
				if c != nil {
					c.Close()
				}
			}()
			for time.Now().Before(deadline) {
				if c == nil {
					var err error
					if c, err = h.connect(); err != nil {
						p.errors++
						time.Sleep(10 * time.Millisecond) // a refusing server is not spun on
						continue
					}
					br = bufio.NewReaderSize(c, 64<<10)
				}
				t0 := time.Now()
				code, keep, err := h.once(c, br, deadline)
				if err != nil {
					p.errors++
					c.Close()
					c = nil
					continue
				}
				p.status[code]++
				if code == http.StatusOK {
					p.ok = append(p.ok, time.Since(t0))
				} else {
					p.errors++
				}
				if !keep {
					c.Close()
					c = nil
				}
			}
		}()
	}
	wg.Wait()
	res := &hammerResult{status: map[int]int{}, elapsed: time.Since(start)}
	for _, p := range parts {
		res.ok = append(res.ok, p.ok...)
		res.errors += p.errors
		for k, v := range p.status {
			res.status[k] += v
		}
	}
	return res
}

// once sends the request on c and reads the whole answer: its status and
// whether the connection may carry another.
func (h *hammer) once(c net.Conn, br *bufio.Reader, deadline time.Time) (int, bool, error) {
	if err := c.SetDeadline(deadline.Add(30 * time.Second)); err != nil {
		return 0, false, err
	}
	if _, err := c.Write(h.req); err != nil {
		return 0, false, err
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return 0, false, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, false, err
	}
	return resp.StatusCode, !resp.Close, nil
}

// runStats are one server's figures on one endpoint.
type runStats struct {
	RPS      float64 `json:"rps"`
	P50      float64 `json:"p50_ms"`
	P99      float64 `json:"p99_ms"`
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	// Load1 is the machine's 1-minute load average as the run started.
	Load1 string `json:"loadavg"`
	// Status counts the answers that were not 200, by status (0: a
	// transport error), so a failing endpoint says why.
	Status map[string]int `json:"non_200,omitempty"`
}

// stats summarises a run: only 200s count as served.
func (r *hammerResult) stats(load1 string) runStats {
	s := runStats{Requests: len(r.ok), Errors: r.errors, Load1: load1}
	if r.elapsed > 0 {
		s.RPS = round1(float64(len(r.ok)) / r.elapsed.Seconds())
	}
	s.P50, s.P99 = pct(r.ok, 50), pct(r.ok, 99)
	for code, n := range r.status {
		if code != http.StatusOK {
			if s.Status == nil {
				s.Status = map[string]int{}
			}
			s.Status[fmt.Sprint(code)] += n
		}
	}
	return s
}
