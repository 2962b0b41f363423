package soak

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
)

// streamer is a WebSocket client of one account's user stream, as an app
// keeps one: it connects to any node, records every update, and when the
// connection drops (a node killed or stopped) connects again and catches
// up by paging the home timeline back to the last status it had seen.
type streamer struct {
	u     *localUser
	w     *world
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

// startStreams connects a streaming client for up to eight accounts and
// waits (a bounded while) until each has connected once.
func (w *world) startStreams(ctx context.Context) *streams {
	sctx, cancel := context.WithCancel(ctx)
	s := &streams{cancel: cancel}
	for i := 0; i < len(w.locals) && len(s.list) < 8; i += max(1, len(w.locals)/8) {
		st := &streamer{u: w.locals[i], w: w, seen: map[string]string{}}
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

func (s *streams) stop() {
	s.end = time.Now()
	s.cancel()
	s.wg.Wait()
}

func (st *streamer) run(ctx context.Context) {
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	for n := 0; ctx.Err() == nil; n++ {
		addr := st.w.cl.addrs[(n+int(st.u.id))%len(st.w.cl.addrs)]
		h := http.Header{"Host": {st.u.domain}, "Authorization": {"Bearer " + st.u.token}}
		conn, _, err := d.DialContext(ctx, "ws://"+addr+"/api/v1/streaming?stream=user", h)
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
		st.read(conn)
		stop()
		_ = conn.Close()
		if ctx.Err() == nil {
			st.mu.Lock()
			st.drops++
			st.mu.Unlock()
		}
	}
}

// read records update events until the connection ends.
func (st *streamer) read(conn *websocket.Conn) {
	for {
		_, msg, err := conn.ReadMessage()
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
		var s apiStatus
		if json.Unmarshal([]byte(ev.Payload), &s) != nil {
			continue
		}
		st.w.checkVisible(st.u, s, "its user stream")
		st.note(s.ID, "stream")
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
