package api

import (
	"log/slog"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

var (
	errUnknownHost = errs.E(errs.NotFound, "unknown host")
	errSuspended   = errs.E(errs.Forbidden, "this site is suspended")
)

// hostRouting resolves the request's Host (X-Forwarded-Host only from a
// trusted proxy: fiber's Hostname checks) to a Site. An IP literal, a
// malformed name or a host no tenant owns gets 404, never a default tenant.
func hostRouting(sites tenant.Resolver) fiber.Handler {
	return func(c *fiber.Ctx) error {
		host, err := tenant.NormalizeHost(c.Hostname())
		if err != nil {
			return errUnknownHost
		}
		site, err := sites.Resolve(c.UserContext(), host)
		if errs.Is(err, errs.NotFound) {
			return errUnknownHost
		}
		if err != nil {
			return errs.Wrap(errs.Unavailable, err, "the server cannot reach its database; try again")
		}
		if site.Status == tenant.Suspended {
			return errSuspended
		}
		httpx.SetSite(c, site)
		httpx.AddLogAttrs(c, slog.Int64("tenant", site.TenantID))
		return c.Next()
	}
}
