package api

import (
	"context"
	"errors"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
)

// RequestQuota counts client API requests against each tenant's quota of
// requests per second, on every node at once (tenant/quota Service).
type RequestQuota interface {
	Request(ctx context.Context, tenantID int64) error
}

// quotaGuard refuses a client API request over its tenant's quota with
// 429 and Retry-After before any handler runs, so a refused request
// changes nothing (issue 20).
func quotaGuard(q RequestQuota) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := q.Request(c.UserContext(), httpx.SiteOf(c).TenantID); err != nil {
			var wait interface{ RetryAfterSeconds() string }
			if errors.As(err, &wait) {
				c.Set(fiber.HeaderRetryAfter, wait.RetryAfterSeconds())
			}
			return err
		}
		return c.Next()
	}
}
