package activitypub

import (
	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/internal/errs"
)

// status serves a local public or unlisted post as a Note. Followers-only
// and direct posts are never served here: they reach their audience by
// delivery only.
func (h *Handler) status(c *fiber.Ctx) error {
	asAP := wantsActivityJSON(c.Get(fiber.HeaderAccept))
	if asAP {
		if err := h.authorize(c); err != nil {
			return err
		}
	} else if h.Pages != nil {
		c.Vary(fiber.HeaderAccept)
		return h.Pages.Status(c, c.Params("username"), c.Params("id"))
	}
	acct, err := h.account(c, c.Params("username"))
	if err != nil {
		return err
	}
	id := c.Params("id")
	for _, r := range id {
		if r < '0' || r > '9' {
			return errs.E(errs.NotFound, "no such post")
		}
	}
	links := httpx.Links(c, h.URL)
	st, err := h.Statuses.StatusByURI(c.UserContext(), links.Actor(acct.Username)+"/statuses/"+id)
	if err != nil {
		return err
	}
	// A moved account's posts went with it (by reference, their ids
	// unchanged); its old identity, whose URL space the id is in, still
	// serves them as their author, so the id, URL and attributedTo share a
	// host as Mastodon requires of a fetched object.
	if (st.AccountID != acct.ID && acct.MovedTo == "") || (st.Visibility != federation.Public && st.Visibility != federation.Unlisted) {
		return errs.E(errs.NotFound, "no such post")
	}
	c.Vary(fiber.HeaderAccept)
	note := ap.NewNote(st, links.Actor(acct.Username), links.Profile(acct.Username)+"/"+id)
	if asAP {
		return sendJSON(c, ap.ContentType, struct {
			Context string `json:"@context"`
			*ap.Note
		}{"https://www.w3.org/ns/activitystreams", note})
	}
	return h.renderProfile(c, acct)
}
