package mastodon

import (
	"bytes"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/hotcache"
)

// The home page cache (issue 21): a node keeps each rendered home
// timeline page (body and Link header) per tenant, host, viewer and
// paging, and answers a repeated read from memory with no database round
// trip. A page is kept only while nothing it was rendered from changed:
// it is tagged with its viewer, tenant, every status and account its
// render read, and dropped when the database announces a change of any
// (migrations 046 and 054, heard by federation/postgres.CacheChanges; no
// listener, no cache). The viewer's own writes on this node drop their
// pages before the write's answer is sent (dropOwnPages), so a person
// sees their change on their next read. Time-bound parts (a poll ending,
// a filter or a mute expiring) bound the entry's life.

// HomePagesBytes and HomePagesTTL bound the cache: the bytes of the
// pages held (about 3,000 first pages of 20 posts), and a backstop on
// each entry's life behind the announcements.
const (
	HomePagesBytes = 64 << 20
	HomePagesTTL   = 2 * time.Minute
	// homePageMax is the largest page kept; homeQueryMax the longest
	// query string a key is made of (anything longer renders afresh).
	homePageMax  = 1 << 20
	homeQueryMax = 512
)

// HomePageKey is everything a rendered home page depends on besides the
// data it was read from: the tenant and viewer, the host and the base
// URL and path its Link header names, the query parameters the Link
// header keeps (encoded in order), the paging as read, and the version
// of the domain blocks in force (Handler.Blocks: media of a rejected
// domain is left out), which each node reloads on its own.
type HomePageKey struct {
	Tenant, Viewer   int64
	Host, Base, Path string
	Rest             string
	Page             federation.Page
	Blocks           int64
}

// HomePageEntry is one rendered page: what the answer carries.
type HomePageEntry struct {
	Body              []byte
	Link, ContentType string
}

// NewHomePages is the home page cache in set, holding at most maxBytes
// of pages (HomePagesBytes when 0).
func NewHomePages(set *hotcache.Set, maxBytes int) *hotcache.Cache[HomePageKey, *HomePageEntry] {
	if maxBytes <= 0 {
		maxBytes = HomePagesBytes
	}
	return hotcache.NewBytes[HomePageKey, *HomePageEntry](set, "home_pages", maxBytes, HomePagesTTL,
		func(e *HomePageEntry) int { return len(e.Body) + len(e.Link) + len(e.ContentType) + 512 })
}

// cachedHomePage answers from h.HomePages, or renders the page (recording
// what it reads) and keeps it unless something it read changed meanwhile.
func (h *Handler) cachedHomePage(c *fiber.Ctx, pages federation.HomePages) error {
	k, ok := h.homeKey(c)
	if !ok {
		return h.homePage(c, pages, nil)
	}
	if e, hit := h.HomePages.Get(k); hit {
		if e.Link != "" {
			c.Set(fiber.HeaderLink, e.Link)
		}
		c.Set(fiber.HeaderContentType, e.ContentType)
		return c.Send(e.Body)
	}
	gen := h.HomePages.Generation() // before reading: a change from now on refuses the page
	now := h.HomePages.Now()
	deps := newPageDeps(k.Tenant, k.Viewer)
	if err := h.homePage(c, pages, deps); err != nil {
		return err
	}
	resp := c.Response()
	if resp.StatusCode() != fiber.StatusOK || len(resp.Body()) > homePageMax {
		return nil
	}
	e := &HomePageEntry{Body: bytes.Clone(resp.Body()), Link: string(resp.Header.Peek(fiber.HeaderLink)),
		ContentType: string(resp.Header.ContentType())}
	h.HomePages.PutUntil(gen, k, e, deps.until(now), deps.tags()...)
	return nil
}

// homeKey is the request's key; ok is false for a request not kept (no
// viewer, a long or malformed query).
func (h *Handler) homeKey(c *fiber.Ctx) (HomePageKey, bool) {
	v := viewer(c)
	raw := c.Request().URI().QueryString()
	if v == 0 || len(raw) > homeQueryMax {
		return HomePageKey{}, false
	}
	q, err := url.ParseQuery(string(raw))
	if err != nil {
		return HomePageKey{}, false
	}
	for _, p := range []string{"max_id", "min_id", "since_id", "access_token"} { // as linkHeader drops them
		q.Del(p)
	}
	var blocks int64
	if b, ok := h.Blocks.(interface{ Version() int64 }); ok {
		blocks = b.Version()
	}
	// Cloned: fiber's Hostname and Path share the request's buffers,
	// which the next request on the connection overwrites.
	return HomePageKey{Tenant: httpx.SiteOf(c).TenantID, Viewer: v, Host: strings.Clone(c.Hostname()),
		Base: httpx.SiteBase(c, h.URL), Path: strings.Clone(c.Path()), Rest: q.Encode(), Page: page(c, 20, 40),
		Blocks: blocks}, true
}

