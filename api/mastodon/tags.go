package mastodon

import (
	"context"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/tag"
)

// registerTags mounts followed and featured hashtags (federation/social/tag).
func (h *Handler) registerTags(v1 fiber.Router) {
	if h.Tags == nil {
		return
	}
	v1.Get("/tags/:name", h.optional("read:follows"), h.showTag)
	v1.Post("/tags/:name/follow", h.need("write:follows"), h.tagAction(h.Tags.Follow))
	v1.Post("/tags/:name/unfollow", h.need("write:follows"), h.tagAction(h.Tags.Unfollow))
	v1.Post("/tags/:name/feature", h.need("write:accounts"), h.tagAction(h.Tags.FeatureNamed))
	v1.Post("/tags/:name/unfeature", h.need("write:accounts"), h.tagAction(h.Tags.UnfeatureNamed))
	v1.Get("/followed_tags", h.need("read:follows"), h.followedTags)
	v1.Get("/featured_tags", h.need("read:accounts"), h.myFeaturedTags)
	v1.Post("/featured_tags", h.need("write:accounts"), h.featureTag)
	v1.Get("/featured_tags/suggestions", h.need("read:accounts"), h.featuredTagSuggestions)
	v1.Delete("/featured_tags/:id", h.need("write:accounts"), h.unfeatureTag)
	v1.Get("/accounts/:id/featured_tags", h.optional("read:accounts"), h.accountFeaturedTags)
}

// TagJSON is Mastodon's Tag entity: following and featuring only for a
// signed-in viewer; id is "" for a name nobody here has used yet, as
// Mastodon's unsaved tag.
type TagJSON struct {
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	URL       string       `json:"url"`
	History   []TagDayJSON `json:"history"`
	Following *bool        `json:"following,omitempty"`
	Featuring *bool        `json:"featuring,omitempty"`
}

// TagDayJSON is one day of a hashtag's history: strings, as on Mastodon.
type TagDayJSON struct {
	Day      string `json:"day"`
	Uses     string `json:"uses"`
	Accounts string `json:"accounts"`
}

// FeaturedTagJSON is Mastodon's FeaturedTag entity.
type FeaturedTagJSON struct {
	ID            string  `json:"id"`
	Name          string  `json:"name"`
	URL           string  `json:"url"`
	StatusesCount int64   `json:"statuses_count"`
	LastStatusAt  *string `json:"last_status_at"`
}

// tagJSON renders one hashtag for the request's viewer.
func (h *Handler) tagJSON(c *fiber.Ctx, t tag.Tag) *TagJSON {
	out := &TagJSON{Name: t.Name, URL: httpx.SiteBase(c, h.URL) + "/tags/" + url.PathEscape(t.Name), History: []TagDayJSON{}}
	if t.ID != 0 {
		out.ID = idStr(t.ID)
	}
	for _, d := range t.History {
		out.History = append(out.History, TagDayJSON{Day: strconv.FormatInt(d.Day.Unix(), 10),
			Uses: strconv.FormatInt(d.Uses, 10), Accounts: strconv.FormatInt(d.Accounts, 10)})
	}
	if viewer(c) != 0 {
		out.Following, out.Featuring = boolPtr(t.Following), boolPtr(t.Featuring)
	}
	return out
}

// tagList renders hashtags in order (never null).
func (h *Handler) tagList(c *fiber.Ctx, tags []tag.Tag) []*TagJSON {
	out := make([]*TagJSON, 0, len(tags))
	for _, t := range tags {
		out = append(out, h.tagJSON(c, t))
	}
	return out
}

// describeTags renders hashtags whose week is known (trends) with the
// viewer's state; without the use case wired, with no state.
func (h *Handler) describeTags(c *fiber.Ctx, stats []federation.TagStats) ([]*TagJSON, error) {
	if h.Tags == nil {
		tags := make([]tag.Tag, len(stats))
		for i, st := range stats {
			tags[i] = tag.Tag{TagState: federation.TagState{Name: st.Name}, History: st.History}
		}
		return h.tagList(c, tags), nil
	}
	tags, err := h.Tags.Describe(c.UserContext(), viewer(c), stats)
	if err != nil {
		return nil, err
	}
	return h.tagList(c, tags), nil
}

// lookupTags renders hashtags by name (search) with their week on the
// tenant and the viewer's state.
func (h *Handler) lookupTags(c *fiber.Ctx, names []string) ([]*TagJSON, error) {
	if h.Tags == nil {
		stats := make([]federation.TagStats, len(names))
		for i, n := range names {
			stats[i] = federation.TagStats{Name: n}
		}
		return h.describeTags(c, stats)
	}
	tags, err := h.Tags.Lookup(c.UserContext(), httpx.SiteOf(c).TenantID, viewer(c), names)
	if err != nil {
		return nil, err
	}
	return h.tagList(c, tags), nil
}

