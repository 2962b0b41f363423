package public

import (
	"html/template"
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/api/mastodon"
	"github.com/roost-social/roost/api/page"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/tag"
	"github.com/roost-social/roost/internal/errs"
)

// The profile's tabs.
const (
	tabPosts   = "posts"
	tabReplies = "with_replies"
	tabMedia   = "media"
	tabTagged  = "tagged"
)

var errNoPost = errs.E(errs.NotFound, "no such post")

// Profile answers a browser at /@name or /users/name (api/activitypub
// hands it over) with the profile of a, a local account of the site.
func (h *Handler) Profile(c *fiber.Ctx, username string) error {
	return h.cached(c, func() error { return h.profile(c, username, tabPosts) })
}

// Status answers a browser at a post's ActivityPub id (api/activitypub
// hands it over) with the post's page; the id is the status's.
func (h *Handler) Status(c *fiber.Ctx, username, rawID string) error {
	id, ok := statusID(rawID)
	if !ok {
		return h.fail(c, errNoPost)
	}
	return h.cached(c, func() error { return h.post(c, username, id) })
}

func (h *Handler) profileTab(tab string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return h.cached(c, func() error { return h.profile(c, c.Params("username"), tab) })
	}
}

// profile shows an account and its public and unlisted posts, pinned
// first on the first page, paged by max_id.
func (h *Handler) profile(c *fiber.Ctx, username, tab string) error {
	a, out, err := h.account(c, username)
	if err != nil {
		return h.fail(c, err)
	}
	site, ctx := httpx.SiteOf(c), c.UserContext()
	f := federation.AccountStatusesFilter{ExcludeReplies: tab == tabPosts, OnlyMedia: tab == tabMedia}
	if tab == tabTagged {
		name, ok := tagName(c)
		if !ok {
			return h.fail(c, errs.E(errs.NotFound, "no such hashtag"))
		}
		f.Tagged = name
	}
	before := maxID(c)
	ids, err := h.Views.AccountStatuses(ctx, seer(c), a.ID, f, federation.Page{MaxID: before, Limit: PageSize})
	if err != nil {
		return h.fail(c, err)
	}
	l := h.looks(c)
	v := &view{Page: page.Page{Host: site.Domain}, SiteName: site.TenantName, Tab: tab, Tag: f.Tagged}
	v.Profile = l.person(out)
	v.Title = v.Profile.Name + " (@" + v.Profile.Handle + ")"
	var pinned []int64
	if before == 0 && tab == tabPosts {
		pinned, err = h.Views.AccountStatuses(ctx, seer(c), a.ID, federation.AccountStatusesFilter{Pinned: true},
			federation.Page{Limit: federation.MaxPins})
		if err != nil {
			return h.fail(c, err)
		}
	}
	// One rendering for the pinned posts and the page: one set of queries.
	byID, err := h.statuses(c, l, pinned, ids)
	if err != nil {
		return h.fail(c, err)
	}
	v.Pinned, v.Posts = pick(byID, pinned), pick(byID, ids)
	if len(ids) == PageSize {
		v.Next = c.Path() + "?max_id=" + strconv.FormatInt(ids[len(ids)-1], 10)
	}
	v.Meta = meta{Canonical: v.Profile.Profile, Description: excerpt(out.Note, 200), Image: v.Profile.Avatar,
		Type: "profile", ActivityJSON: httpx.Links(c, h.URL).Actor(a.Username), RSS: v.Profile.RSS}
	return h.pages.Render(c, fiber.StatusOK, "profile", v, h.interactTargets()...)
}

// statusPage answers /@name/:id, the url the client API gives a local
// post. ActivityPub clients are sent to the post's id.
func (h *Handler) statusPage(c *fiber.Ctx) error {
	id, ok := statusID(c.Params("id"))
	if !ok {
		return h.fail(c, errNoPost)
	}
	if wantsActivityJSON(c.Get(fiber.HeaderAccept)) && federation.ValidUsername(c.Params("username")) {
		c.Vary(fiber.HeaderAccept)
		return c.Redirect(httpx.Links(c, h.URL).Actor(c.Params("username"))+"/statuses/"+strconv.FormatInt(id, 10),
			fiber.StatusFound)
	}
	return h.cached(c, func() error { return h.post(c, c.Params("username"), id) })
}

