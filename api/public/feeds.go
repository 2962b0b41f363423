package public

import (
	"context"
	"encoding/xml"
	"mime"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/api/mastodon"
	"github.com/roost-social/roost/api/page"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// RSS 2.0 (https://www.rssboard.org/rss-specification): an account's
// public posts without replies and boosts, and a hashtag's, newest first,
// each with its media as enclosures.

type rss struct {
	XMLName xml.Name   `xml:"rss"`
	Version string     `xml:"version,attr"`
	Channel rssChannel `xml:"channel"`
}

type rssChannel struct {
	Title       string    `xml:"title"`
	Link        string    `xml:"link"`
	Description string    `xml:"description"`
	Image       *rssImage `xml:"image,omitempty"`
	Generator   string    `xml:"generator"`
	Items       []rssItem `xml:"item"`
}

type rssImage struct {
	URL   string `xml:"url"`
	Title string `xml:"title"`
	Link  string `xml:"link"`
}

type rssItem struct {
	GUID        rssGUID        `xml:"guid"`
	Link        string         `xml:"link"`
	PubDate     string         `xml:"pubDate"`
	Description string         `xml:"description"`
	Categories  []string       `xml:"category"`
	Enclosures  []rssEnclosure `xml:"enclosure"`
}

type rssGUID struct {
	IsPermaLink bool   `xml:"isPermaLink,attr"`
	Value       string `xml:",chardata"`
}

type rssEnclosure struct {
	URL    string `xml:"url,attr"`
	Length string `xml:"length,attr"`
	Type   string `xml:"type,attr"`
}

// accountRSS is /@name.rss.
func (h *Handler) accountRSS(c *fiber.Ctx) error {
	return h.cached(c, func() error { return h.renderAccountRSS(c) })
}

func (h *Handler) renderAccountRSS(c *fiber.Ctx) error {
	a, out, err := h.account(c, c.Params("username"))
	if errs.Is(err, errs.Gone) {
		return h.fail(c, err) // 410, and a page saying so
	}
	if err != nil {
		return err
	}
	site := httpx.SiteOf(c)
	ids, err := h.Views.AccountStatuses(c.UserContext(), seer(c), a.ID,
		federation.AccountStatusesFilter{ExcludeReplies: true, ExcludeReblogs: true}, federation.Page{Limit: PageSize})
	if err != nil {
		return err
	}
	ss, err := h.Source.PublicStatuses(c.UserContext(), site, ids)
	if err != nil {
		return err
	}
	l := h.looks(c)
	p := l.person(out)
	ch := rssChannel{Title: p.Name, Link: p.Profile, Description: "Public posts from @" + p.Handle}
	if p.Avatar != "" {
		ch.Image = &rssImage{URL: p.Avatar, Title: p.Name, Link: p.Profile}
	}
	return h.sendRSS(c, ch, l.posts(ss))
}

// tagRSS is /tags/:tag.rss.
func (h *Handler) tagRSS(c *fiber.Ctx) error {
	return h.cached(c, func() error { return h.renderTagRSS(c) })
}

func (h *Handler) renderTagRSS(c *fiber.Ctx) error {
	name, ok := tagName(c)
	if !ok {
		return errs.E(errs.NotFound, "no such hashtag")
	}
	ss, _, err := h.tagPosts(c, name)
	if err != nil {
		return err
	}
	link := httpx.SiteBase(c, h.URL) + "/tags/" + url.PathEscape(name)
	ch := rssChannel{Title: "#" + name, Link: link, Description: "Public posts with #" + name + " on " + httpx.SiteOf(c).Domain}
	return h.sendRSS(c, ch, h.looks(c).posts(ss))
}

// MediaSizes reads the stored sizes of a tenant's uploads by id.
type MediaSizes interface {
	MediaSizes(ctx context.Context, tenantID int64, ids []int64) (map[int64]int64, error)
}

// enclosureSizes are the stored sizes of the posts' local uploads, by
// attachment id; a remote file's size is unknown (0), as is every size
// when they cannot be read (the feed is not refused for them).
func (h *Handler) enclosureSizes(c *fiber.Ctx, posts []*post) map[string]int64 {
	if h.Sizes == nil {
		return nil
	}
	var ids []int64
	for _, p := range posts {
		for _, m := range p.Media {
			if id, err := strconv.ParseInt(m.ID, 10, 64); err == nil && p.Local && m.Inline {
				ids = append(ids, id)
			}
		}
	}
	if len(ids) == 0 {
		return nil
	}
	sizes, err := h.Sizes.MediaSizes(c.UserContext(), httpx.SiteOf(c).TenantID, ids)
	if err != nil {
		return nil
	}
	out := make(map[string]int64, len(sizes))
	for id, n := range sizes {
		out[strconv.FormatInt(id, 10)] = n
	}
	return out
}

func (h *Handler) sendRSS(c *fiber.Ctx, ch rssChannel, posts []*post) error {
	ch.Generator = "Roost"
	sizes := h.enclosureSizes(c, posts)
	for _, p := range posts {
		it := rssItem{GUID: rssGUID{IsPermaLink: true, Value: p.Link}, Link: p.Link, PubDate: rssDate(p.CreatedAt),
			Description: rssBody(p)}
		for _, t := range p.Tags {
			it.Categories = append(it.Categories, t.Name)
		}
		for _, m := range p.Media {
			it.Enclosures = append(it.Enclosures, rssEnclosure{URL: m.URL, Length: strconv.FormatInt(sizes[m.ID], 10),
				Type: mediaType(m.Attachment)})
		}
		ch.Items = append(ch.Items, it)
	}
	b, err := xml.Marshal(rss{Version: "2.0", Channel: ch})
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/rss+xml; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, "public, max-age=60")
	return c.Send(append([]byte(xml.Header), b...))
}

