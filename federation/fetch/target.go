package fetch

import (
	"net/url"
	"strings"

	"github.com/roost-social/roost/internal/errs"
)

// maxURLLength bounds URLs taken from remote documents.
const maxURLLength = 2048

// target parses raw and checks it may be requested: http(s) only, plain
// http only for hosts in Resolve, no userinfo (which would be sent as
// credentials, and `https://good@evil/` misleads readers).
func (c *Client) target(raw string) (*url.URL, error) {
	if len(raw) > maxURLLength {
		return nil, errs.E(errs.Invalid, "URL is too long")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "URL is malformed")
	}
	return u, c.checkTarget(u)
}

// normalize drops what is not part of a document's address: the fragment,
// never sent, and the case of the host.
func normalize(u *url.URL) {
	u.Host = strings.ToLower(u.Host)
	u.Fragment, u.RawFragment = "", ""
}

func (c *Client) checkTarget(u *url.URL) error {
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return errs.E(errs.Invalid, "only https URLs may be fetched")
	case u.Opaque != "" || u.Hostname() == "":
		return errs.E(errs.Invalid, "URL has no host")
	case u.User != nil:
		return errs.E(errs.Invalid, "URLs with credentials are refused")
	case u.Scheme == "http" && !c.resolved(u.Hostname()):
		return errs.E(errs.Forbidden, "plain http is refused for %s; use https", u.Hostname())
	}
	if fixed := c.schemes[strings.ToLower(u.Hostname())]; fixed != "" && fixed != u.Scheme {
		return errs.E(errs.Invalid, "ROOST_FEDERATION_RESOLVE sends %s to %s://%s; a %s URL of it cannot be fetched there",
			u.Hostname(), fixed, c.resolve[strings.ToLower(u.Hostname())], u.Scheme)
	}
	return nil
}

func (c *Client) resolved(host string) bool {
	_, ok := c.resolve[strings.ToLower(host)]
	return ok
}

// sameOrigin reports whether id names the same scheme, host and port as
// final, so a document can only speak for the origin that served it.
func sameOrigin(id string, final *url.URL) bool {
	u, err := url.Parse(id)
	if err != nil || u.User != nil || u.Opaque != "" || u.Hostname() == "" {
		return false
	}
	return origin(u) == origin(final)
}

func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" || scheme == "https" && port == "443" || scheme == "http" && port == "80" {
		port = ""
	}
	return scheme + "://" + strings.ToLower(u.Hostname()) + ":" + port
}
