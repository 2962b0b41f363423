package mastodon

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation/social/search"
)

func (h *Handler) registerTrends(v1 fiber.Router) {
	if h.Trends == nil {
		return
	}
	v1.Get("/trends", h.trendingTags)
	v1.Get("/trends/tags", h.trendingTags)
	v1.Get("/trends/statuses", h.optional("read:statuses"), h.trendingStatuses)
	v1.Get("/trends/links", func(c *fiber.Ctx) error { return c.JSON([]any{}) })
	v1.Get("/tags/:name", h.optional("read:follows"), h.tag)
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
	out := make([]*TagJSON, 0, len(stats))
	for _, st := range stats {
		out = append(out, h.tagEntity(c, st))
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

// tag shows a hashtag with its week on this tenant.
func (h *Handler) tag(c *fiber.Ctx) error {
	raw, err := url.PathUnescape(c.Params("name"))
	if err != nil {
		return errNotFound
	}
	name := strings.ToLower(strings.TrimPrefix(raw, "#"))
	if !search.ValidTag(name) {
		return errNotFound
	}
	st, err := h.Trends.TagHistory(c.UserContext(), httpx.SiteOf(c).TenantID, name)
	if err != nil {
		return err
	}
	return c.JSON(h.tagEntity(c, st))
}
