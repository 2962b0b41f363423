package fetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/roost-social/roost/internal/errs"
)

// Signer signs an outgoing request (authorized fetch); body is nil for GET.
// It is called once per request actually sent, redirect hops included, so
// each gets its own Date and its own (request-target) and Host.
type Signer func(r *http.Request, body []byte) error

// drainLimit bounds what is read of a body we do not need: enough to let
// the connection be reused for small answers, no more.
const drainLimit = 64 << 10

// sendOnce makes one request to u without following redirects. body is
// nil for GET.
func (c *Client) sendOnce(ctx context.Context, method string, u *url.URL, accept string, body []byte, sign Signer) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "the request to "+u.Hostname()+" could not be built")
	}
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", accept)
	if body != nil {
		req.Header.Set("Content-Type", ActivityContentType)
	}
	if sign != nil {
		if err := sign(req, body); err != nil {
			return nil, signError(u.Hostname(), err)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, transportError(ctx, u.Hostname(), err)
	}
	return resp, nil
}

// discard reads a little of an unwanted body so a small one leaves its
// connection reusable, then closes it (a big one closes the connection).
func discard(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
	_ = resp.Body.Close()
}

// signError keeps a signer's own coded error (its code and safe message
// stand); any other failure gets a message naming only the host.
func signError(host string, err error) error {
	var coded *errs.Error
	if errors.As(err, &coded) {
		return fmt.Errorf("sign request to %s: %w", host, err)
	}
	return errs.Wrap(errs.Internal, err, "the request to "+host+" could not be signed")
}
