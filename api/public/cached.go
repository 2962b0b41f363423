package public

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/api/page"
)

// What a cached page sends: browsers and shared caches may keep it but
// must ask again each time (no-cache), which costs a 304 when nothing
// changed; a deleted or hidden post is gone from the next view, never
// kept for a max-age. Vary: Cookie keeps a shared cache from answering a
// signed-in browser (which the web app may show more) with this page.
const (
	cachedControl = "no-cache"
	cachedVary    = "Accept, Cookie"
)

// depsLocal holds the request's *deps while a cacheable page renders.
const depsLocal = "roost.public.deps"

// deps collects the keys of what a page shows (PageCache).
type deps struct{ keys map[string]struct{} }

func (d *deps) add(k string) {
	if d != nil {
		d.keys[k] = struct{}{}
	}
}

func (d *deps) list() []string {
	out := make([]string, 0, len(d.keys))
	for k := range d.keys {
		out = append(out, k)
	}
	return out
}

// depsOf is the request's key collector, nil when the page is not cached.
func depsOf(c *fiber.Ctx) *deps {
	d, _ := c.Locals(depsLocal).(*deps)
	return d
}

// sessionCookies are the names of the web app's session cookie (api/page
// Cookies: bare over http, __Host- or __Secure- over https). A browser
// holding one is someone signed in: never answered from the cache.
var sessionCookies = func() []string {
	n := page.BaseName("web", page.Session)
	return []string{n, "__Host-" + n, "__Secure-" + n}
}()

// cacheable reports whether c is a signed-out browser's read the cache
// may answer.
func cacheable(c *fiber.Ctx) bool {
	if c.Method() != fiber.MethodGet || wantsActivityJSON(c.Get(fiber.HeaderAccept)) ||
		len(c.Request().Header.Peek(fiber.HeaderAuthorization)) > 0 {
		return false
	}
	return !hasSession(c)
}

// hasSession reports whether the browser sent the web app's session
// cookie (whether the session is still good is the web app's to say).
func hasSession(c *fiber.Ctx) bool {
	for _, n := range sessionCookies {
		if len(c.Request().Header.Cookie(n)) > 0 {
			return true
		}
	}
	return false
}

// pageKey names a page: the tenant, the host, the path and the one
// parameter pages read (max_id, as parsed: anything else added to the
// query is the same page, and cannot fill the cache with copies).
func pageKey(c *fiber.Ctx) string {
	var b strings.Builder
	b.WriteString(strconv.FormatInt(httpx.SiteOf(c).TenantID, 10))
	b.WriteByte('|')
	b.WriteString(strings.ToLower(c.Hostname()))
	b.WriteByte('|')
	b.WriteString(c.Path())
	if n := maxID(c); n > 0 {
		b.WriteString("?max_id=")
		b.WriteString(strconv.FormatInt(n, 10))
	}
	return b.String()
}

// cached answers a signed-out browser's read of a page from h.Cache, or
// renders it with render and stores it when it is a 200 that sets no
// cookie. Other requests (signed in, not GET, ActivityPub) render as
// before and are stored nowhere.
func (h *Handler) cached(c *fiber.Ctx, render func() error) error {
	c.Vary(fiber.HeaderCookie)
	if h.Cache == nil || !cacheable(c) {
		return render()
	}
	key := pageKey(c)
	if p, ok := h.Cache.Get(key); ok {
		return sendPage(c, p)
	}
	begun := h.Cache.Begin()
	d := &deps{keys: map[string]struct{}{"t" + strconv.FormatInt(httpx.SiteOf(c).TenantID, 10): {}}}
	c.Locals(depsLocal, d)
	if err := render(); err != nil {
		return err
	}
	resp := &c.Response().Header
	if c.Response().StatusCode() != fiber.StatusOK || len(resp.Peek(fiber.HeaderSetCookie)) > 0 {
		return nil
	}
	p := &CachedPage{Key: key, Body: bytes.Clone(c.Response().Body())}
	sum := sha256.Sum256(p.Body)
	p.ETag = `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
	resp.VisitAll(func(k, v []byte) {
		if keepHeader(string(k)) {
			p.Headers = append(p.Headers, [2]string{string(k), string(v)})
		}
	})
	h.Cache.Put(p, d.list(), begun)
	return sendPage(c, p)
}

// keepHeader reports whether a page's response header is stored with
// it: the page's own (type, policy, vary), not the request's (id, date,
// length) nor what sendPage sets.
func keepHeader(k string) bool {
	switch strings.ToLower(k) {
	case "content-length", "date", "server", "set-cookie", "x-request-id", "etag", "cache-control",
		"connection", "transfer-encoding", "vary":
		return false
	}
	return true
}

// sendPage answers with p, or 304 when the browser holds it.
func sendPage(c *fiber.Ctx, p *CachedPage) error {
	for _, h := range p.Headers {
		c.Set(h[0], h[1])
	}
	c.Set(fiber.HeaderETag, p.ETag)
	c.Set(fiber.HeaderCacheControl, cachedControl)
	c.Set(fiber.HeaderVary, cachedVary)
	if etagMatch(c.Get(fiber.HeaderIfNoneMatch), p.ETag) {
		c.Response().ResetBody()
		return c.SendStatus(fiber.StatusNotModified)
	}
	c.Status(fiber.StatusOK)
	return c.Send(p.Body) // p.Body is never written again: sent without a copy
}

// etagMatch reports whether an If-None-Match list names tag (weak
// comparison, RFC 9110 13.1.2).
func etagMatch(header, tag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == tag || t == "*" {
			return true
		}
	}
	return false
}
