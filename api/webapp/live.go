package webapp

import (
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/mastodon"
)

// Live updates and completion: endpoints under /web/ that the page's
// script calls with the session cookie, so the access token never
// reaches a script.

// stream is GET /web/stream: the viewer's user stream (new posts of the
// home timeline, notifications) as server-sent events. It is the client
// API's own streaming route (api/streaming), reached with the session's
// token: the request is routed again as GET /api/v1/streaming/user, so
// the node's stream bounds, the token's periodic recheck (a revoked
// session stops streaming) and per-viewer rendering all apply.
func (h *Handler) stream(c *fiber.Ctx) error {
	v := viewer(c)
	c.Request().Header.Set(fiber.HeaderAuthorization, "Bearer "+v.access)
	c.Request().URI().SetQueryString("")
	c.Path("/api/v1/streaming/user")
	return c.RestartRouting()
}

// completion is one suggestion of the compose box's completion.
type completion struct {
	Value string `json:"value"`
	Label string `json:"label"`
}

// complete is GET /web/complete?q=@ali | #ro | :bl: accounts, hashtags
// or custom emojis starting so, from the client API's search and emoji
// routes.
func (h *Handler) complete(c *fiber.Ctx) error {
	q := c.Query("q")
	out := []completion{}
	c.Set(fiber.HeaderCacheControl, "no-store")
	if len(q) < 2 || len(q) > 100 {
		return c.JSON(out)
	}
	switch q[0] {
	case '@':
		var accts []*mastodon.Account
		if err := h.get(c, "/api/v1/accounts/search", url.Values{"q": {q[1:]}, "limit": {"5"}, "resolve": {"false"}}, &accts); err != nil {
			return h.fail(c, err)
		}
		for _, a := range accts {
			out = append(out, completion{Value: "@" + a.Acct, Label: strings.TrimSpace(a.DisplayName + " @" + a.Acct)})
		}
	case '#':
		var res struct {
			Hashtags []struct {
				Name string `json:"name"`
			} `json:"hashtags"`
		}
		if err := h.get(c, "/api/v2/search", url.Values{"q": {q[1:]}, "type": {"hashtags"}, "limit": {"5"}}, &res); err != nil {
			return h.fail(c, err)
		}
		for _, t := range res.Hashtags {
			out = append(out, completion{Value: "#" + t.Name, Label: "#" + t.Name})
		}
	case ':':
		var emojis []struct {
			Shortcode string `json:"shortcode"`
		}
		if err := h.get(c, "/api/v1/custom_emojis", nil, &emojis); err != nil {
			return h.fail(c, err)
		}
		prefix := strings.ToLower(q[1:])
		for _, e := range emojis {
			if strings.HasPrefix(strings.ToLower(e.Shortcode), prefix) && len(out) < 5 {
				out = append(out, completion{Value: ":" + e.Shortcode + ":", Label: ":" + e.Shortcode + ":"})
			}
		}
	}
	return c.JSON(out)
}
