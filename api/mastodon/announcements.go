package mastodon

import (
	"net/url"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
)

// Announcements (docs.joinmastodon.org/methods/announcements): the
// instance's and the tenant's, as their admins wrote them on the
// dashboards (federation/social/announcement).

// AnnouncementJSON is Mastodon's Announcement entity.
type AnnouncementJSON struct {
	ID          string         `json:"id"`
	Content     string         `json:"content"`
	StartsAt    *string        `json:"starts_at"`
	EndsAt      *string        `json:"ends_at"`
	Published   bool           `json:"published"`
	AllDay      bool           `json:"all_day"`
	PublishedAt string         `json:"published_at"`
	UpdatedAt   string         `json:"updated_at"`
	Read        bool           `json:"read"`
	Mentions    []any          `json:"mentions"`
	Statuses    []any          `json:"statuses"`
	Tags        []any          `json:"tags"`
	Emojis      []Emoji        `json:"emojis"`
	Reactions   []ReactionJSON `json:"reactions"`
}

// ReactionJSON is Mastodon's Reaction entity; url and static_url are a
// custom emoji's.
type ReactionJSON struct {
	Name      string `json:"name"`
	Count     int    `json:"count"`
	Me        bool   `json:"me"`
	URL       string `json:"url,omitempty"`
	StaticURL string `json:"static_url,omitempty"`
}

func (h *Handler) registerAnnouncements(v1 fiber.Router) {
	if h.Announcements == nil {
		return
	}
	v1.Get("/announcements", h.need("read"), h.announcements)
	v1.Post("/announcements/:id/dismiss", h.need("write:accounts"), h.dismissAnnouncement)
	v1.Put("/announcements/:id/reactions/:name", h.need("write:favourites"), h.react(true))
	v1.Delete("/announcements/:id/reactions/:name", h.need("write:favourites"), h.react(false))
}

func (h *Handler) announcements(c *fiber.Ctx) error {
	me, err := h.me(c)
	if err != nil {
		return err
	}
	withDismissed, _ := params{"w": c.Query("with_dismissed")}.boolean("w")
	list, err := h.Announcements.List(c.UserContext(), me, withDismissed)
	if err != nil {
		return err
	}
	emojis, err := h.announcementEmojis(c, list)
	if err != nil {
		return err
	}
	out := make([]AnnouncementJSON, 0, len(list))
	for _, a := range list {
		out = append(out, announcementEntity(a, emojis))
	}
	return c.JSON(out)
}

// announcementEmojis are the site's custom emojis the announcements use,
// in their text or as reactions, by shortcode.
func (h *Handler) announcementEmojis(c *fiber.Ctx, list []federation.AnnouncementView) (map[string]Emoji, error) {
	out := map[string]Emoji{}
	if h.Emojis == nil || len(list) == 0 {
		return out, nil
	}
	var codes []string
	for _, a := range list {
		codes = append(codes, federation.Shortcodes(a.Text, 20)...)
		for _, r := range a.Reactions {
			if federation.ValidShortcode(r.Name) {
				codes = append(codes, r.Name)
			}
		}
	}
	if len(codes) == 0 {
		return out, nil
	}
	tenantID := httpx.SiteOf(c).TenantID
	found, err := h.Emojis.EmojisByShortcode(c.UserContext(), []int64{tenantID}, codes)
	if err != nil {
		return nil, err
	}
	base := httpx.SiteBase(c, h.URL)
	for _, e := range found {
		if e.TenantID == tenantID {
			out[e.Shortcode] = emojiEntity(base, e)
		}
	}
	return out, nil
}

func announcementEntity(a federation.AnnouncementView, emojis map[string]Emoji) AnnouncementJSON {
	out := AnnouncementJSON{ID: idStr(a.ID), Content: a.Content, StartsAt: tsPtr(a.StartsAt), EndsAt: tsPtr(a.EndsAt),
		Published: a.PublishedAt != nil, AllDay: a.AllDay, UpdatedAt: ts(a.UpdatedAt), Read: a.Read,
		Mentions: []any{}, Statuses: []any{}, Tags: []any{}, Emojis: []Emoji{}, Reactions: []ReactionJSON{}}
	if a.PublishedAt != nil {
		out.PublishedAt = ts(*a.PublishedAt)
	}
	for _, code := range federation.Shortcodes(a.Text, 20) {
		if e, ok := emojis[code]; ok {
			out.Emojis = append(out.Emojis, e)
		}
	}
	for _, r := range a.Reactions {
		rj := ReactionJSON{Name: r.Name, Count: r.Count, Me: r.Me}
		if e, ok := emojis[r.Name]; ok {
			rj.URL, rj.StaticURL = e.URL, e.StaticURL
		}
		out.Reactions = append(out.Reactions, rj)
	}
	return out
}

func (h *Handler) dismissAnnouncement(c *fiber.Ctx) error {
	me, err := h.me(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := h.Announcements.Dismiss(c.UserContext(), me, id); err != nil {
		return err
	}
	return c.JSON(fiber.Map{})
}

// react adds (on) or removes the viewer's reaction :name.
func (h *Handler) react(on bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		me, err := h.me(c)
		if err != nil {
			return err
		}
		id, err := pathID(c, "id")
		if err != nil {
			return err
		}
		name, err := url.PathUnescape(c.Params("name")) // a new string, off fiber's buffer
		if err != nil {
			return errNotFound
		}
		if err := h.Announcements.React(c.UserContext(), me, id, name, on); err != nil {
			return err
		}
		return c.JSON(fiber.Map{})
	}
}
