package mastodon

import (
	"net/url"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/filter"
	"github.com/roost-social/roost/federation/social/tag"
)

func (h *Handler) registerTimelines(v1 fiber.Router) {
	v1.Get("/timelines/home", h.need("read:statuses"), h.in(filter.Home), h.homeTimeline)
	v1.Get("/timelines/public", h.optional("read:statuses"), h.in(filter.Public), h.publicTimeline)
	v1.Get("/timelines/tag/:hashtag", h.optional("read:statuses"), h.in(filter.Public), h.tagTimeline)
}

// placeKey holds the place a route shows statuses in (h.in).
type placeKey struct{}

// in names the place a route shows statuses in, which decides the
// viewer's filters, domain blocks and exclusive lists that apply
// (federation/social/timeline); routes without one apply none.
func (h *Handler) in(where filter.Where) fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Locals(placeKey{}, where)
		return c.Next()
	}
}

// placeOf is the place the request's route named, "" for none.
func placeOf(c *fiber.Ctx) filter.Where {
	w, _ := c.Locals(placeKey{}).(filter.Where)
	return w
}

func (h *Handler) homeTimeline(c *fiber.Ctx) error {
	if pages, ok := h.Views.(federation.HomePages); ok {
		if h.HomePages != nil {
			return h.cachedHomePage(c, pages) // homecache.go: from memory while unchanged
		}
		return h.homePage(c, pages, nil) // homepage.go: one round trip
	}
	return h.statusList(c, page(c, 20, 40), byOwnID(func(p federation.Page) ([]int64, error) {
		return h.Views.HomeTimeline(c.UserContext(), viewer(c), p)
	}))
}

func (h *Handler) publicTimeline(c *fiber.Ctx) error {
	p, _ := parseParams(c)
	return h.statusList(c, page(c, 20, 40), byOwnID(func(pg federation.Page) ([]int64, error) {
		return h.Views.PublicStatuses(c.UserContext(), httpx.SiteOf(c).TenantID, seer(c), timelineFilter(p), pg)
	}))
}

// tagTimeline is the hashtag timeline with any[], all[], none[], local,
// remote and only_media applied in the query (tags.go).
func (h *Handler) tagTimeline(c *fiber.Ctx) error {
	raw, err := url.PathUnescape(c.Params("hashtag"))
	if err != nil {
		return errNotFound
	}
	name, ok := tag.Name(raw)
	if !ok {
		return c.JSON([]any{}) // no post carries it, as Mastodon answers
	}
	p, _ := parseParams(c)
	f, ok := tag.TimelineFilter(tag.Modes{Any: p.list("any"), All: p.list("all"), None: p.list("none")}, timelineFilter(p))
	if !ok {
		return c.JSON([]any{}) // all[] names something no post carries
	}
	return h.statusList(c, page(c, 20, 40), byOwnID(func(pg federation.Page) ([]int64, error) {
		return h.Views.TagTimeline(c.UserContext(), httpx.SiteOf(c).TenantID, seer(c), name, f, pg)
	}))
}
