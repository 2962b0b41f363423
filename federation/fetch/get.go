package fetch

import (
	"context"
	"io"
	"net/http"
	"net/url"

	"github.com/roost-social/roost/internal/errs"
)

// GetActivity fetches the ActivityStreams document at rawURL, signed with
// sign when it is not nil. The answer must have an ActivityStreams content
// type, fit in MaxBody, and be a JSON object whose id is on the origin of
// the final URL after redirects. It returns the raw JSON and that final URL
// (without fragment: the address the document was served from).
func (c *Client) GetActivity(ctx context.Context, rawURL string, sign Signer) ([]byte, string, error) {
	body, final, err := c.get(ctx, rawURL, ActivityAccept, activityTypes, sign)
	if err != nil {
		return nil, "", err
	}
	if err := checkID(body, final); err != nil {
		return nil, "", err
	}
	return body, final.String(), nil
}

// GetJSON fetches a WebFinger, NodeInfo or host-meta document: accept is
// the Accept header and allowedTypes the media types the answer may have
// (at least one). The address rules, caps and deadline are GetActivity's;
// there is no id to check.
func (c *Client) GetJSON(ctx context.Context, rawURL, accept string, allowedTypes []string) ([]byte, error) {
	if len(allowedTypes) == 0 {
		return nil, errs.E(errs.Internal, "GetJSON needs the content types it allows")
	}
	body, _, err := c.get(ctx, rawURL, accept, allowedTypes, nil)
	return body, err
}

// get follows redirects by hand, so that every hop's URL passes target's
// rules (its address is checked by the dialer) and is signed afresh, and
// reads the final body. One deadline covers all of it.
func (c *Client) get(ctx context.Context, rawURL, accept string, allowed []string, sign Signer) ([]byte, *url.URL, error) {
	u, err := c.target(rawURL)
	if err != nil {
		return nil, nil, err
	}
	normalize(u)
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	for hops := 0; ; hops++ {
		resp, err := c.send(ctx, http.MethodGet, u, accept, nil, sign)
		if err != nil {
			return nil, nil, err
		}
		if !isRedirect(resp.StatusCode) {
			body, err := c.readDocument(ctx, u.Hostname(), resp, allowed)
			return body, u, err
		}
		next, err := c.redirect(resp, u, hops)
		discard(resp)
		if err != nil {
			return nil, nil, err
		}
		u = next
	}
}

func isRedirect(status int) bool {
	switch status {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		return true
	}
	return false
}

// redirect returns where resp sends us, if we may go there.
func (c *Client) redirect(resp *http.Response, from *url.URL, hops int) (*url.URL, error) {
	if hops >= c.maxRedirects {
		return nil, errs.E(errs.Invalid, "%s redirected more than %d times", from.Hostname(), c.maxRedirects)
	}
	loc := resp.Header.Get("Location")
	if loc == "" || len(loc) > maxURLLength {
		return nil, errs.E(errs.Invalid, "%s redirected without a usable Location", from.Hostname())
	}
	next, err := from.Parse(loc)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, from.Hostname()+" redirected to a malformed URL")
	}
	if err := c.checkTarget(next); err != nil {
		return nil, err
	}
	normalize(next)
	return next, nil
}

// readDocument checks a final answer and reads its body under the cap.
func (c *Client) readDocument(ctx context.Context, host string, resp *http.Response, allowed []string) ([]byte, error) {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		discard(resp)
		return nil, statusError(host, resp.StatusCode)
	}
	defer resp.Body.Close()
	if err := checkContentType(host, resp.Header.Get("Content-Type"), allowed); err != nil {
		return nil, err
	}
	if resp.ContentLength > c.maxBody {
		return nil, c.tooLarge(host)
	}
	// The transport has already undone gzip, so the cap counts decompressed
	// bytes and a gzip bomb stops here too.
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return nil, transportError(ctx, host, err)
	}
	if int64(len(body)) > c.maxBody {
		return nil, c.tooLarge(host)
	}
	return body, nil
}

func (c *Client) tooLarge(host string) error {
	return errs.E(errs.TooLarge, "%s sent a document over %d bytes", host, c.maxBody)
}
