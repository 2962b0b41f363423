package mastodon

import (
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
)

func (h *Handler) registerTrends(v1 fiber.Router) {
	if h.Trends == nil {
		return
	}
	v1.Get("/trends", h.trendingTags)
	v1.Get("/trends/tags", h.trendingTags)
	v1.Get("/trends/statuses", h.optional("read:statuses"), h.trendingStatuses)
}

// limitOffset reads limit (clamped to maxLimit) and offset.
func limitOffset(c *fiber.Ctx, def, maxLimit int) (int, int) {
	limit := def
	if l, err := strconv.Atoi(c.Query("limit")); err == nil && l > 0 {
		limit = min(l, maxLimit)
	}
	offset, _ := strconv.Atoi(c.Query("offset"))
	return limit, min(max(offset, 0), 1000)
}

// trendingTags ranks this tenant's hashtags of the week: what its own
// accounts posted and what reached it, never another tenant's.
func (h *Handler) trendingTags(c *fiber.Ctx) error {
	limit, offset := limitOffset(c, 10, 20)
	stats, err := h.Trends.TrendingTags(c.UserContext(), httpx.SiteOf(c).TenantID, limit, offset)
	if err != nil {
		return err
	}
	out, err := h.describeTags(c, stats) // tags.go
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (h *Handler) trendingStatuses(c *fiber.Ctx) error {
	limit, offset := limitOffset(c, 20, 40)
	ids, err := h.Trends.TrendingStatuses(c.UserContext(), httpx.SiteOf(c).TenantID, seer(c), limit, offset)
	if err != nil {
		return err
	}
	r := h.renderer(c)
	views, err := h.Views.StatusViews(c.UserContext(), r.seer, ids)
	if err != nil {
		return err
	}
	out, err := r.statuses(views)
	if err != nil {
		return err
	}
	if out == nil {
		out = []*Status{}
	}
	return c.JSON(out)
}
