package activitypub

import (
	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

// webfinger answers RFC 7033 queries for accounts of this Site. A resource
// naming any other domain is not ours to answer: 404.
func (h *Handler) webfinger(c *fiber.Ctx) error {
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	site := httpx.SiteOf(c)
	links := httpx.Links(c, h.URL)
	if h.InstanceKey != "" && c.Query("resource") == links.InstanceActor() {
		return h.sendJRD(c, ap.NewInstanceJRD(site.ActorHost(), links))
	}
	res, err := ap.ParseResource(c.Query("resource"))
	if err != nil {
		return err
	}
	host, err := tenant.NormalizeHost(res.Host)
	if err != nil {
		return errs.E(errs.NotFound, "no such account on this domain")
	}
	if !ofSite(site, host) {
		return errs.E(errs.NotFound, "no such account on this domain")
	}
	if user, err := tenant.NormalizeHost(res.Username); err == nil && h.InstanceKey != "" && ofSite(site, user) {
		// acct:<host>@<host>, either of the site's hosts: its instance
		// actor, whose preferredUsername is the actor host.
		return h.sendJRD(c, ap.NewInstanceJRD(site.ActorHost(), links))
	}
	return h.accountJRD(c, res.Username) // webfinger_cache.go
}

// ofSite reports whether host is the site's handle or service domain.
func ofSite(site *tenant.Site, host string) bool {
	return host == site.Domain || (site.ServiceDomain != "" && host == site.ServiceDomain)
}

func (h *Handler) sendJRD(c *fiber.Ctx, jrd *ap.JRD) error {
	c.Set(fiber.HeaderCacheControl, "max-age=300, public")
	c.Set(fiber.HeaderVary, fiber.HeaderOrigin)
	return sendJSON(c, ap.JRDContentType, jrd)
}
