package soak

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
)

// streamer is a client of one account's user stream, as an app keeps
// one: over WebSocket, or server-sent events (sse) as a browser's
// EventSource does. It connects to any node, records every update, and
// when the connection drops (a node killed or stopped) connects again
// and catches up by paging the home timeline back to the last status it
// had seen.
type streamer struct {
	u     *localUser
	w     *world
	sse   bool
	first time.Time // first connected

	mu       sync.Mutex
	seen     map[string]string // status id → how: "stream" or "paging"
	drops    int
	maxSeen  int64
	connects int
}

type streams struct {
	list   []*streamer
	cancel context.CancelFunc
	wg     sync.WaitGroup
	end    time.Time
}

// startStreams connects a streaming client for up to eight accounts,
// every other one by server-sent events, and waits (a bounded while)
// until each has connected once.
func (w *world) startStreams(ctx context.Context) *streams {
	sctx, cancel := context.WithCancel(ctx)
	s := &streams{cancel: cancel}
	for i := 0; i < len(w.locals) && len(s.list) < 8; i += max(1, len(w.locals)/8) {
		st := &streamer{u: w.locals[i], w: w, sse: len(s.list)%2 == 1, seen: map[string]string{}}
		s.list = append(s.list, st)
		s.wg.Add(1)
		go func() { defer s.wg.Done(); st.run(sctx) }()
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, st := range s.list {
		for time.Now().Before(deadline) {
			st.mu.Lock()
			ok := !st.first.IsZero()
			st.mu.Unlock()
			if ok {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return s
}

// counts are the clients and their connections so far, by transport:
// "websocket" and "sse" clients, "websocket_connects" and "sse_connects".
func (s *streams) counts() map[string]int {
	out := map[string]int{"websocket": 0, "sse": 0, "websocket_connects": 0, "sse_connects": 0}
	for _, st := range s.list {
		st.mu.Lock()
		out[st.kind()]++
		out[st.kind()+"_connects"] += st.connects
		st.mu.Unlock()
	}
	return out
}

func (s *streams) stop() {
	s.end = time.Now()
	s.cancel()
	s.wg.Wait()
}

// kind names the client's transport, for the progress line and result.
func (st *streamer) kind() string {
	if st.sse {
		return "sse"
	}
	return "websocket"
}

// conn is one streaming connection: read records updates until it ends.
type conn interface {
	read(st *streamer)
	Close() error
}

func (st *streamer) run(ctx context.Context) {
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	// Server-sent events: one long response, so no overall timeout (a
	// dropped node ends the body); the head must come within 5 s.
	hc := &http.Client{Transport: &http.Transport{ResponseHeaderTimeout: 5 * time.Second, DisableKeepAlives: true,
		DialContext: (&net.Dialer{Timeout: 3 * time.Second}).DialContext}}
	for n := 0; ctx.Err() == nil; n++ {
		addr := st.w.cl.addrs[(n+int(st.u.id))%len(st.w.cl.addrs)]
		var conn conn
		var err error
		if st.sse {
			conn, err = dialSSE(ctx, hc, addr, st.u.domain, st.u.token)
		} else {
			h := http.Header{"Host": {st.u.domain}, "Authorization": {"Bearer " + st.u.token}}
			var c *websocket.Conn
			if c, _, err = d.DialContext(ctx, "ws://"+addr+"/api/v1/streaming?stream=user", h); err == nil {
				conn = wsConn{c}
			}
		}
		if err != nil {
			time.Sleep(300 * time.Millisecond)
			continue
		}
		st.mu.Lock()
		st.connects++
		reconnect := !st.first.IsZero()
		if !reconnect {
			st.first = time.Now()
		}
		st.mu.Unlock()
		if reconnect && !st.catchUp(ctx) {
			// Paging failed (the cluster too busy for the client's whole
			// retry budget): an app would not carry on as if caught up.
			// Connect again and page again.
			_ = conn.Close()
			continue
		}
		stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
		conn.read(st)
		stop()
		_ = conn.Close()
		if ctx.Err() == nil {
			st.mu.Lock()
			st.drops++
			st.mu.Unlock()
		}
	}
}

type wsConn struct{ *websocket.Conn }

// read records update events until the connection ends.
func (c wsConn) read(st *streamer) {
	for {
		_, msg, err := c.ReadMessage()
		if err != nil {
			return
		}
		var ev struct {
			Event   string `json:"event"`
			Payload string `json:"payload"`
		}
		if json.Unmarshal(msg, &ev) != nil || ev.Event != "update" {
			continue
		}
		st.update(ev.Payload)
	}
}

// update records one update event's status.
func (st *streamer) update(payload string) {
	var s apiStatus
	if json.Unmarshal([]byte(payload), &s) != nil {
		return
	}
	st.w.checkVisible(st.u, s, "its user stream ("+st.kind()+")")
	st.note(s.ID, "stream")
}

// sseConn is a server-sent event stream: GET /api/v1/streaming/user with
// the bearer token, answered 200 once the stream is subscribed.
type sseConn struct{ body io.ReadCloser }

func dialSSE(ctx context.Context, hc *http.Client, addr, domain, token string) (conn, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/api/v1/streaming/user", nil)
	if err != nil {
		return nil, err
	}
	req.Host = domain
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		resp.Body.Close()
		return nil, fmt.Errorf("streaming answered %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return sseConn{resp.Body}, nil
}

func (c sseConn) Close() error { return c.body.Close() }

// read parses the event stream (the WHATWG rules an EventSource follows:
// fields until a blank line dispatch an event; data lines join with a
// newline; a line starting with a colon is a comment) and records update
// events until it ends.
func (c sseConn) read(st *streamer) {
	sc := bufio.NewScanner(c.body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var event string
	var data []string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if event == "update" && len(data) > 0 {
				st.update(strings.Join(data, "\n"))
			}
			event, data = "", nil
		case strings.HasPrefix(line, ":"):
		default:
			field, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch field {
			case "event":
				event = value
			case "data":
				data = append(data, value)
			}
		}
	}
}

func (st *streamer) note(id, how string) {
	n, _ := strconv.ParseInt(id, 10, 64)
	st.mu.Lock()
	defer st.mu.Unlock()
	if _, ok := st.seen[id]; !ok {
		st.seen[id] = how
	}
	st.maxSeen = max(st.maxSeen, n)
}

// catchUp pages the home timeline from the newest status back past the
// last one it had seen (and one page more: a status committed late may
// sort below it); false when a page could not be read.
func (st *streamer) catchUp(ctx context.Context) bool {
	st.mu.Lock()
	floor := st.maxSeen
	st.mu.Unlock()
	path := "/api/v1/timelines/home?limit=40"
	extra := 1
	for page := 0; page < 20; page++ {
		r, err := st.w.cl.do(ctx, call{method: "GET", path: path, domain: st.u.domain, token: st.u.token})
		if err != nil || !r.ok() {
			return false
		}
		sts, err := decode[[]apiStatus](r.body)
		if err != nil {
			return false
		}
		if len(sts) == 0 {
			return true
		}
		for _, s := range sts {
			st.w.checkVisible(st.u, s, "its home timeline (catching up)")
			st.note(s.ID, "paging")
		}
		last, _ := strconv.ParseInt(sts[len(sts)-1].ID, 10, 64)
		if last <= floor {
			if extra == 0 {
				return true
			}
			extra--
		}
		path = "/api/v1/timelines/home?limit=40&max_id=" + sts[len(sts)-1].ID
	}
	return true
}
