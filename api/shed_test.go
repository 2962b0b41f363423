package api_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api"
)

// Past ROOST_MAX_INFLIGHT a node answers 503 with Retry-After at once
// instead of queueing; probes and metrics still answer; anonymous GETs
// give way before authenticated requests and inbox POSTs; when the load
// ends the node serves again by itself. Functional: statuses are
// asserted, durations never (the generous client deadline only turns a
// queued request into a failure instead of a hang).
func TestLoadSheddingPastMaxInflight(t *testing.T) {
	t.Parallel()
	w := newWorld(t, func(o *api.Options) { o.MaxInflight = 4 })
	release := make(chan struct{})
	var entered sync.WaitGroup
	w.app.Get("/slow", func(c *fiber.Ctx) error {
		entered.Done()
		<-release
		return c.SendString("done")
	})
	base := w.listen(t)
	client := &http.Client{Timeout: 60 * time.Second}
	do := func(method, path, auth string) (int, string, string) {
		req, _ := http.NewRequestWithContext(context.Background(), method, base+path, strings.NewReader(""))
		req.Host = "a.example"
		req.Header.Set("Accept", asAccept)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Retry-After"), string(b)
	}

	// Three anonymous slow GETs fill the anonymous share (3 of 4).
	results := make(chan int, 8)
	entered.Add(3)
	for range 3 {
		go func() { code, _, _ := do("GET", "/slow", ""); results <- code }()
	}
	entered.Wait()

	// A fourth anonymous GET is refused at once, politely.
	if code, ra, body := do("GET", "/users/alice", ""); code != 503 || ra != "1" || !strings.Contains(body, "busy") {
		t.Fatalf("anonymous GET past three quarters: %d Retry-After %q %s", code, ra, body)
	}
	// An authenticated request still gets the last slot.
	entered.Add(1)
	go func() { code, _, _ := do("GET", "/slow", "Bearer whatever"); results <- code }()
	entered.Wait()
	// Now the node is full: even priority requests (an inbox POST) are shed.
	if code, ra, _ := do("POST", "/users/alice/inbox", ""); code != 503 || ra != "1" {
		t.Fatalf("inbox POST on a full node: %d Retry-After %q", code, ra)
	}
	if code, ra, _ := do("GET", "/api/v1/timelines/home", "Bearer whatever"); code != 503 || ra != "1" {
		t.Fatalf("authenticated GET on a full node: %d Retry-After %q", code, ra)
	}
	// Probes and metrics are never shed.
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		if code, _, _ := do("GET", p, ""); code != 200 {
			t.Fatalf("%s on a full node: %d", p, code)
		}
	}
	_, _, metrics := do("GET", "/metrics", "")
	for _, want := range []string{`roost_http_shed_total{class="anonymous"} 1`, `roost_http_shed_total{class="priority"} 2`,
		"roost_http_inflight 4", "roost_http_inflight_max 4"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}

	// The load ends: the held requests complete, and the node serves
	// again on its own.
	close(release)
	for range 4 {
		if code := <-results; code != 200 {
			t.Fatalf("held request: %d", code)
		}
	}
	if code, _, body := do("GET", "/users/alice", ""); code != 200 || !strings.Contains(body, "alice") {
		t.Fatalf("after the load: %d %s", code, body)
	}
	if code, _, _ := do("POST", "/users/alice/inbox", ""); code == 503 {
		t.Fatalf("inbox POST after the load still shed")
	}
}

// Request metrics stay valid under concurrent requests of several
// methods: label values must not point into buffers fiber reuses (they
// once did, and /metrics answered 500 listing series such as "POS").
func TestMetricsValidUnderConcurrentMethods(t *testing.T) {
	t.Parallel()
	w := newWorld(t, func(o *api.Options) { o.MaxInflight = 1000 })
	base := w.listen(t)
	client := &http.Client{Timeout: 60 * time.Second}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 40 {
				method := []string{"GET", "POST", "DELETE", "OPTIONS"}[(i+j)%4]
				req, _ := http.NewRequest(method, base+"/users/alice", strings.NewReader(""))
				req.Host = "a.example"
				if resp, err := client.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	wg.Wait()
	resp, err := client.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics after concurrent requests: %d\n%.2000s", resp.StatusCode, body)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "roost_http_requests_total{") && !strings.Contains(line, `method="GET"`) &&
			!strings.Contains(line, `method="POST"`) && !strings.Contains(line, `method="DELETE"`) && !strings.Contains(line, `method="OPTIONS"`) {
			t.Errorf("series with a mangled method: %s", line)
		}
	}
}
