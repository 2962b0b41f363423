package fetch

import (
	"context"
	"net/http"
)

// Redirect asks rawURL once, unsigned and without following a redirect,
// under the same address rules and deadline as every other fetch, and
// returns the status and the Location header as sent (relative or not).
// The signup portal uses it to check that a handle domain redirects its
// discovery documents to its service domain.
func (c *Client) Redirect(ctx context.Context, rawURL string) (int, string, error) {
	u, err := c.target(rawURL)
	if err != nil {
		return 0, "", err
	}
	normalize(u)
	ctx, cancel := context.WithTimeout(ctx, min(c.timeout, HTMLTimeout))
	defer cancel()
	resp, err := c.send(ctx, http.MethodGet, u, "*/*", nil, nil)
	if err != nil {
		return 0, "", err
	}
	defer discard(resp)
	loc := resp.Header.Get("Location")
	if len(loc) > maxURLLength {
		loc = ""
	}
	return resp.StatusCode, loc, nil
}
