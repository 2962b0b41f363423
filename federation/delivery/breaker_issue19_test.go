package delivery

import (
	"errors"
	"net/http"
	"testing"
)

// Soak finding 7 (seed 4343739823095494074): under load a remote could
// not fetch the sender's key in time and answered 401; each 401 counted
// as the host failing, its breaker opened, and every delivery to it —
// the Follows of other accounts, Accepts — waited out cool-downs that
// doubled per trip. A 401 is retried but is the host answering: it never
// counts towards the breaker; no answer, 5xx, 408 and 429 still do.
func TestIssue19Finding7UnauthorizedDoesNotTripBreaker(t *testing.T) {
	for _, c := range []struct {
		status int
		busy   bool
		err    error
		want   bool
	}{
		{http.StatusUnauthorized, false, nil, false},
		{http.StatusInternalServerError, false, nil, true},
		{http.StatusServiceUnavailable, false, nil, true},
		{http.StatusTooManyRequests, false, nil, true},
		{http.StatusRequestTimeout, false, nil, true},
		{0, false, errors.New("connection reset"), true},
		// Soak finding 15: busy (with Retry-After) is the host alive.
		{http.StatusServiceUnavailable, true, nil, false},
		{http.StatusTooManyRequests, true, nil, false},
	} {
		if got := againstHost(c.status, c.busy, c.err); got != c.want {
			t.Errorf("status %d err %v: counts against the host %v, want %v", c.status, c.err, got, c.want)
		}
	}
}
