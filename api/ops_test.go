package api_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/roost-social/roost/api"
)

// Probes answer on any Host, including a bare pod IP, before host routing.
func TestOpsRoutesAnswerOnAnyHost(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for _, host := range []string{"10.1.2.3:8080", "[fd00::1]:8080", "unknown.example", "a.example"} {
		if m := decode(t, w.get(t, host, "/healthz"), 200); m["status"] != "ok" {
			t.Errorf("healthz on %s: %v", host, m)
		}
		if m := decode(t, w.get(t, host, "/readyz"), 200); m["postgres"] != "ok" {
			t.Errorf("readyz on %s: %v", host, m)
		}
	}
}

func TestReadyzReportsFailingDependency(t *testing.T) {
	t.Parallel()
	w := newWorld(t, func(o *api.Options) {
		o.Ready = append(o.Ready, api.Check{Name: "redis", Ping: func(context.Context) error {
			return errors.New("dial tcp 10.0.0.9:6379: connection refused")
		}})
	})
	resp := w.get(t, "10.0.0.1", "/readyz")
	body := readAll(t, resp.Body)
	if resp.StatusCode != 503 || !strings.Contains(body, `"redis":"unavailable"`) || !strings.Contains(body, `"postgres":"ok"`) {
		t.Fatalf("readyz: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(body, "10.0.0.9") {
		t.Fatalf("readyz leaks the internal error: %s", body)
	}
}

// Metrics are labelled by route pattern, never by tenant or raw path.
func TestMetricsByRoute(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.get(t, "a.example", "/users/alice", "Accept", asAccept)
	w.get(t, "b.example", "/users/alice", "Accept", asAccept)
	w.get(t, "unknown.example", "/users/zed")
	body := readAll(t, w.get(t, "10.0.0.1", "/metrics").Body)
	for _, want := range []string{
		`roost_http_requests_total{method="GET",route="/users/:username",status="200"} 2`,
		`roost_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`roost_http_request_duration_seconds_bucket{method="GET",route="/users/:username"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	for _, leak := range []string{"a.example", "/users/zed", "/users/alice"} {
		if strings.Contains(body, leak) {
			t.Errorf("metrics contain %q", leak)
		}
	}
}

// X-Forwarded-Host is believed only from a configured proxy.
func TestForwardedHostOnlyFromTrustedProxies(t *testing.T) {
	t.Parallel()
	untrusted := newWorld(t)
	wantError(t, untrusted.get(t, "unknown.example", "/users/alice", "Accept", asAccept, "X-Forwarded-Host", "a.example"), 404)
	// A forwarded header naming another tenant must not override the real Host.
	m := decode(t, untrusted.get(t, "b.example", "/users/alice", "Accept", asAccept, "X-Forwarded-Host", "a.example"), 200)
	if m["id"] != "https://social.b.example/users/alice" {
		t.Fatalf("untrusted X-Forwarded-Host was believed: %v", m["id"])
	}

	// fiber's test connections come from 0.0.0.0.
	trusted := newWorld(t, func(o *api.Options) { o.TrustedProxies = []string{"0.0.0.0"} })
	m = decode(t, trusted.get(t, "10.0.0.1", "/users/alice", "Accept", asAccept, "X-Forwarded-Host", "a.example"), 200)
	if m["id"] != "https://a.example/users/alice" {
		t.Fatalf("trusted X-Forwarded-Host was ignored: %v", m["id"])
	}
}
