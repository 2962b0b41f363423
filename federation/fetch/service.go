package fetch

import (
	"bytes"
	"context"
	"io"
	"net/http"

	"github.com/roost-social/roost/internal/errs"
)

// PostJSON sends a JSON request to a service the operator configured (a
// translation API) under this client's rules: the same address checks
// (a private address only through Resolve), timeout and body cap, no
// redirects. It returns the answer's status and body, whatever the
// status: what a status means is the caller's (the service's) business.
func (c *Client) PostJSON(ctx context.Context, rawURL string, body []byte) (int, []byte, error) {
	u, err := c.target(rawURL)
	if err != nil {
		return 0, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return 0, nil, errs.Wrap(errs.Invalid, err, "the request to "+u.Hostname()+" could not be built")
	}
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, transportError(ctx, u.Hostname(), err)
	}
	defer resp.Body.Close()
	if resp.ContentLength > c.maxBody {
		return 0, nil, c.tooLarge(u.Hostname())
	}
	out, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return 0, nil, transportError(ctx, u.Hostname(), err)
	}
	if int64(len(out)) > c.maxBody {
		return 0, nil, c.tooLarge(u.Hostname())
	}
	return resp.StatusCode, out, nil
}
