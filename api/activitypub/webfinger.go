package activitypub

import (
	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/web"
	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

// webfinger answers RFC 7033 queries for accounts of this Site. A resource
// naming any other domain is not ours to answer: 404.
func (h *Handler) webfinger(c *fiber.Ctx) error {
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	res, err := ap.ParseResource(c.Query("resource"))
	if err != nil {
		return err
	}
	host, err := tenant.NormalizeHost(res.Host)
	if err != nil {
		return errs.E(errs.NotFound, "no such account on this domain")
	}
	site := web.SiteOf(c)
	if host != site.Domain && host != site.ServiceDomain {
		return errs.E(errs.NotFound, "no such account on this domain")
	}
	acct, err := h.account(c, res.Username)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "max-age=300, public")
	c.Set(fiber.HeaderVary, fiber.HeaderOrigin)
	return sendJSON(c, ap.JRDContentType, ap.NewJRD(acct, web.Links(c, h.URL)))
}