// rssBody is an item's HTML: its content warning as a heading (the text
// stays behind it in readers that show the summary only) and its content.
func rssBody(p *post) string {
	body := p.Status.Content
	if p.SpoilerText != "" {
		body = "<p><strong>" + xmlText(p.SpoilerText) + "</strong></p>" + body
	}
	return body
}

func xmlText(s string) string {
	var b strings.Builder
	if err := xml.EscapeText(&b, []byte(s)); err != nil {
		return ""
	}
	return b.String()
}

// rssDate is a client API timestamp in RFC 822 form, as RSS wants.
func rssDate(ts string) string {
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return ""
	}
	return t.UTC().Format(time.RFC1123Z)
}

// mediaType guesses an attachment's MIME type from its file name, then
// its kind.
func mediaType(a mastodon.Attachment) string {
	if u, err := url.Parse(a.URL); err == nil {
		if t := mime.TypeByExtension(strings.ToLower(path.Ext(u.Path))); t != "" {
			return t
		}
	}
	switch a.Type {
	case "image":
		return "image/jpeg"
	case "video", "gifv":
		return "video/mp4"
	case "audio":
		return "audio/mpeg"
	}
	return "application/octet-stream"
}

// oembedResponse is Mastodon's /api/oembed answer (oembed.com, "rich").
type oembedResponse struct {
	Type         string `json:"type"`
	Version      string `json:"version"`
	Title        string `json:"title"`
	AuthorName   string `json:"author_name"`
	AuthorURL    string `json:"author_url"`
	ProviderName string `json:"provider_name"`
	ProviderURL  string `json:"provider_url"`
	CacheAge     int    `json:"cache_age"`
	HTML         string `json:"html"`
	Width        int    `json:"width"`
	Height       *int   `json:"height"`
}

// oembed answers GET /api/oembed?url= for a local post of this site: the
// post's page URL or its ActivityPub id. The embed is a blockquote (no
// script, no frame: the pages refuse framing).
func (h *Handler) oembed(c *fiber.Ctx) error {
	username, id, ok := h.postOf(c, c.Query("url"))
	if !ok {
		return errs.E(errs.NotFound, "Record not found")
	}
	a, _, err := h.account(c, username)
	if err != nil {
		return err
	}
	site := httpx.SiteOf(c)
	ss, err := h.Source.PublicStatuses(c.UserContext(), site, []int64{id})
	if err != nil {
		return err
	}
	if len(ss) == 0 || ss[0].Reblog != nil || ss[0].Account == nil || ss[0].Account.ID != strconv.FormatInt(a.ID, 10) {
		return errs.E(errs.NotFound, "Record not found")
	}
	p := h.looks(c).post(ss[0])
	width := 400
	if w, err := strconv.Atoi(c.Query("maxwidth")); err == nil && w > 0 && w < width {
		width = w
	}
	base := httpx.SiteBase(c, h.URL)
	return c.JSON(oembedResponse{Type: "rich", Version: "1.0", Title: "New status by " + p.Author.Acct,
		AuthorName: p.Author.Name, AuthorURL: p.Author.Link, ProviderName: site.Domain, ProviderURL: base + "/",
		CacheAge: 86400, HTML: embedHTML(p), Width: width})
}

// embedHTML is a post as a blockquote other sites may paste: its text
// (or its content warning alone) and a link to it.
func embedHTML(p *post) string {
	text := xmlText(excerpt(p.Status.Content, 500))
	if p.SpoilerText != "" {
		text = "Content warning: " + xmlText(p.SpoilerText)
	}
	return `<blockquote class="roost-embed" cite="` + xmlText(p.Link) + `"><p>` + text + `</p>&mdash; ` +
		xmlText(p.Author.Name) + ` (@` + xmlText(p.Author.Handle) + `) <a href="` + xmlText(p.Link) + `">` +
		xmlText(page.Date(p.CreatedAt)) + `</a></blockquote>`
}

// postOf reads a local post's author and id from its page URL
// (/@name/id) or ActivityPub id (/users/name/statuses/id) on one of the
// site's own hosts; anything else is not ours to embed.
func (h *Handler) postOf(c *fiber.Ctx, raw string) (string, int64, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", 0, false
	}
	own := false
	for _, o := range h.origins(c) {
		if ou, err := url.Parse(o); err == nil && strings.EqualFold(ou.Host, u.Host) {
			own = true
		}
	}
	if !own {
		return "", 0, false
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	var name, rawID string
	switch {
	case len(parts) == 2 && strings.HasPrefix(parts[0], "@"):
		name, rawID = parts[0][1:], parts[1]
	case len(parts) == 4 && parts[0] == "users" && parts[2] == "statuses":
		name, rawID = parts[1], parts[3]
	default:
		return "", 0, false
	}
	id, ok := statusID(rawID)
	return name, id, ok && federation.ValidUsername(name)
}

// wantsActivityJSON reports whether Accept asks for an ActivityPub
// document, as api/activitypub decides.
func wantsActivityJSON(accept string) bool {
	return strings.Contains(accept, "application/activity+json") || strings.Contains(accept, "application/ld+json")
}
