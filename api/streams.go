package api

import (
	"net/netip"
	"sync"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// StreamLimits bound the streaming connections (api/streaming) of one
// node. A streaming connection holds a file descriptor, two goroutines
// and its buffers for as long as the client keeps it open, so it is
// counted from its handshake until it ends. Zero: no bound.
type StreamLimits struct {
	// Node bounds the connections open on this node at once; past it a
	// handshake is answered 503, as a shed request is.
	Node int
	// PerIP bounds one client address's connections (an IPv6 address is
	// counted by its /64, what one subscriber is usually given); past it
	// 429.
	PerIP int
	// PerToken bounds one access token's connections, as Mastodon's
	// streaming server does; past it 429.
	PerToken int
}

// streamGate is the long-lived half of the node's in-flight budget
// (shed.go): requests are bounded by MaxInflight, and a streaming
// handshake is one of them; the connection it opens is then counted
// here, against StreamLimits, until it ends. It implements
// streaming.Gate.
type streamGate struct {
	lim     StreamLimits
	mu      sync.Mutex
	open    int
	byIP    map[netip.Prefix]int
	byToken map[string]int
	refused *prometheus.CounterVec
}

func newStreamGate(lim StreamLimits, reg prometheus.Registerer) *streamGate {
	g := &streamGate{lim: lim, byIP: map[netip.Prefix]int{}, byToken: map[string]int{}}
	if reg != nil {
		g.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roost_streaming_refused_total",
			Help: "Streaming connections refused at their handshake, by the limit reached (node, ip or token).",
		}, []string{"limit"})
		reg.MustRegister(g.refused, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "roost_streaming_connections",
			Help: "Streaming connections (server-sent events and WebSockets) open on this node.",
		}, func() float64 { return float64(g.count()) }), prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "roost_streaming_connections_max",
			Help: "ROOST_STREAMING_MAX of this node (0: no bound).",
		}, func() float64 { return float64(lim.Node) }))
	}
	return g
}

func (g *streamGate) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.open
}

// The refusals: clear messages, JSON bodies by the app's error handler;
// the streaming handler adds Retry-After.
var (
	errStreamsNode  = fiber.NewError(fiber.StatusServiceUnavailable, "the server is busy; try again")
	errStreamsIP    = fiber.NewError(fiber.StatusTooManyRequests, "Too many streaming connections from this address")
	errStreamsToken = fiber.NewError(fiber.StatusTooManyRequests, "Too many streaming connections for this access token")
)

// Admit counts a connection from ip with token ("" for none) if every
// bound allows it; release uncounts it and must be called once.
func (g *streamGate) Admit(ip netip.Addr, token string) (release func(), err error) {
	key := ipKey(ip)
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.lim.Node > 0 && g.open >= g.lim.Node:
		return nil, g.refuse("node", errStreamsNode)
	case g.lim.PerIP > 0 && g.byIP[key] >= g.lim.PerIP:
		return nil, g.refuse("ip", errStreamsIP)
	case token != "" && g.lim.PerToken > 0 && g.byToken[token] >= g.lim.PerToken:
		return nil, g.refuse("token", errStreamsToken)
	}
	g.open++
	g.byIP[key]++
	if token != "" {
		g.byToken[token]++
	}
	var once sync.Once
	return func() { once.Do(func() { g.release(key, token) }) }, nil
}

func (g *streamGate) refuse(limit string, err error) error {
	if g.refused != nil {
		g.refused.WithLabelValues(limit).Inc()
	}
	return err
}

func (g *streamGate) release(key netip.Prefix, token string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open--
	if g.byIP[key]--; g.byIP[key] <= 0 {
		delete(g.byIP, key)
	}
	if token != "" {
		if g.byToken[token]--; g.byToken[token] <= 0 {
			delete(g.byToken, token)
		}
	}
}

// ipKey is what per-address counts are kept by: the address, or an IPv6
// address's /64 (one subscriber's network: counting single addresses
// would give one client 2^64 allowances).
func ipKey(ip netip.Addr) netip.Prefix {
	bits := ip.BitLen()
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}