// activityPage answers a browser at an activity id (…/statuses/:id/activity:
// a local post's Create, or the account's boost :id, whose Announce id the
// client API prints as the boost's uri; boosts before issue 18 were named
// after the boosted post) with that post's page. ActivityPub requests go on to api/activitypub.
func (h *Handler) activityPage(c *fiber.Ctx) error {
	if wantsActivityJSON(c.Get(fiber.HeaderAccept)) {
		return c.Next()
	}
	c.Vary(fiber.HeaderAccept)
	id, ok := statusID(c.Params("id"))
	if !ok {
		return h.fail(c, errNoPost)
	}
	a, _, err := h.account(c, c.Params("username"))
	if err != nil {
		return h.fail(c, err)
	}
	byID, err := h.statuses(c, h.looks(c), []int64{id})
	if err != nil {
		return h.fail(c, err)
	}
	p := byID[id]
	// Another account's boost is no activity under this name.
	if p == nil || (p.BoostedBy != nil && p.BoostedBy.ID != strconv.FormatInt(a.ID, 10)) {
		return h.fail(c, errNoPost)
	}
	return c.Redirect(p.Link, fiber.StatusFound)
}

// post shows one of the named account's posts with its thread: the
// ancestors and replies the signed-out public may see.
func (h *Handler) post(c *fiber.Ctx, username string, id int64) error {
	c.Vary(fiber.HeaderAccept)
	a, _, err := h.account(c, username)
	if err != nil {
		return h.fail(c, err)
	}
	site, ctx := httpx.SiteOf(c), c.UserContext()
	anc, desc, err := h.Views.Context(ctx, seer(c), id)
	if err != nil {
		return h.fail(c, err)
	}
	// The post and its thread in one rendering: one set of queries.
	l := h.looks(c)
	byID, err := h.statuses(c, l, anc, []int64{id}, desc)
	if err != nil {
		return h.fail(c, err)
	}
	focus := byID[id]
	me := strconv.FormatInt(a.ID, 10)
	// A boost's url (the client API prints one for every boost) opens
	// the post it boosted.
	if focus != nil && focus.BoostedBy != nil && focus.BoostedBy.ID == me {
		return c.Redirect(focus.Link, fiber.StatusFound)
	}
	// Not visible, another account's post under this name, or another
	// account's boost: no post here.
	if focus == nil || focus.BoostedBy != nil || focus.Author.ID != me {
		return h.fail(c, errNoPost)
	}
	v := &view{Page: page.Page{Host: site.Domain}, SiteName: site.TenantName, Focus: focus,
		Ancestors: pick(byID, anc), Replies: pick(byID, desc)}
	p := v.Focus
	v.Title = p.Author.Name + ": " + excerpt(p.SpoilerText+" "+p.Status.Content, 60)
	desc0 := excerpt(p.Status.Content, 300)
	if p.SpoilerText != "" {
		desc0 = "Content warning: " + p.SpoilerText
	}
	v.Meta = meta{Canonical: p.Link, Description: desc0, Image: p.Author.Avatar, Type: "article",
		ActivityJSON: p.URI, RSS: p.Author.RSS, Author: p.Author.Name,
		OEmbed: httpx.SiteBase(c, h.URL) + "/api/oembed?url=" + url.QueryEscape(p.Link)}
	for _, m := range p.Media {
		if m.Inline && m.Kind == "image" && p.SpoilerText == "" && !p.Sensitive {
			v.Meta.Image = m.URL
			break
		}
	}
	return h.pages.Render(c, fiber.StatusOK, "status", v, h.interactTargets()...)
}

