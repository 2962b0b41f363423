// Package public serves the pages of every tenant domain that anyone may
// open without signing in: a post with its thread, a profile with its
// posts, a hashtag, the front page, RSS feeds and oEmbed. Every link the
// client API prints (Status.url, Account.url, Tag.url) opens one of them.
//
// The pages show exactly what the client API shows a signed-out reader
// on the same domain: statuses and accounts come from the client API's
// own renderer (mastodon.Handler's Public* methods) and ids from the same
// read port (federation.ViewStore) with the same viewer
// (federation.SignedOut of the tenant). There is no second copy of the
// visibility rules here; a followers-only or direct post answers the
// same 404 as a missing one.
package public

import (
	"context"
	"embed"
	"html/template"
	"log/slog"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/api/mastodon"
	"github.com/roost-social/roost/api/page"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

// Source renders what the client API shows the signed-out public of a
// site (implemented by *mastodon.Handler, public_pages.go there).
type Source interface {
	PublicStatuses(ctx context.Context, site *tenant.Site, ids []int64) ([]*mastodon.Status, error)
	PublicAccount(ctx context.Context, site *tenant.Site, id int64) (*mastodon.Account, error)
	PublicDirectory(ctx context.Context, site *tenant.Site, limit int) ([]*mastodon.Account, error)
	PublicOwner(ctx context.Context, site *tenant.Site) (id, users int64, err error)
	PublicAbout(ctx context.Context, site *tenant.Site) (rules []mastodon.Rule, about string, err error)
}

// Accounts finds a tenant's local accounts by username.
type Accounts interface {
	AccountByUsername(ctx context.Context, tenantID int64, domain, username string) (*federation.Account, error)
}

// Handler serves the public pages. Its fields are read-only after
// Register.
type Handler struct {
	Accounts Accounts
	Views    federation.ViewStore
	Source   Source
	URL      httpx.URLConfig
	Log      *slog.Logger
	// Cache keeps rendered signed-out pages (nil: every page is
	// rendered for every request).
	Cache *PageCache
	// Emojis are the tenants' custom emoji, shown as images in posts,
	// names and bios (nil: shown as their :shortcode: text).
	Emojis Emojis
	// Sizes states uploads' sizes in RSS enclosures (nil: 0, unknown).
	Sizes MediaSizes
	// Finger looks up visitors' servers for remote interaction (nil:
	// the form answers that it is not enabled).
	Finger Finger
	// Deleted finds accounts their owners deleted, whose pages answer
	// 410 Gone as Mastodon's do (nil: 404, as for a name never used).
	Deleted DeletedAccounts

	fingers chan struct{} // lookups in flight (fingerInFlight)

	pages *page.Renderer
}

// DeletedAccounts finds a deleted account's name on a tenant's domain,
// or errs.NotFound (federation/portability.AccountDeletions).
type DeletedAccounts interface {
	Deleted(ctx context.Context, tenantID int64, domain, username string) (*federation.AccountDeletion, error)
}

// PageSize is how many posts a profile or hashtag page shows.
const PageSize = 20

//go:embed templates/*.html templates/style.css
var templateFS embed.FS

// Register mounts the pages on r, behind host routing and ahead of
// api/activitypub, whose /@:username would otherwise take /@name.rss.
// The profile itself (/@name, /users/name) stays routed by
// api/activitypub, which hands browsers to Profile and Status.
func (h *Handler) Register(r fiber.Router) {
	css, err := templateFS.ReadFile("templates/style.css")
	if err != nil {
		panic(err) // embedded: cannot happen
	}
	h.pages = page.NewRenderer(string(css), funcs, templateFS, "templates/*.html").Images(h.imageSources)
	h.fingers = make(chan struct{}, fingerInFlight)
	r.Get("/", h.front)
	r.Get("/about", h.about)
	r.Get("/users/:username/statuses/:id/activity", h.activityPage)
	r.Get("/interact", h.interact)
	r.Get("/authorize_interaction", h.authorizeInteraction)
	r.Get("/api/oembed", h.oembed)
	r.Get("/@:username.rss", h.accountRSS)
	r.Get("/@:username/with_replies", h.profileTab(tabReplies))
	r.Get("/@:username/media", h.profileTab(tabMedia))
	r.Get("/@:username/tagged/:tag", h.profileTab(tabTagged)) // a featured hashtag's url
	r.Get("/@:username/:id", h.statusPage)
	r.Get("/tags/:tag.rss", h.tagRSS)
	r.Get("/tags/:tag", h.tagPage)
}

// seer is who the pages show statuses to: the signed-out public of the
// request's tenant, as the client API's anonymous requests.
func seer(c *fiber.Ctx) int64 { return federation.SignedOut(httpx.SiteOf(c).TenantID) }

// account loads the named local account of the request's site and its
// rendering, or errs.NotFound.
func (h *Handler) account(c *fiber.Ctx, username string) (*federation.Account, *mastodon.Account, error) {
	if !federation.ValidUsername(username) {
		return nil, nil, errs.E(errs.NotFound, "no such account")
	}
	site := httpx.SiteOf(c)
	a, err := h.Accounts.AccountByUsername(c.UserContext(), site.TenantID, site.Domain, username)
	if errs.Is(err, errs.NotFound) && h.Deleted != nil {
		if _, derr := h.Deleted.Deleted(c.UserContext(), site.TenantID, site.Domain, username); derr == nil {
			return nil, nil, errs.E(errs.Gone, "This account was deleted by its owner.")
		}
	}
	if err != nil {
		return nil, nil, err
	}
	out, err := h.Source.PublicAccount(c.UserContext(), site, a.ID)
	if err != nil {
		return nil, nil, err
	}
	return a, out, nil
}

// fail answers err as an error page (page.Failure: a missing and a
// hidden post say the same).
func (h *Handler) fail(c *fiber.Ctx, err error) error {
	log := h.Log
	if log == nil {
		log = httpx.Log(c)
	}
	status, msg := page.Failure(c, log, "public page failed", err)
	title := "Something went wrong"
	switch status {
	case fiber.StatusNotFound:
		title, msg = "Not found", "This page does not exist, or is not public."
	case fiber.StatusGone:
		title = "Account deleted"
	}
	return h.pages.Render(c, status, "error", &view{Page: page.Page{Title: title, Message: msg,
		Host: httpx.SiteOf(c).Domain, Home: "/"}})
}

// maxID reads the max_id paging parameter (0: the newest page).
func maxID(c *fiber.Ctx) int64 {
	n, err := strconv.ParseInt(c.Query("max_id"), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

var funcs = template.FuncMap{
	"date":    page.Date,
	"percent": page.Percent,
	"int64":   func(n int) int64 { return int64(n) },
	"plural": func(n int64, one, many string) string {
		if n == 1 {
			return "1 " + one
		}
		return strconv.FormatInt(n, 10) + " " + many
	},
	"item":  func(p *post) postItem { return postItem{P: p} },
	"focus": func(p *post) postItem { return postItem{P: p, Focus: true} },
	// A pinned post is listed again below: its element gets its own id.
	"pinned": func(p *post) postItem { return postItem{P: p, Prefix: "pinned-"} },
	"deref": func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	},
}

// postItem is a post in a list, or the focus of a thread.
type postItem struct {
	P     *post
	Focus bool
	// Prefix starts the element's id (unique on the page).
	Prefix string
}
