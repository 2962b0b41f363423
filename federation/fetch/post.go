package fetch

import (
	"context"
	"net/http"
)

// Post delivers body to the inbox at rawURL as application/activity+json,
// signed with sign on the very request sent (so a caller retrying later
// gets a fresh Date). It returns the status: a non-2xx answer is not an
// error here, since the delivery queue decides what each status means;
// only failing to get an answer is. Redirects are not followed, since
// re-POSTing an activity elsewhere is not what the sender signed up for.
func (c *Client) Post(ctx context.Context, rawURL string, body []byte, sign Signer) (int, error) {
	u, err := c.target(rawURL)
	if err != nil {
		return 0, err
	}
	if body == nil {
		body = []byte{}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	resp, err := c.send(ctx, http.MethodPost, u, ActivityAccept, body, sign)
	if err != nil {
		return 0, err
	}
	discard(resp)
	return resp.StatusCode, nil
}
