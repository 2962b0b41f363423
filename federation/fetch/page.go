package fetch

import (
	"context"
	"io"
	"net/http"
	"net/url"

	"github.com/roost-social/roost/internal/errs"
)

// imageTypes are the media types a fetched preview image may have: those
// the media pipeline can re-encode.
var imageTypes = []string{"image/jpeg", "image/png", "image/gif", "image/webp"}

// oembedTypes are the media types of an oEmbed JSON answer in the wild.
var oembedTypes = []string{"application/json", "application/json+oembed", "text/json", "text/javascript"}

// GetPage fetches a web page for a link preview, unsigned, under the
// address rules, redirect checks and deadline (HTMLTimeout) of every
// fetch. read gets at most limit bytes of the body — a bigger page is cut
// there, never read further — and the URL that finally served it; it may
// stop early (a <head> parser does). Only HTML is read.
func (c *Client) GetPage(ctx context.Context, rawURL string, limit int64, read func(body io.Reader, final string) error) error {
	ctx, cancel := context.WithTimeout(ctx, min(c.timeout, HTMLTimeout))
	defer cancel()
	resp, final, err := c.follow(ctx, rawURL, "text/html, application/xhtml+xml;q=0.9")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := c.checkAnswer(resp, final.Hostname(), htmlTypes); err != nil {
		return err
	}
	err = read(io.LimitReader(resp.Body, max(limit, 0)), final.String())
	if ctx.Err() != nil {
		// A page trickling past the deadline is a timeout, whatever the
		// reader made of the part it got.
		return transportError(ctx, final.Hostname(), ctx.Err())
	}
	return err
}

// GetOEmbed fetches an oEmbed JSON document under GetPage's rules and the
// client's body cap.
func (c *Client) GetOEmbed(ctx context.Context, rawURL string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, min(c.timeout, HTMLTimeout))
	defer cancel()
	return c.GetJSON(ctx, rawURL, "application/json", oembedTypes)
}

// GetImage fetches a preview image (JPEG, PNG, GIF or WebP by its
// Content-Type; the media pipeline checks the bytes) of at most limit
// bytes, within HTMLTimeout.
func (c *Client) GetImage(ctx context.Context, rawURL string, limit int64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, min(c.timeout, HTMLTimeout))
	defer cancel()
	resp, final, err := c.follow(ctx, rawURL, "image/webp, image/png, image/jpeg, image/gif;q=0.8")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	host := final.Hostname()
	if err := c.checkAnswer(resp, host, imageTypes); err != nil {
		return nil, err
	}
	if resp.ContentLength > limit {
		return nil, errs.E(errs.TooLarge, "%s sent an image over %d bytes", host, limit)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, transportError(ctx, host, err)
	}
	if int64(len(body)) > limit {
		return nil, errs.E(errs.TooLarge, "%s sent an image over %d bytes", host, limit)
	}
	return body, nil
}

// follow makes an unsigned GET, following redirects by hand as get does
// (every hop re-checked, at most MaxRedirects), and returns the final
// answer with its body unread, and its URL.
func (c *Client) follow(ctx context.Context, rawURL, accept string) (*http.Response, *url.URL, error) {
	u, err := c.target(rawURL)
	if err != nil {
		return nil, nil, err
	}
	normalize(u)
	for hops := 0; ; hops++ {
		resp, err := c.send(ctx, http.MethodGet, u, accept, nil, nil)
		if err != nil {
			return nil, nil, err
		}
		if !isRedirect(resp.StatusCode) {
			return resp, u, nil
		}
		next, err := c.redirect(resp, u, hops)
		discard(resp)
		if err != nil {
			return nil, nil, err
		}
		u = next
	}
}

// checkAnswer requires a 2xx answer of one of the allowed types; a
// refused answer's body is drained.
func (c *Client) checkAnswer(resp *http.Response, host string, allowed []string) error {
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		discard(resp)
		return statusError(host, resp.StatusCode)
	}
	return checkContentType(host, resp.Header.Get("Content-Type"), allowed)
}
