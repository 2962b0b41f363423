package api

import (
	"sync/atomic"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/roost-social/roost/api/httpx"
)

// RetryAfterSeconds is what a shed request is told to wait (Retry-After).
// Clients and remote servers retry; one second lets a burst drain.
const RetryAfterSeconds = httpx.RetryAfterSeconds

// shedder bounds the requests a node works on at once. Past the bound a
// request is answered 503 with Retry-After at once, before any database
// or Redis work: queueing without a bound only moves the wait into the
// PostgreSQL pool, where every queued request holds its memory and its
// 30 s deadline while the latency of all the others grows. A fast 503
// tells the load balancer, a remote server's delivery queue and a client
// app to come back, and the node serves what it admitted at full speed.
//
// Not every request weighs the same: anonymous GETs (profiles, WebFinger,
// posts fetched by crawlers and remote servers) are admitted only while
// the node is below three quarters of the bound, so inbox POSTs (remote
// servers' deliveries, which retry for days but cost them a queue) and
// the people using apps keep the last quarter.
//
// Probes and metrics are never shed (a busy node is alive and, if its
// dependencies answer, ready). A streaming handshake is a request like
// any other (it authenticates against the database); the connection it
// opens is then counted, until it ends, against the node's stream bound
// (streams.go), not against MaxInflight: it holds a file descriptor and
// goroutines for hours, never a database connection.
type shedder struct {
	max, anonMax int64
	inflight     atomic.Int64
	shed         *prometheus.CounterVec
}

func newShedder(max int, reg prometheus.Registerer) *shedder {
	s := &shedder{max: int64(max), anonMax: max64(1, int64(max)*3/4)}
	if reg != nil {
		s.shed = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roost_http_shed_total",
			Help: "Requests answered 503 at once because the node was at ROOST_MAX_INFLIGHT, by class (anonymous GET or priority).",
		}, []string{"class"})
		reg.MustRegister(s.shed, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "roost_http_inflight",
			Help: "Requests this node is working on (those counted against ROOST_MAX_INFLIGHT).",
		}, func() float64 { return float64(s.inflight.Load()) }), prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "roost_http_inflight_max",
			Help: "ROOST_MAX_INFLIGHT of this node.",
		}, func() float64 { return float64(s.max) }))
	}
	return s
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// shedLocal marks a shed request for the access log (observe.go).
const shedLocal = "roost.shed"

// exempt are the paths never counted nor shed.
func exempt(path string) bool {
	return path == "/healthz" || path == "/readyz" || path == "/metrics"
}

func (s *shedder) handle(c *fiber.Ctx) error {
	if exempt(c.Path()) {
		return c.Next()
	}
	limit, class := s.max, "priority"
	if (c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead) && c.Get(fiber.HeaderAuthorization) == "" {
		limit, class = s.anonMax, "anonymous"
	}
	if n := s.inflight.Add(1); n > limit {
		s.inflight.Add(-1)
		if s.shed != nil {
			s.shed.WithLabelValues(class).Inc()
		}
		c.Locals(shedLocal, true)
		c.Set(fiber.HeaderRetryAfter, RetryAfterSeconds)
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.Status(fiber.StatusServiceUnavailable).JSON(httpx.ErrorBody{Error: "the server is busy; try again"})
	}
	defer s.inflight.Add(-1)
	err := c.Next()
	if err != nil {
		// Render here so a 503 from below (a request that timed out
		// waiting for the database) gets its Retry-After too.
		if herr := c.App().ErrorHandler(c, err); herr != nil {
			return herr
		}
	}
	if c.Response().StatusCode() == fiber.StatusServiceUnavailable && len(c.Response().Header.Peek(fiber.HeaderRetryAfter)) == 0 {
		c.Set(fiber.HeaderRetryAfter, RetryAfterSeconds)
	}
	return nil
}
