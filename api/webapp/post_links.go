package webapp

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/mastodon"
)

// A post's url (/@name/:id) and id (/users/name/statuses/:id) are the
// public pages' (api/public), which show what the signed-out public may
// see. A followers-only or direct post is missing there, yet its url is
// what the client API prints to the people who may read it: opened by
// such a person, signed in to the web app, it is the app's thread.
// Everything else (public posts, other readers, ActivityPub) goes on to
// the public pages as before.

func (h *Handler) registerPostLinks(r fiber.Router) {
	r.Get("/@:username/:id", h.postLink)
	r.Get("/users/:username/statuses/:id", h.postLink)
}

// postLink shows a signed-in viewer the thread of a post the public pages
// would answer as missing, when the client API shows it to them under
// this path's author.
func (h *Handler) postLink(c *fiber.Ctx) error {
	id, accept := c.Params("id"), c.Get(fiber.HeaderAccept)
	if !validID(id) || strings.Contains(accept, "application/activity+json") || strings.Contains(accept, "application/ld+json") ||
		h.cookies().SessionToken(c) == "" {
		return c.Next()
	}
	v, err := h.loadViewer(c)
	if err != nil || v == nil {
		return c.Next() // the public page answers as for anyone signed out
	}
	var s mastodon.Status
	if err := h.get(c, "/api/v1/statuses/"+id, nil, &s); err != nil {
		return c.Next()
	}
	hidden := s.Visibility != "public" && s.Visibility != "unlisted"
	if !hidden || s.Reblog != nil || s.Account == nil || s.Account.Acct != s.Account.Username || s.Account.Username != c.Params("username") {
		return c.Next()
	}
	return h.thread(c)
}