// showTag is GET /api/v1/tags/:name: the hashtag's week on this tenant.
func (h *Handler) showTag(c *fiber.Ctx) error {
	raw, err := pathTag(c)
	if err != nil {
		return err
	}
	t, err := h.Tags.Show(c.UserContext(), httpx.SiteOf(c).TenantID, viewer(c), raw)
	if err != nil {
		return err
	}
	return c.JSON(h.tagJSON(c, *t))
}

// pathTag is the hashtag the route names, unescaped and copied off
// fiber's buffers (it may be kept: a store, a cache).
func pathTag(c *fiber.Ctx) (string, error) {
	raw, err := url.PathUnescape(c.Params("name"))
	if err != nil {
		return "", errNotFound
	}
	return strings.Clone(raw), nil
}

// tagAction runs follow, unfollow, feature or unfeature on the hashtag
// the route names, for the signed-in account, and shows the hashtag.
func (h *Handler) tagAction(do func(ctx context.Context, tenantID, accountID int64, raw string) (*tag.Tag, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		raw, err := pathTag(c)
		if err != nil {
			return err
		}
		t, err := do(c.UserContext(), httpx.SiteOf(c).TenantID, viewer(c), raw)
		if err != nil {
			return err
		}
		return c.JSON(h.tagJSON(c, *t))
	}
}

// followedTags pages the viewer's followed hashtags (Link header).
func (h *Handler) followedTags(c *fiber.Ctx) error {
	tags, cursors, err := h.Tags.Followed(c.UserContext(), httpx.SiteOf(c).TenantID, viewer(c), page(c, 100, 200))
	if err != nil {
		return err
	}
	h.linkHeader(c, cursors)
	return c.JSON(h.tagList(c, tags))
}

// featuredTagsOf renders an account's featured tags, linked to its
// profile as Mastodon links them. A remote account's are not known here
// (none); an unknown account is errs.NotFound.
func (h *Handler) featuredTagsOf(c *fiber.Ctx, accountID int64) ([]*FeaturedTagJSON, error) {
	views, err := h.Views.AccountViews(c.UserContext(), []int64{accountID})
	if err != nil {
		return nil, err
	}
	v, ok := views[accountID]
	if !ok {
		return nil, errNotFound
	}
	out := []*FeaturedTagJSON{}
	if v.Remote != nil {
		return out, nil
	}
	tags, err := h.Tags.Featured(c.UserContext(), accountID)
	if err != nil {
		return nil, err
	}
	profile := h.renderer(c).account(v).URL
	for _, t := range tags {
		out = append(out, featuredJSON(profile, t))
	}
	return out, nil
}

func featuredJSON(profileURL string, t federation.FeaturedTag) *FeaturedTagJSON {
	out := &FeaturedTagJSON{ID: idStr(t.ID), Name: t.Name, URL: profileURL + "/tagged/" + url.PathEscape(t.Name),
		StatusesCount: t.StatusesCount}
	if t.LastStatusAt != nil {
		d := t.LastStatusAt.UTC().Format("2006-01-02")
		out.LastStatusAt = &d
	}
	return out
}

func (h *Handler) myFeaturedTags(c *fiber.Ctx) error {
	out, err := h.featuredTagsOf(c, viewer(c))
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (h *Handler) accountFeaturedTags(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	out, err := h.featuredTagsOf(c, id)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// featureTag is POST /api/v1/featured_tags (name=...).
func (h *Handler) featureTag(c *fiber.Ctx) error {
	p, err := parseParams(c)
	if err != nil {
		return err
	}
	t, err := h.Tags.Feature(c.UserContext(), viewer(c), p.str("name"))
	if err != nil {
		return err
	}
	a, err := h.oneAccount(c, viewer(c))
	if err != nil {
		return err
	}
	return c.JSON(featuredJSON(a.URL, *t))
}

func (h *Handler) unfeatureTag(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := h.Tags.Unfeature(c.UserContext(), viewer(c), id); err != nil {
		return err
	}
	return c.JSON(struct{}{})
}

func (h *Handler) featuredTagSuggestions(c *fiber.Ctx) error {
	tags, err := h.Tags.Suggestions(c.UserContext(), httpx.SiteOf(c).TenantID, viewer(c))
	if err != nil {
		return err
	}
	return c.JSON(h.tagList(c, tags))
}

// timelineFilter reads local, remote and only_media of the public and
// hashtag timelines: local or remote alone narrows, both or neither
// shows both, as on Mastodon.
func timelineFilter(p params) federation.TimelineFilter {
	local, _ := p.boolean("local")
	remote, _ := p.boolean("remote")
	onlyMedia, _ := p.boolean("only_media")
	return federation.TimelineFilter{Local: local || !remote, Remote: remote || !local, OnlyMedia: onlyMedia}
}
