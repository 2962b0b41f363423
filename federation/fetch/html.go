package fetch

import (
	"context"
	"time"
)

// HTMLTimeout bounds a GetHTML call, shorter than the client's default:
// web pages are fetched on a person's behalf (rel=me verification), in the
// background, and a slow site must not hold a worker.
const HTMLTimeout = 5 * time.Second

// htmlTypes are the media types a fetched web page may have.
var htmlTypes = []string{"text/html", "application/xhtml+xml"}

// GetHTML fetches a web page, unsigned, under the same address rules,
// redirect checks and body cap as every other fetch, within HTMLTimeout.
// It returns the page and the URL that finally served it.
func (c *Client) GetHTML(ctx context.Context, rawURL string) ([]byte, string, error) {
	ctx, cancel := context.WithTimeout(ctx, min(c.timeout, HTMLTimeout))
	defer cancel()
	body, final, err := c.get(ctx, rawURL, "text/html, application/xhtml+xml;q=0.9", htmlTypes, nil)
	if err != nil {
		return nil, "", err
	}
	return body, final.String(), nil
}
