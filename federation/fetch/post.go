package fetch

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// Post delivers body to the inbox at rawURL as application/activity+json,
// signed with sign on the very request sent (so a caller retrying later
// gets a fresh Date). It returns the status: a non-2xx answer is not an
// error here, since the delivery queue decides what each status means;
// only failing to get an answer is. Redirects are not followed, since
// re-POSTing an activity elsewhere is not what the sender signed up for.
func (c *Client) Post(ctx context.Context, rawURL string, body []byte, sign Signer) (int, error) {
	a, err := c.PostAnswer(ctx, rawURL, body, sign)
	return a.Status, err
}

// Answer is an inbox's answer to a POST: its status and, for a 429 or
// 503 that said when to come back, that wait.
type Answer struct {
	Status     int
	RetryAfter time.Duration
}

// Busy reports whether the receiver answered that it is busy and said
// when to come back (a 429 or 503 with Retry-After): alive and shedding
// load, not failing.
func (a Answer) Busy() bool {
	return (a.Status == http.StatusServiceUnavailable || a.Status == http.StatusTooManyRequests) && a.RetryAfter > 0
}

// maxRetryAfter bounds the wait a receiver's Retry-After may ask for.
const maxRetryAfter = 6 * time.Hour

// PostAnswer is Post with the receiver's Retry-After.
func (c *Client) PostAnswer(ctx context.Context, rawURL string, body []byte, sign Signer) (Answer, error) {
	u, err := c.target(rawURL)
	if err != nil {
		return Answer{}, err
	}
	if body == nil {
		body = []byte{}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	resp, err := c.send(ctx, http.MethodPost, u, ActivityAccept, body, sign)
	if err != nil {
		return Answer{}, err
	}
	discard(resp)
	return Answer{Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now())}, nil
}

// retryAfter reads a Retry-After value (seconds or an HTTP date) as a
// wait from now, at most maxRetryAfter; 0 when absent or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n <= 0 {
			return 0
		}
		if n >= int(maxRetryAfter/time.Second) {
			return maxRetryAfter // and no overflow
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), maxRetryAfter)
	}
	return 0
}
