package streaming

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// event is one message heard on a channel, queued for a connection.
type event struct {
	channel string // without the prefix
	message
}

// listener is a connection as the hub sees it.
type listener interface {
	// deliver queues ev without blocking; false means the connection's
	// buffer is full (it is being closed).
	deliver(ev event) bool
	// stop closes the connection (the node is shutting down).
	stop()
}

// Hub is a node's one Redis subscription, shared by every streaming
// connection on the node: it subscribes to a channel while at least one
// connection needs it and fans each message out in process.
type Hub struct {
	redis  goredis.UniversalClient
	prefix string
	log    *slog.Logger
	ps     *goredis.PubSub

	ops sync.Mutex // orders SUBSCRIBE and UNSUBSCRIBE commands as decided
	mu  sync.Mutex
	// subs counts each listener's subscriptions to a channel (prefixed).
	subs      map[string]map[listener]int
	confirmed map[string]bool
	waiting   map[string][]chan struct{}
	ctx       context.Context
	done      bool
	// resetHeard: Redis confirmed the subscription to resetChannel.
	resetHeard bool

	// down is set while Redis does not answer (watch): connections were
	// dropped and new ones are refused 503 until it answers again.
	down atomic.Bool
	// pingEvery spaces watch's pings (defaultPingEvery when 0).
	pingEvery time.Duration
	// beforeSubscribe, when set (tests), runs as subscribe begins.
	beforeSubscribe func()
}

// defaultPingEvery is how often a hub asks Redis whether it is there.
// Events published while Redis is away are lost to the connections,
// so the sooner they are dropped, the sooner apps reconnect and page.
const defaultPingEvery = 2 * time.Second

// WhyRedisDown is why connections are dropped when the node loses Redis
// (or finds its subscription was re-established): the events published
// meanwhile never reached them, so they end, and apps reconnect and catch
// up by paging, as after any disconnection.
const WhyRedisDown = "streaming interrupted: events may have been missed; reconnect"

// NewHub makes a hub on client; channels are prefix + stream keys. Run it.
func NewHub(client goredis.UniversalClient, prefix string, log *slog.Logger) *Hub {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// The reset channel is heard for the hub's whole life (resubscribed
	// by go-redis after a reconnection, like every other channel).
	return &Hub{
		redis: client, prefix: prefix, log: log, ps: client.Subscribe(context.Background(), prefix+resetChannel),
		subs: map[string]map[listener]int{}, confirmed: map[string]bool{}, waiting: map[string][]chan struct{}{},
		ctx: context.Background(),
	}
}

// Run receives from Redis until ctx ends, then closes every connection.
// The subscription reconnects by itself (and resubscribes); messages
// published meanwhile are lost, as on Mastodon.
func (h *Hub) Run(ctx context.Context) {
	h.mu.Lock()
	h.ctx = ctx
	h.mu.Unlock()
	ch := h.ps.ChannelWithSubscriptions(goredis.WithChannelSize(1024), goredis.WithChannelSendTimeout(time.Second))
	defer h.shutdown()
	go h.watch(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			switch m := m.(type) {
			case *goredis.Subscription:
				h.subscription(m)
			case *goredis.Message:
				h.dispatch(m)
			}
		}
	}
}

func (h *Hub) shutdown() {
	h.mu.Lock()
	h.done = true
	var all []listener
	seen := map[listener]bool{}
	for _, ls := range h.subs {
		for l := range ls {
			if !seen[l] {
				seen[l] = true
				all = append(all, l)
			}
		}
	}
	for _, ws := range h.waiting {
		for _, w := range ws {
			close(w)
		}
	}
	h.waiting = map[string][]chan struct{}{}
	h.mu.Unlock()
	h.ps.Close()
	for _, l := range all {
		l.stop()
	}
}

// context is the hub's lifetime: connections end with it.
func (h *Hub) context() context.Context {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ctx
}

func (h *Hub) subscription(s *goredis.Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.Channel == h.prefix+resetChannel {
		h.resetHeard = s.Kind == "subscribe" // no connection listens on it
		return
	}
	switch s.Kind {
	case "subscribe":
		if h.confirmed[s.Channel] {
			// Confirmed twice: the subscription was lost and re-made
			// (Redis restarted or the connection broke), and what was
			// published in between never arrived.
			go h.drop(s.Channel)
		}
		h.confirmed[s.Channel] = true
		for _, w := range h.waiting[s.Channel] {
			close(w)
		}
		delete(h.waiting, s.Channel)
	case "unsubscribe":
		delete(h.confirmed, s.Channel)
	}
}

