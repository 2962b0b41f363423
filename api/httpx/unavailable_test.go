package httpx

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	"github.com/gofiber/fiber/v2"
)

// sqlStateError stands for a driver's server error (pgconn.PgError).
type sqlStateError string

func (e sqlStateError) Error() string    { return "server error " + string(e) }
func (e sqlStateError) SQLState() string { return string(e) }

// Issue 19: a request that failed because PostgreSQL or Redis could not
// be reached is answered 503 with Retry-After — JSON for the API and
// ActivityPub, a small page for a browser — never a bare 500; a failure
// of the request itself stays a 500.
func TestIssue19UnavailableAnswers503(t *testing.T) {
	refused := fmt.Errorf("load account: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED})
	for _, tc := range []struct {
		name, path, accept string
		err                error
		status             int
		html               bool
	}{
		{"api, connection refused", "/api/v1/timelines/home", "application/json", refused, 503, false},
		{"api, admin shutdown", "/api/v1/statuses", "", fmt.Errorf("q: %w", sqlStateError("57P01")), 503, false},
		{"activitypub", "/users/alice", "application/activity+json", refused, 503, false},
		{"page", "/@alice", "text/html,application/xhtml+xml", refused, 503, true},
		{"api asked for html", "/api/v1/instance", "text/html", refused, 503, false},
		{"deadline", "/api/v1/timelines/home", "", context.DeadlineExceeded, 503, false},
		{"unique violation", "/api/v1/statuses", "", sqlStateError("23505"), 500, false},
		{"plain failure", "/api/v1/statuses", "", fmt.Errorf("boom"), 500, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := fiber.New(fiber.Config{ErrorHandler: ErrorHandler})
			app.Use(func(*fiber.Ctx) error { return tc.err })
			req := httptest.NewRequest("GET", tc.path, nil)
			if tc.accept != "" {
				req.Header.Set("Accept", tc.accept)
			}
			resp, err := app.Test(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.status == 503 && resp.Header.Get("Retry-After") != RetryAfterSeconds {
				t.Fatalf("Retry-After %q", resp.Header.Get("Retry-After"))
			}
			ct := resp.Header.Get("Content-Type")
			if tc.html {
				if !strings.HasPrefix(ct, "text/html") || !strings.Contains(string(body), "Temporarily unavailable") {
					t.Fatalf("want the HTML page, got %s: %s", ct, body)
				}
				return
			}
			var e ErrorBody
			if json.Unmarshal(body, &e) != nil || e.Error == "" || strings.Contains(e.Error, "refused") {
				t.Fatalf("want a JSON error saying nothing of the cause, got %s: %s", ct, body)
			}
		})
	}
}
