package mastodon

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/filter"
)

// Card is Mastodon's PreviewCard entity: a status's link preview.
type Card struct {
	URL              string       `json:"url"`
	Title            string       `json:"title"`
	Description      string       `json:"description"`
	Type             string       `json:"type"`
	AuthorName       string       `json:"author_name"`
	AuthorURL        string       `json:"author_url"`
	ProviderName     string       `json:"provider_name"`
	ProviderURL      string       `json:"provider_url"`
	HTML             string       `json:"html"`
	Width            int          `json:"width"`
	Height           int          `json:"height"`
	Image            *string      `json:"image"`
	ImageDescription string       `json:"image_description"`
	EmbedURL         string       `json:"embed_url"`
	Blurhash         *string      `json:"blurhash"`
	Language         *string      `json:"language"`
	PublishedAt      *string      `json:"published_at"`
	Authors          []CardAuthor `json:"authors"`
}

// CardAuthor is Mastodon's PreviewCardAuthor: the page's author (Roost
// does not match it to a fediverse account).
type CardAuthor struct {
	Name    string   `json:"name"`
	URL     string   `json:"url"`
	Account *Account `json:"account"`
}

// TrendsLink is Mastodon's Trends::Link: a card with its week.
type TrendsLink struct {
	*Card
	History []TagDayJSON `json:"history"`
}

// cardImagePath is where card thumbnails are served on every tenant
// domain: cards are shared by all tenants, so are their images.
const cardImagePath = "/preview_cards/"

// registerCards mounts trending links, the link timeline and card
// thumbnails (r: every tenant domain).
func (h *Handler) registerCards(r, v1 fiber.Router) {
	if h.Cards == nil {
		return
	}
	v1.Get("/trends/links", h.trendingLinks)
	v1.Get("/timelines/link", h.optional("read:statuses"), h.in(filter.Public), h.linkTimeline)
	r.Get(cardImagePath+"*", h.serveCardImage)
}

// cardEntity renders a card; base is the viewing site's URL base.
func cardEntity(base string, c *federation.Card) *Card {
	out := &Card{URL: c.URL, Title: c.Title, Description: c.Description, Type: c.Type, AuthorName: c.AuthorName,
		AuthorURL: c.AuthorURL, ProviderName: c.ProviderName, ProviderURL: c.ProviderURL, HTML: c.HTML,
		Width: c.Width, Height: c.Height, ImageDescription: c.ImageDescription, EmbedURL: c.EmbedURL,
		Blurhash: strPtr(c.Blurhash), Language: strPtr(c.Language), PublishedAt: tsPtr(c.PublishedAt), Authors: []CardAuthor{}}
	if c.ImageKey != "" {
		out.Image = strPtr(base + cardImagePath + strings.TrimPrefix(c.ImageKey, "cards/"))
	}
	if c.AuthorName != "" || c.AuthorURL != "" {
		out.Authors = append(out.Authors, CardAuthor{Name: c.AuthorName, URL: c.AuthorURL})
	}
	return out
}

// addCards fills the cards of rendered statuses and of the posts they
// boost: one query per page.
func (r *renderer) addCards(out []*Status) error {
	if r.h.Cards == nil || len(out) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(out))
	each := func(fn func(*Status)) {
		for _, s := range out {
			fn(s)
			if s.Reblog != nil {
				fn(s.Reblog)
			}
		}
	}
	each(func(s *Status) {
		if id := parseID(s.ID); id > 0 {
			ids = append(ids, id)
		}
	})
	cards, err := r.h.Cards.OfStatuses(r.ctx, ids)
	if err != nil {
		return err
	}
	base := r.base()
	each(func(s *Status) {
		if c := cards[parseID(s.ID)]; c != nil {
			s.Card = cardEntity(base, c)
		}
	})
	return nil
}

// trendingLinks ranks the links this tenant's public posts shared this
// week, by distinct accounts sharing them.
func (h *Handler) trendingLinks(c *fiber.Ctx) error {
	limit, offset := limitOffset(c, 10, 20)
	trends, err := h.Cards.Trending(c.UserContext(), httpx.SiteOf(c).TenantID, limit, offset)
	if err != nil {
		return err
	}
	base := httpx.SiteBase(c, h.URL)
	out := make([]TrendsLink, 0, len(trends))
	for _, t := range trends {
		l := TrendsLink{Card: cardEntity(base, t.Card), History: make([]TagDayJSON, 0, len(t.History))}
		for _, d := range t.History {
			l.History = append(l.History, TagDayJSON{Day: idStr(d.Day.Unix()), Uses: idStr(d.Uses), Accounts: idStr(d.Accounts)})
		}
		out = append(out, l)
	}
	return c.JSON(out)
}

// linkTimeline pages the tenant's public posts linking ?url=.
func (h *Handler) linkTimeline(c *fiber.Ctx) error {
	return h.statusList(c, page(c, 20, 40), byOwnID(func(p federation.Page) ([]int64, error) {
		return h.Cards.Timeline(c.UserContext(), httpx.SiteOf(c).TenantID, seer(c), c.Query("url"), p)
	}))
}

// serveCardImage serves a card thumbnail with the type it was stored as
// and the headers of every stored file (serveMedia).
func (h *Handler) serveCardImage(c *fiber.Ctx) error {
	key := "cards/" + strings.Clone(c.Params("*"))
	body, size, ct, err := h.Cards.Image(c.UserContext(), key)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, ct)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'none'; sandbox")
	c.Set(fiber.HeaderContentDisposition, "inline")
	c.Set(fiber.HeaderCacheControl, "public, max-age=31536000, immutable")
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	c.Set("Cross-Origin-Resource-Policy", "cross-origin")
	return c.SendStream(body, int(size))
}
