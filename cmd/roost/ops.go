package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/roost-social/roost/api"
	fedpg "github.com/roost-social/roost/federation/postgres"
)

// Paths of the operations routes. The web app serves them on every Host
// (api/ops.go); the ROOST_METRICS_ADDR listener of both `roost serve` and
// `roost work` serves them too, over plain HTTP, because a Kubernetes
// probe cannot reach the web node's HTTPS port with ROOST_TLS on (it sends
// no SNI, and a handshake without a tenant's name is refused) and
// `roost work` has no other listener. The Helm chart's probes use these
// constants' values (charts/chart_test.go checks).
const (
	healthzPath = "/healthz"
	readyzPath  = "/readyz"
	metricsPath = "/metrics"
)

// opsHandler answers /healthz (the process is up), /readyz (every check
// pings within two seconds; 503 naming the failed dependency otherwise,
// as the web app's /readyz) and /metrics from g.
func opsHandler(g prometheus.Gatherer, checks []api.Check, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	writeJSON := func(w http.ResponseWriter, status int, body any) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body) // fails only when the scraper has gone
	}
	mux.HandleFunc("GET "+healthzPath, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET "+readyzPath, func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		results := make(chan [2]string, len(checks))
		for _, ch := range checks {
			go func() {
				msg := "ok"
				if err := ch.Ping(ctx); err != nil {
					msg = "unavailable"
					if ch.Optional {
						msg = "degraded" // the node serves without it: still ready
					}
					log.Warn("readiness check failed", "check", ch.Name, "err", err)
				}
				results <- [2]string{ch.Name, msg}
			}()
		}
		status, body := http.StatusOK, map[string]string{}
		for range checks {
			r := <-results
			body[r[0]] = r[1]
			if r[1] == "unavailable" {
				status = http.StatusServiceUnavailable
			}
		}
		writeJSON(w, status, body)
	})
	mux.Handle("GET "+metricsPath, promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	return mux
}

// serviceChecks are the dependencies /readyz pings: PostgreSQL, without
// which a node cannot serve, and Redis, without which it serves degraded
// (reported, still ready: every node shares the Redis, and taking them
// all out of the load balancer would stop the posting that works).
func serviceChecks(svc *services) []api.Check {
	return []api.Check{
		{Name: "postgres", Ping: svc.db.Ping},
		{Name: "redis", Ping: func(ctx context.Context) error { return svc.redis.Ping(ctx).Err() }, Optional: true},
	}
}

// listenOps serves h on addr (ROOST_METRICS_ADDR) until the returned
// function is called. The address is bound before it returns, so a busy
// port stops the process at start; a later serving failure goes to errc.
func listenOps(addr string, h http.Handler, errc chan<- error) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics listener %s (ROOST_METRICS_ADDR): %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("metrics listener %s (ROOST_METRICS_ADDR): %w", addr, err)
		}
	}()
	return func() { srv.Close() }, nil
}

// queueCollector exports the durable queues' backlog from PostgreSQL on
// every scrape of a worker's /metrics (cheap: partial indexes on pending
// rows). Every worker reports the same instance-wide numbers: aggregate
// them with max(), not sum(). A failed read leaves the gauges out of that
// scrape (logged) rather than failing the whole scrape.
type queueCollector struct {
	stats func(context.Context) (fedpg.QueueStats, error)
	log   *slog.Logger
}

var (
	queueDeliveriesPending = prometheus.NewDesc("roost_deliveries_pending", "Outbound deliveries not yet delivered or given up (retries included).", nil, nil)
	queueDeliveriesOverdue = prometheus.NewDesc("roost_deliveries_overdue_seconds", "How long the most overdue pending delivery has been due (0: workers keep up).", nil, nil)
	queueInboxPending      = prometheus.NewDesc("roost_inbox_pending", "Verified inbound activities not yet applied.", nil, nil)
	queueInboxOldest       = prometheus.NewDesc("roost_inbox_oldest_pending_seconds", "Age of the oldest inbound activity not yet applied (0: none).", nil, nil)
)

func (c queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueDeliveriesPending
	ch <- queueDeliveriesOverdue
	ch <- queueInboxPending
	ch <- queueInboxOldest
}

func (c queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := c.stats(ctx)
	if err != nil {
		c.log.Warn("queue metrics unavailable", "err", err)
		return
	}
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	gauge(queueDeliveriesPending, float64(st.DeliveriesPending))
	gauge(queueDeliveriesOverdue, st.DeliveriesOverdue.Seconds())
	gauge(queueInboxPending, float64(st.InboxPending))
	gauge(queueInboxOldest, st.InboxOldest.Seconds())
}
