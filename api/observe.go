package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/roost-social/roost/api/httpx"
)

// requestIDs are a per-process random prefix and a counter: unique,
// ordered within a process, and free of per-request randomness.
var (
	idPrefix  = newIDPrefix()
	idCounter atomic.Uint64
)

func newIDPrefix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// metrics are the request counters, labelled by route pattern, never by
// tenant or raw path (bounded cardinality).
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "roost_http_requests_total", Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "roost_http_request_duration_seconds", Help: "HTTP request latency by route pattern and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// observe gives every request an id, its client's address, a logger, a
// deadline, a recovered panic, the security headers, an access log line
// and metrics.
func observe(o Options) fiber.Handler {
	var m *metrics
	if o.Metrics != nil {
		m = newMetrics(o.Metrics)
	}
	log := o.Log
	trusted := parseProxies(o.TrustedProxies)
	return func(c *fiber.Ctx) (err error) {
		start := time.Now()
		httpx.SetClientIP(c, trusted.clientIP(c))
		id := c.Get(fiber.HeaderXRequestID)
		if id == "" || len(id) > 64 || !c.IsProxyTrusted() {
			id = idPrefix + "-" + strconv.FormatUint(idCounter.Add(1), 36)
		} else {
			id = string([]byte(id)) // fiber reuses its buffers
		}
		c.Set(fiber.HeaderXRequestID, id)
		// Put together on first use (httpx.Log): most requests log nothing.
		httpx.SetLogger(c, log, slog.String("request_id", id))
		ctx, cancel := context.WithTimeout(context.Background(), o.RequestTimeout)
		defer cancel()
		c.SetUserContext(ctx)

		func() {
			defer func() {
				if r := recover(); r != nil {
					httpx.Log(c).Error("panic", "panic", r, "stack", string(debug.Stack()))
					err = fiber.ErrInternalServerError
				}
			}()
			err = c.Next()
		}()
		if err != nil {
			// Render the error here so the status is known below; the
			// error is then handled and not returned to fiber.
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				return herr
			}
		}
		// Every response passes here, error pages and shed requests
		// included: the one place the header policy is applied.
		httpx.SecureHeaders(c)
		status := c.Response().StatusCode()
		if status == fiber.StatusServiceUnavailable && len(c.Response().Header.Peek(fiber.HeaderRetryAfter)) == 0 {
			c.Set(fiber.HeaderRetryAfter, httpx.RetryAfterSeconds) // every 503 says when to come back
		}
		route := routeLabel(c)
		elapsed := time.Since(start)
		if m != nil {
			method := methodLabel(c.Method())
			m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
			m.duration.WithLabelValues(route, method).Observe(elapsed.Seconds())
		}
		level := accessLevel(status)
		if c.Locals(shedLocal) != nil {
			// Shed requests are counted (roost_http_shed_total); an error
			// line for each would add to the overload it answers.
			level = slog.LevelDebug
		}
		if httpx.LogEnabled(c, level) {
			httpx.Log(c).LogAttrs(ctx, level, "request",
				slog.String("method", c.Method()), slog.String("path", c.Path()), slog.String("route", route),
				slog.Int("status", status), slog.Duration("duration", elapsed))
		}
		return nil
	}
}

// methodLabel is the request method as a constant string. fiber's
// c.Method() points into a buffer fasthttp reuses for the next request, and
// Prometheus keeps label values of a new series: under load the stored
// labels changed under it ("POS", "GETT"), duplicate series appeared and
// /metrics answered 500. Unknown methods share one label (bounded
// cardinality).
func methodLabel(m string) string {
	for _, k := range []string{fiber.MethodGet, fiber.MethodPost, fiber.MethodHead, fiber.MethodPut, fiber.MethodPatch,
		fiber.MethodDelete, fiber.MethodOptions} {
		if m == k {
			return k
		}
	}
	return "other"
}

// routeLabel is the matched route pattern, or "unmatched" when only
// middleware (mounted at "/") ran: a 404, or a request refused by host
// routing. Raw paths never become labels.
func routeLabel(c *fiber.Ctx) string {
	r := c.Route()
	if r == nil || (r.Path == "/" && c.Path() != "/") {
		return "unmatched"
	}
	return r.Path
}

func accessLevel(status int) slog.Level {
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelInfo
}
