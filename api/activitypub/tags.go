package activitypub

import (
	"net/url"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	ap "github.com/roost-social/roost/federation/activitypub"
)

// featuredTags is the account's featured hashtags as Hashtag objects
// (Mastodon's featuredTags collection: at most 10, not paged).
func (h *Handler) featuredTags(c *fiber.Ctx) error {
	if err := h.authorize(c); err != nil {
		return err
	}
	acct, err := h.account(c, c.Params("username"))
	if err != nil {
		return err
	}
	tags, err := h.Collections.FeaturedTags(c.UserContext(), acct.ID)
	if err != nil {
		return err
	}
	links := httpx.Links(c, h.URL)
	items := make([]any, 0, len(tags))
	for _, t := range tags {
		items = append(items, map[string]string{"type": "Hashtag", "href": links.Base + "/tags/" + url.PathEscape(t.Name), "name": "#" + t.Name})
	}
	return sendJSON(c, ap.ContentType, map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": links.FeaturedTags(acct.Username),
		"type": "Collection", "totalItems": len(items), "items": items,
	})
}