// dropOwnPages drops the pages of the request's viewer on this node
// after a write request (any method but GET, HEAD and OPTIONS) of theirs
// ran: the database's announcement reaches every node, but a person's
// next read may come before it does here.
func (h *Handler) dropOwnPages(c *fiber.Ctx) {
	if h.HomePages == nil {
		return
	}
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return
	}
	if v := viewer(c); v != 0 {
		h.HomePages.EvictTags(hotcache.Tag{Kind: hotcache.Viewer, ID: v})
	}
}

// pageDeps is what one page's render read: the statuses and accounts
// whose changes drop it, and the earliest time a part of it changes by
// itself (a poll ends, a filter or mute expires).
type pageDeps struct {
	tenant, viewer int64
	status, acct   map[int64]struct{}
	pulled         []int64 // read authors the viewer follows: their new posts change the page
	ends           []time.Time
}

func newPageDeps(tenant, viewer int64) *pageDeps {
	return &pageDeps{tenant: tenant, viewer: viewer, status: map[int64]struct{}{}, acct: map[int64]struct{}{}}
}

func (d *pageDeps) statuses(ids []int64) {
	if d == nil {
		return
	}
	for _, id := range ids {
		d.status[id] = struct{}{}
	}
}

func (d *pageDeps) accounts(ids []int64) {
	if d == nil {
		return
	}
	for _, id := range ids {
		d.acct[id] = struct{}{}
	}
}

// views records statuses read: each, the original it boosts, its author
// and mentioned accounts, and when its poll ends.
func (d *pageDeps) views(vs []*federation.StatusView) {
	if d == nil {
		return
	}
	for _, v := range vs {
		d.status[v.ID] = struct{}{}
		if v.ReblogOfID != 0 {
			d.status[v.ReblogOfID] = struct{}{}
		}
		d.acct[v.AccountID] = struct{}{}
		d.accounts(v.MentionIDs)
		if v.Poll != nil && v.Poll.EndsAt != nil {
			d.ends = append(d.ends, *v.Poll.EndsAt)
		}
	}
}

// quotes records the quoted statuses and authors, shown or not.
func (d *pageDeps) quotes(qs map[int64]*federation.Quote) {
	if d == nil {
		return
	}
	for _, q := range qs {
		if q.QuotedStatusID != 0 {
			d.status[q.QuotedStatusID] = struct{}{}
		}
		if q.QuotedAccountID != 0 {
			d.acct[q.QuotedAccountID] = struct{}{}
		}
	}
}

// page records the first batch's reads: its statuses (views), accounts,
// and the viewer's filters' and timed mutes' ends.
func (d *pageDeps) page(hp *federation.HomePage) {
	if d == nil {
		return
	}
	for id := range hp.Accounts {
		d.acct[id] = struct{}{}
	}
	d.pulled = append(d.pulled, hp.Pulled...)
	for _, f := range hp.Filters {
		if f.ExpiresAt != nil {
			d.ends = append(d.ends, *f.ExpiresAt)
		}
	}
	if hp.MutesEnd != nil {
		d.ends = append(d.ends, *hp.MutesEnd)
	}
}

// until is the earliest end still ahead of now (zero: none).
func (d *pageDeps) until(now time.Time) time.Time {
	var u time.Time
	for _, t := range d.ends {
		if t.After(now) && (u.IsZero() || t.Before(u)) {
			u = t
		}
	}
	return u
}

// tags are the page's tags: its viewer (home feed rows, hides, relations;
// the viewer's account as a whole and as shown), its tenant, every page,
// each status and account read, and the read authors the viewer follows.
func (d *pageDeps) tags() []hotcache.Tag {
	tags := make([]hotcache.Tag, 0, 5+len(d.status)+len(d.acct)+len(d.pulled))
	tags = append(tags, hotcache.Tag{Kind: hotcache.Viewer, ID: d.viewer}, hotcache.Tag{Kind: hotcache.Account, ID: d.viewer},
		hotcache.Tag{Kind: hotcache.Shown, ID: d.viewer}, hotcache.Tag{Kind: hotcache.Tenant, ID: d.tenant},
		hotcache.Tag{Kind: hotcache.Timelines})
	for id := range d.status {
		tags = append(tags, hotcache.Tag{Kind: hotcache.Status, ID: id})
	}
	for id := range d.acct {
		tags = append(tags, hotcache.Tag{Kind: hotcache.Shown, ID: id})
	}
	for _, id := range d.pulled {
		tags = append(tags, hotcache.Tag{Kind: hotcache.Posts, ID: id})
	}
	return tags
}
