package webapp

import (
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/mastodon"
	"github.com/roost-social/roost/federation/social/tag"
	"github.com/roost-social/roost/internal/errs"
)

// PageSize is how many entries a timeline screen shows.
const PageSize = 20

// timelineData is a timeline screen's.
type timelineData struct {
	Title string
	// Intro is a line under the title.
	Intro string
	Posts []*post
	// Next is the older page ("" on the last); First the newest, shown
	// when this is not the first page.
	Next, First string
	// Compose puts a compose box above the posts (home).
	Compose *composeData
	// Stream names the live stream the script listens to ("" for none):
	// new posts are inserted at the top of the first page.
	Stream string
	// Focus is the post a thread screen is about.
	Focus *post
	Empty string
}

// registerTimelines mounts the timeline screens.
func (h *Handler) registerTimelines(r fiber.Router) {
	r.Get("/home", h.app(h.home))
	r.Get("/public/local", h.app(h.timelineScreen("Local", "Posts from people on this site.", "/api/v1/timelines/public", url.Values{"local": {"true"}})))
	r.Get("/public", h.app(h.timelineScreen("Federated", "Public posts from here and the servers this site knows.", "/api/v1/timelines/public", nil)))
	r.Get("/foryou", h.app(h.timelineScreen("For you", "Posts ranked for you from the people you follow and their circles.", "/api/v1/timelines/for_you", nil)))
	r.Get("/bookmarks", h.app(h.timelineScreen("Bookmarks", "", "/api/v1/bookmarks", nil)))
	r.Get("/favourites", h.app(h.timelineScreen("Favourites", "", "/api/v1/favourites", nil)))
	r.Get("/tags/:tag", h.tagScreen)
	r.Get("/statuses/:id", h.app(h.thread))
}

// home is the home timeline, with a compose box.
func (h *Handler) home(c *fiber.Ctx) error {
	d := &timelineData{Title: "Home", Empty: "Nothing here yet: follow people, or post something.",
		Compose: &composeData{Visibility: "public", Key: newKey(), Inline: true}}
	if c.Query("max_id") == "" {
		d.Stream = "user"
	}
	return h.showTimeline(c, "/api/v1/timelines/home", nil, d)
}

func (h *Handler) timelineScreen(title, intro, path string, q url.Values) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return h.showTimeline(c, path, q, &timelineData{Title: title, Intro: intro, Empty: "Nothing here yet."})
	}
}

// tagScreen is a hashtag's timeline for a signed-in viewer; everyone
// else gets the public page (api/public) behind.
func (h *Handler) tagScreen(c *fiber.Ctx) error {
	v, err := h.loadViewer(c)
	if err != nil {
		return h.fail(c, err)
	}
	if v == nil || strings.HasSuffix(c.Params("tag"), ".rss") {
		return c.Next()
	}
	raw, err := url.PathUnescape(c.Params("tag"))
	name, ok := tag.Name(raw)
	if err != nil || !ok {
		return h.fail(c, errs.E(errs.NotFound, "no such hashtag"))
	}
	return h.showTimeline(c, "/api/v1/timelines/tag/"+url.PathEscape(name), nil,
		&timelineData{Title: "#" + name, Empty: "No posts with this hashtag yet."})
}

// showTimeline renders a page of the client API timeline at path.
func (h *Handler) showTimeline(c *fiber.Ctx, path string, q url.Values, d *timelineData) error {
	q = pageQuery(c, q)
	var ss []*mastodon.Status
	link, err := h.call(c, fiber.MethodGet, path+"?"+q.Encode(), "", nil, &ss)
	if err != nil {
		return h.fail(c, err)
	}
	l := h.looks(c)
	d.Posts = l.posts(ss)
	if err := h.withRelations(c, l); err != nil {
		return h.fail(c, err)
	}
	d.Next, d.First = pageLinks(c, link)
	return h.render(c, "timeline", d)
}

// pageQuery is q with the screen's paging parameter (max_id, digits only)
// and the page size.
func pageQuery(c *fiber.Ctx, q url.Values) url.Values {
	out := url.Values{"limit": {"20"}}
	for k, v := range q {
		out[k] = v
	}
	if m := c.Query("max_id"); validID(m) {
		out.Set("max_id", m)
	}
	return out
}

// pageLinks turns the client API's Link header into the screen's links:
// the next (older) page's max_id on this screen's path, and the first
// page's when this is not it.
func pageLinks(c *fiber.Ctx, link string) (next, first string) {
	if m := nextMaxID(link); m != "" {
		next = c.Path() + "?max_id=" + m
	}
	if c.Query("max_id") != "" {
		first = c.Path()
	}
	return next, first
}

// nextMaxID reads max_id from the rel="next" link of a Link header.
func nextMaxID(link string) string {
	for _, part := range strings.Split(link, ",") {
		target, params, ok := strings.Cut(part, ";")
		if !ok || !strings.Contains(params, `rel="next"`) {
			continue
		}
		u, err := url.Parse(strings.Trim(strings.TrimSpace(target), "<>"))
		if err != nil {
			return ""
		}
		if m := u.Query().Get("max_id"); validID(m) {
			return m
		}
	}
	return ""
}

// thread is one post with its ancestors and replies, as the viewer may
// see them.
func (h *Handler) thread(c *fiber.Ctx) error {
	id := c.Params("id")
	if !validID(id) {
		return h.fail(c, errs.E(errs.NotFound, "no such post"))
	}
	var s mastodon.Status
	if err := h.get(c, "/api/v1/statuses/"+id, nil, &s); err != nil {
		return h.fail(c, err)
	}
	var ctx struct {
		Ancestors   []*mastodon.Status `json:"ancestors"`
		Descendants []*mastodon.Status `json:"descendants"`
	}
	if err := h.get(c, "/api/v1/statuses/"+id+"/context", nil, &ctx); err != nil {
		return h.fail(c, err)
	}
	l := h.looks(c)
	d := &timelineData{Title: "Post", Focus: l.post(&s)}
	d.Posts = append(l.posts(ctx.Ancestors), d.Focus)
	d.Posts = append(d.Posts, l.posts(ctx.Descendants)...)
	if err := h.withRelations(c, l); err != nil {
		return h.fail(c, err)
	}
	d.Compose = &composeData{Visibility: d.Focus.Visibility, Key: newKey(), Inline: true, ReplyTo: d.Focus,
		Text: mentionsFor(d.Focus, viewer(c).Account.Username)}
	return h.render(c, "timeline", d)
}
