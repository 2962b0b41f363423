package public

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/page"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

// Remote interaction, both ways, as Mastodon does it
// (http://ostatus.org/schema/1.0/subscribe, a WebFinger link template):
//
//   - a visitor from another server types their handle into the form on a
//     post or profile page; /interact looks up their server's template
//     and sends them there (303) with the post's or account's id, so they
//     reply, boost, favourite or follow from their own account;
//   - Roost's own WebFinger advertises /authorize_interaction?uri={uri},
//     which sends a signed-in person to the web app's search for the
//     uri (it resolves accounts and posts, remote or local, and shows
//     them with their buttons), and anyone else to sign in first.

// Finger fetches WebFinger documents under the outbound rules
// (implemented by *fetch.Client: SSRF guards, timeouts, size bounds).
type Finger interface {
	GetJSON(ctx context.Context, rawURL, accept string, allowedTypes []string) ([]byte, error)
	DiscoveryURL(host, pathQuery string) string
}

// subscribeRel is the WebFinger link whose template takes {uri}.
const subscribeRel = "http://ostatus.org/schema/1.0/subscribe"

// Bounds of a lookup: how long, and how many at once per node (each holds
// an outbound connection; past it the visitor is asked to retry).
const (
	fingerTimeout  = 10 * time.Second
	fingerInFlight = 16
	maxURI         = 2048
)

// SearchPath is where /authorize_interaction sends a signed-in person:
// the web app's search, resolving the uri (docs/web.md).
func SearchPath(uri string) string { return "/search?q=" + url.QueryEscape(uri) + "&resolve=true" }

// SignInPath is the web app's sign-in, returning to path after.
func SignInPath(path string) string { return "/auth/sign_in?return=" + url.QueryEscape(path) }

// interact is GET /interact?uri=&acct=: the visitor's handle to their
// server's page for uri, one of this site's posts or accounts.
func (h *Handler) interact(c *fiber.Ctx) error {
	uri := c.Query("uri")
	if !h.ownURI(c, uri) {
		return h.interactFail(c, fiber.StatusBadRequest, "That is not a post or an account of this site.")
	}
	user, host, ok := parseHandle(c.Query("acct"))
	if !ok {
		return h.interactFail(c, fiber.StatusBadRequest,
			"Type your handle as you@your.server: your user name, then @ and the name of your server.")
	}
	if h.Finger == nil {
		return h.interactFail(c, fiber.StatusServiceUnavailable, "Looking up other servers is not enabled here.")
	}
	select {
	case h.fingers <- struct{}{}:
		defer func() { <-h.fingers }()
	default:
		return h.interactFail(c, fiber.StatusServiceUnavailable, "The server is busy. Try again in a moment.")
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), fingerTimeout)
	defer cancel()
	tpl, err := h.subscribeTemplate(ctx, user, host)
	dest := fillTemplate(tpl, uri)
	if err != nil || dest == "" {
		return h.interactFail(c, fiber.StatusBadGateway, "Your server "+host+
			" did not say where to follow or reply from it (no remote interaction link in its WebFinger answer). "+
			"Search for the link of this page on your server instead.")
	}
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Redirect(dest, fiber.StatusSeeOther)
}

// subscribeTemplate looks up user@host's WebFinger and fills its
// subscribe template with uri: an http(s) URL, or an error.
func (h *Handler) subscribeTemplate(ctx context.Context, user, host string) (string, error) {
	acct := "acct:" + user + "@" + host
	body, err := h.Finger.GetJSON(ctx, h.Finger.DiscoveryURL(host, "/.well-known/webfinger?resource="+url.QueryEscape(acct)),
		"application/jrd+json, application/json", []string{"application/jrd+json", "application/json"})
	if err != nil {
		return "", err
	}
	var jrd struct {
		Links []struct {
			Rel      string `json:"rel"`
			Template string `json:"template"`
		} `json:"links"`
	}
	if err := json.Unmarshal(body, &jrd); err != nil {
		return "", errs.E(errs.Invalid, "unreadable WebFinger answer")
	}
	for _, l := range jrd.Links {
		if l.Rel == subscribeRel && strings.Contains(l.Template, "{uri}") {
			return l.Template, nil
		}
	}
	return "", errs.E(errs.NotFound, "no subscribe template")
}

// fillTemplate puts uri into a subscribe template; "" when the result is
// not an absolute http(s) URL.
func fillTemplate(tpl, uri string) string {
	out := strings.ReplaceAll(tpl, "{uri}", url.QueryEscape(uri))
	u, err := url.Parse(out)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(out) > 4*maxURI {
		return ""
	}
	return out
}

// interactTargets are the form-action sources of a page with the
// interaction form: browsers check a form's redirects against
// form-action too, and /interact redirects to the visitor's server,
// whichever it is (http too when this instance is served over http, as
// in development).
func (h *Handler) interactTargets() []string {
	if h.URL.Scheme == "http" {
		return []string{"https:", "http:"}
	}
	return []string{"https:"}
}

// parseHandle reads "user@host", "@user@host" or "acct:user@host".
func parseHandle(raw string) (user, host string, ok bool) {
	raw = strings.TrimSpace(raw)
	raw = strings.TrimPrefix(strings.TrimPrefix(raw, "acct:"), "@")
	user, host, found := strings.Cut(raw, "@")
	if !found || user == "" || len(user) > 200 || strings.ContainsAny(user, "/?#:@ \t") {
		return "", "", false
	}
	host, err := tenant.NormalizeHost(host)
	if err != nil {
		return "", "", false
	}
	return user, host, true
}

// ownURI reports whether uri is on one of the site's own origins (a post
// or account id the pages print): /interact sends visitors to other
// servers with this site's things only.
func (h *Handler) ownURI(c *fiber.Ctx, uri string) bool {
	if len(uri) > maxURI {
		return false
	}
	u, err := url.Parse(uri)
	if err != nil || u.Host == "" || u.User != nil {
		return false
	}
	for _, o := range h.origins(c) {
		if o == u.Scheme+"://"+u.Host {
			return true
		}
	}
	return false
}

func (h *Handler) interactFail(c *fiber.Ctx, status int, msg string) error {
	return h.pages.Render(c, status, "error", &view{Page: page.Page{Title: "Cannot interact from your server",
		Message: msg, Host: c.Hostname(), Home: "/"}})
}

// authorizeInteraction is GET /authorize_interaction?uri=, the template
// Roost's WebFinger advertises: the web app's search for the uri, after
// signing in if need be.
func (h *Handler) authorizeInteraction(c *fiber.Ctx) error {
	uri := strings.TrimSpace(c.Query("uri"))
	if !interactionURI(uri) {
		return h.interactFail(c, fiber.StatusBadRequest, "This link names no post or account to open.")
	}
	dest := SearchPath(uri)
	if !hasSession(c) { // sign in first
		dest = SignInPath(dest)
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Redirect(dest, fiber.StatusSeeOther)
}

// interactionURI reports whether uri is something the search resolves: an
// http(s) URL or a handle.
func interactionURI(uri string) bool {
	if uri == "" || len(uri) > maxURI {
		return false
	}
	if _, _, ok := parseHandle(uri); ok && !strings.Contains(uri, "/") {
		return true
	}
	u, err := url.Parse(uri)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil
}
