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
		err    error
		want   bool
	}{
		{http.StatusUnauthorized, nil, false},
		{http.StatusInternalServerError, nil, true},
		{http.StatusServiceUnavailable, nil, true},
		{http.StatusTooManyRequests, nil, true},
		{http.StatusRequestTimeout, nil, true},
		{0, errors.New("connection reset"), true},
	} {
		if got := againstHost(c.status, c.err); got != c.want {
			t.Errorf("status %d err %v: counts against the host %v, want %v", c.status, c.err, got, c.want)
		}
	}
}
