package api_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/roost-social/roost/api"
)

// Issue 19: a dependency the node serves without (Redis: posting and
// reading go on) is reported degraded while it fails, and the node stays
// ready — every node shares it, and a load balancer taking them all out
// would stop what still works. PostgreSQL's failure still makes it unready.
func TestIssue19ReadyzOptionalDependencyDegrades(t *testing.T) {
	t.Parallel()
	down := func(context.Context) error { return errors.New("connection refused") }
	w := newWorld(t, func(o *api.Options) {
		o.Ready = append(o.Ready, api.Check{Name: "redis", Ping: down, Optional: true})
	})
	resp := w.get(t, "10.0.0.1", "/readyz")
	body := readAll(t, resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(body, `"redis":"degraded"`) || !strings.Contains(body, `"postgres":"ok"`) {
		t.Fatalf("readyz with an optional dependency down: %d %s", resp.StatusCode, body)
	}
	w = newWorld(t, func(o *api.Options) {
		o.Ready = append(o.Ready, api.Check{Name: "redis", Ping: down, Optional: true}, api.Check{Name: "queue", Ping: down})
	})
	if resp := w.get(t, "10.0.0.1", "/readyz"); resp.StatusCode != 503 {
		t.Fatalf("readyz with a required dependency down: %d", resp.StatusCode)
	}
}
