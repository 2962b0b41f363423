package mastodon

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
)

func (h *Handler) registerEmojis(r, v1 fiber.Router) {
	if h.Emojis == nil {
		return
	}
	v1.Get("/custom_emojis", h.customEmojis)
	r.Get("/custom_emojis/:file", h.emojiImage)
}

// emojiExt is the file extension an emoji is served under.
func emojiExt(contentType string) string {
	switch contentType {
	case "image/gif":
		return ".gif"
	case "image/webp":
		return ".webp"
	}
	return ".png"
}

// emojiEntity renders a custom emoji served from base (a host of its
// tenant).
func emojiEntity(base string, e federation.CustomEmoji) Emoji {
	u := base + "/custom_emojis/" + e.Shortcode + emojiExt(e.ContentType)
	return Emoji{Shortcode: e.Shortcode, URL: u, StaticURL: u, VisibleInPicker: e.VisibleInPicker, Category: e.Category}
}

// customEmojis lists the request's tenant's emojis: this site's only.
func (h *Handler) customEmojis(c *fiber.Ctx) error {
	es, err := h.Emojis.CustomEmojis(c.UserContext(), httpx.SiteOf(c).TenantID)
	if err != nil {
		return err
	}
	base := httpx.SiteBase(c, h.URL)
	out := make([]Emoji, 0, len(es))
	for _, e := range es {
		out = append(out, emojiEntity(base, e))
	}
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	return c.JSON(out)
}

// emojiImage serves one of the request's tenant's emoji images, as an
// image and nothing else (no sniffing, no script).
func (h *Handler) emojiImage(c *fiber.Ctx) error {
	file := c.Params("file")
	dot := strings.LastIndexByte(file, '.')
	if dot <= 0 {
		return errNotFound
	}
	code := file[:dot]
	if !federation.ValidShortcode(code) {
		return errNotFound
	}
	e, err := h.Emojis.EmojiImage(c.UserContext(), httpx.SiteOf(c).TenantID, code)
	if err != nil {
		return err
	}
	if emojiExt(e.ContentType) != file[dot:] {
		return errNotFound
	}
	c.Set(fiber.HeaderContentType, e.ContentType)
	c.Set(fiber.HeaderCacheControl, "public, max-age=86400")
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	return c.Send(e.Image)
}
