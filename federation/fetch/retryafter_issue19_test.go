package fetch

import (
	"net/http"
	"testing"
	"time"
)

// A receiver's Retry-After, in seconds or as an HTTP date, bounded; what
// cannot be read is no wait (soak finding 15: a busy answer delays a
// delivery without tripping its host's circuit).
func TestIssue19RetryAfterRead(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"1", time.Second},
		{"120", 2 * time.Minute},
		{"0", 0},
		{"-5", 0},
		{"999999999", maxRetryAfter},
		{"99999999999999999", maxRetryAfter},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"soon", 0},
	} {
		if got := retryAfter(c.in, now); got != c.want {
			t.Errorf("Retry-After %q: %s, want %s", c.in, got, c.want)
		}
	}
	if !(Answer{Status: 503, RetryAfter: time.Second}).Busy() || (Answer{Status: 503}).Busy() ||
		(Answer{Status: 500, RetryAfter: time.Second}).Busy() || !(Answer{Status: 429, RetryAfter: time.Second}).Busy() {
		t.Error("Busy: want 429 or 503 with a wait, nothing else")
	}
}