func (h *Hub) dispatch(m *goredis.Message) {
	if m.Channel == h.prefix+resetChannel {
		h.log.Info("streaming: events were lost upstream; dropping connections so apps catch up")
		go h.drop("") // never blocks the receive loop
		return
	}
	var msg message
	if err := json.Unmarshal([]byte(m.Payload), &msg); err != nil || !knownEvents[msg.Event] {
		return
	}
	ev := event{channel: m.Channel[min(len(h.prefix), len(m.Channel)):], message: msg}
	h.mu.Lock()
	ls := make([]listener, 0, len(h.subs[m.Channel]))
	for l := range h.subs[m.Channel] {
		ls = append(ls, l)
	}
	h.mu.Unlock()
	for _, l := range ls {
		l.deliver(ev) // a full buffer closes that connection, never waits
	}
}

// subscribe adds l to channels (unprefixed) and waits, a bounded time,
// for Redis to confirm the new ones, so that what follows is heard.
func (h *Hub) subscribe(ctx context.Context, l listener, channels ...string) error {
	if h.beforeSubscribe != nil {
		h.beforeSubscribe()
	}
	h.ops.Lock()
	h.mu.Lock()
	if h.done {
		h.mu.Unlock()
		h.ops.Unlock()
		return context.Canceled
	}
	var fresh []string
	var waits []chan struct{}
	for _, c := range channels {
		c = h.prefix + c
		ls := h.subs[c]
		if ls == nil {
			ls = map[listener]int{}
			h.subs[c] = ls
			fresh = append(fresh, c)
		}
		ls[l]++
		if !h.confirmed[c] {
			w := make(chan struct{})
			h.waiting[c] = append(h.waiting[c], w)
			waits = append(waits, w)
		}
	}
	h.mu.Unlock()
	var err error
	if len(fresh) > 0 {
		err = h.ps.Subscribe(ctx, fresh...) // remembered and resubscribed even on error
	}
	h.ops.Unlock()
	if err != nil {
		h.log.Warn("streaming: Redis subscribe failed; will retry on reconnect", "err", err)
	}
	timeout := time.NewTimer(5 * time.Second)
	defer timeout.Stop()
	for _, w := range waits {
		select {
		case <-w:
		case <-timeout.C:
			return nil // best effort: it is subscribed as soon as Redis answers
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// unsubscribe removes l from channels (unprefixed); nil channels means all
// of l's.
func (h *Hub) unsubscribe(l listener, channels ...string) {
	h.ops.Lock()
	defer h.ops.Unlock()
	h.mu.Lock()
	if channels == nil {
		for c, ls := range h.subs {
			if n := ls[l]; n > 0 {
				for range n {
					channels = append(channels, c[len(h.prefix):])
				}
			}
		}
	}
	var gone []string
	for _, c := range channels {
		c = h.prefix + c
		ls := h.subs[c]
		if ls[l] == 0 {
			continue
		}
		if ls[l]--; ls[l] == 0 {
			delete(ls, l)
		}
		if len(ls) == 0 {
			delete(h.subs, c)
			gone = append(gone, c)
		}
	}
	done := h.done
	h.mu.Unlock()
	if len(gone) > 0 && !done {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.ps.Unsubscribe(ctx, gone...); err != nil {
			h.log.Debug("streaming: Redis unsubscribe failed", "err", err)
		}
	}
}

// channels reports how many channels the node is subscribed to and how
// many connections listen (for tests and metrics).
func (h *Hub) channels() (channels, listeners int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	seen := map[listener]bool{}
	for _, ls := range h.subs {
		for l := range ls {
			seen[l] = true
		}
	}
	return len(h.subs), len(seen)
}

// Available reports whether the hub hears Redis; while it does not, new
// streaming connections are refused 503 with Retry-After.
func (h *Hub) Available() bool { return !h.down.Load() }

// watch pings Redis until ctx ends. When a ping fails every connection is
// dropped (WhyRedisDown) and new ones refused; when Redis answers again
// connections are taken again.
func (h *Hub) watch(ctx context.Context) {
	every := h.pingEvery
	if every <= 0 {
		every = defaultPingEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, every)
		err := h.redis.Ping(pctx).Err()
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil && !h.down.Swap(true):
			h.log.Warn("streaming: Redis is unavailable; dropping connections and refusing new ones until it answers", "err", err)
			h.drop("")
		case err == nil && h.down.Swap(false):
			h.log.Info("streaming: Redis answers again; taking connections")
		}
	}
}

// drop ends the connections listening on channel (prefixed), or on any
// channel when channel is "".
func (h *Hub) drop(channel string) {
	h.mu.Lock()
	seen := map[listener]bool{}
	var ls []listener
	for c, m := range h.subs {
		if channel != "" && c != channel {
			continue
		}
		for l := range m {
			if !seen[l] {
				seen[l] = true
				ls = append(ls, l)
			}
		}
	}
	h.mu.Unlock()
	for _, l := range ls {
		if d, ok := l.(interface{ drop(why string) }); ok {
			d.drop(WhyRedisDown)
		} else {
			l.stop()
		}
	}
}
