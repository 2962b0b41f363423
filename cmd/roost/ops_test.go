package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/roost-social/roost/api"
	fedpg "github.com/roost-social/roost/federation/postgres"
)

// The ROOST_METRICS_ADDR listener answers the probes as the web app does:
// /healthz always, /readyz 503 naming a dependency that does not answer
// (and 200 once it does), /metrics with the queue gauges; a failed queue
// read drops the gauges, not the scrape.
func TestOpsHandler(t *testing.T) {
	var redisUp, queueUp atomic.Bool // set between requests, read by handlers
	reg := prometheus.NewRegistry()
	reg.MustRegister(queueCollector{log: slog.New(slog.DiscardHandler), stats: func(context.Context) (fedpg.QueueStats, error) {
		if !queueUp.Load() {
			return fedpg.QueueStats{}, errors.New("database down")
		}
		return fedpg.QueueStats{DeliveriesPending: 7}, nil
	}})
	srv := httptest.NewServer(opsHandler(reg, []api.Check{
		{Name: "postgres", Ping: func(context.Context) error { return nil }},
		{Name: "redis", Ping: func(context.Context) error {
			if !redisUp.Load() {
				return errors.New("connection refused")
			}
			return nil
		}},
	}, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get(healthzPath); code != http.StatusOK {
		t.Errorf("healthz: %d", code)
	}
	code, body := get(readyzPath)
	var checks map[string]string
	json.Unmarshal([]byte(body), &checks)
	if code != http.StatusServiceUnavailable || checks["redis"] != "unavailable" || checks["postgres"] != "ok" || strings.Contains(body, "refused") {
		t.Errorf("readyz with Redis down: %d %s", code, body)
	}
	redisUp.Store(true)
	if code, body := get(readyzPath); code != http.StatusOK {
		t.Errorf("readyz with both up: %d %s", code, body)
	}
	if code, body := get(metricsPath); code != http.StatusOK || strings.Contains(body, "roost_deliveries_pending") {
		t.Errorf("metrics with the queue read failing: %d\n%s", code, body)
	}
	queueUp.Store(true)
	if code, body := get(metricsPath); code != http.StatusOK || !strings.Contains(body, "roost_deliveries_pending 7") {
		t.Errorf("metrics: %d\n%s", code, body)
	}
	if resp, err := http.Post(srv.URL+healthzPath, "text/plain", nil); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST healthz: %v %v", resp.StatusCode, err)
	}
}