// statuses renders the statuses of the id lists that the signed-out
// public may see, each once, by id.
func (h *Handler) statuses(c *fiber.Ctx, l *looks, lists ...[]int64) (map[int64]*post, error) {
	var ids []int64
	seen := map[int64]bool{}
	for _, list := range lists {
		for _, id := range list {
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	ss, err := h.Source.PublicStatuses(c.UserContext(), httpx.SiteOf(c), ids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]*post, len(ss))
	for _, s := range ss {
		id, err := strconv.ParseInt(s.ID, 10, 64)
		if err == nil {
			out[id] = l.post(s)
		}
	}
	return out, nil
}

// pick lists the posts of ids that were rendered, in order.
func pick(byID map[int64]*post, ids []int64) []*post {
	out := make([]*post, 0, len(ids))
	for _, id := range ids {
		if p, ok := byID[id]; ok {
			out = append(out, p)
		}
	}
	return out
}

// tagPage lists the public posts with a hashtag that the tenant knows.
func (h *Handler) tagPage(c *fiber.Ctx) error {
	return h.cached(c, func() error { return h.renderTag(c) })
}

func (h *Handler) renderTag(c *fiber.Ctx) error {
	name, ok := tagName(c)
	if !ok {
		return h.fail(c, errs.E(errs.NotFound, "no such hashtag"))
	}
	ss, ids, err := h.tagPosts(c, name)
	if err != nil {
		return h.fail(c, err)
	}
	site := httpx.SiteOf(c)
	l := h.looks(c)
	base := httpx.SiteBase(c, h.URL) + "/tags/" + url.PathEscape(name)
	v := &view{Page: page.Page{Host: site.Domain, Title: "#" + name}, SiteName: site.TenantName, Tag: name,
		Posts: l.posts(ss)}
	if len(ids) == PageSize {
		v.Next = "/tags/" + url.PathEscape(name) + "?max_id=" + strconv.FormatInt(ids[len(ids)-1], 10)
	}
	v.Meta = meta{Canonical: base, Description: "Public posts with #" + name + " on " + site.Domain,
		Type: "website", RSS: base + ".rss"}
	return h.pages.Render(c, fiber.StatusOK, "tag", v)
}

// tagName reads the :tag parameter as a hashtag name (lower case).
func tagName(c *fiber.Ctx) (string, bool) {
	raw, err := url.PathUnescape(c.Params("tag"))
	if err != nil {
		return "", false
	}
	return tag.Name(raw)
}

// tagPosts pages the tenant's public posts with the hashtag.
func (h *Handler) tagPosts(c *fiber.Ctx, name string) ([]*mastodon.Status, []int64, error) {
	site := httpx.SiteOf(c)
	depsOf(c).add("#" + name)
	ids, err := h.Views.TagTimeline(c.UserContext(), site.TenantID, seer(c), name, federation.TimelineFilter{},
		federation.Page{MaxID: maxID(c), Limit: PageSize})
	if err != nil {
		return nil, nil, err
	}
	ss, err := h.Source.PublicStatuses(c.UserContext(), site, ids)
	return ss, ids, err
}

// front is the site's front page: the profile of a tenant's only
// account, or the site's name, its directory and how to sign in.
func (h *Handler) front(c *fiber.Ctx) error {
	return h.cached(c, func() error { return h.renderFront(c) })
}

func (h *Handler) renderFront(c *fiber.Ctx) error {
	site, ctx := httpx.SiteOf(c), c.UserContext()
	owner, users, err := h.Source.PublicOwner(ctx, site)
	if err != nil && errs.CodeOf(err) != errs.NotFound {
		return h.fail(c, err)
	}
	if users == 1 && owner != 0 {
		if out, err := h.Source.PublicAccount(ctx, site, owner); err == nil && out.Acct == out.Username {
			return h.profile(c, out.Username, tabPosts)
		}
	}
	return h.renderSite(c, "/")
}

// about is Mastodon's /about, which the client API's instance prints as
// its about URL: the site's own page, also on a one-account site whose
// front page is that account's profile.
func (h *Handler) about(c *fiber.Ctx) error {
	return h.cached(c, func() error { return h.renderSite(c, "/about") })
}

// renderSite is the site's page at path: its name and description, its
// directory, rules and how to sign in.
func (h *Handler) renderSite(c *fiber.Ctx, path string) error {
	site, ctx := httpx.SiteOf(c), c.UserContext()
	dir, err := h.Source.PublicDirectory(ctx, site, 40)
	if err != nil {
		return h.fail(c, err)
	}
	rules, about, err := h.Source.PublicAbout(ctx, site)
	if err != nil {
		return h.fail(c, err)
	}
	l := h.looks(c)
	v := &view{Page: page.Page{Host: site.Domain, Title: site.TenantName}, SiteName: site.TenantName, SignIn: site.Domain,
		// about.Render's HTML: the admin's text escaped, only its own tags.
		Rules: rules, About: template.HTML(about)}
	for _, a := range dir {
		v.Directory = append(v.Directory, l.person(a))
	}
	v.Meta = meta{Canonical: httpx.SiteBase(c, h.URL) + path, Description: site.TenantName + " on " + site.Domain, Type: "website"}
	return h.pages.Render(c, fiber.StatusOK, "front", v)
}
