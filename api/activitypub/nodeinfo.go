package activitypub

import (
	"encoding/xml"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	ap "github.com/roost-social/roost/federation/activitypub"
)

func (h *Handler) hostMeta(c *fiber.Ctx) error {
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	doc := ap.NewHostMeta(httpx.Links(c, h.URL).Base)
	if c.Query("format") == "json" || c.Accepts("application/xrd+xml", "application/json") == "application/json" {
		return sendJSON(c, "application/json", doc)
	}
	out, err := xml.Marshal(doc)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/xrd+xml; charset=utf-8")
	return c.Send(append([]byte(xml.Header), out...))
}

func (h *Handler) hostMetaJSON(c *fiber.Ctx) error {
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	return sendJSON(c, "application/json", ap.NewHostMeta(httpx.Links(c, h.URL).Base))
}

func (h *Handler) nodeInfoLinks(c *fiber.Ctx) error {
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	return sendJSON(c, "application/json", ap.NewNodeInfoLinks(httpx.Links(c, h.URL).Base))
}

// nodeInfo describes this tenant only: its name and its own user count.
func (h *Handler) nodeInfo(version string) fiber.Handler {
	schema := ap.NodeInfo20Schema
	if version == "2.1" {
		schema = ap.NodeInfo21Schema
	}
	contentType := `application/json; profile="` + schema + `#"`
	return func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
		site := httpx.SiteOf(c)
		usage, err := h.Accounts.Usage(c.UserContext(), site.TenantID)
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderCacheControl, "max-age=1800, public")
		return sendJSON(c, contentType, ap.NewNodeInfo(version, site.TenantName, usage, false))
	}
}
