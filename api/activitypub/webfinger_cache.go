package activitypub

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/internal/hotcache"
)

// WebFingersSize and WebFingersTTL bound the cache of rendered WebFinger
// answers (issue 21): one small document per local account asked about.
// The TTL is only a backstop: an answer is dropped when the database
// announces a change of its account or its tenant (migration 046), the
// same tags the accounts-by-name cache it is built from uses.
const (
	WebFingersSize = 10_000
	WebFingersTTL  = 5 * time.Minute
)

// WebFingerKey is what an account's WebFinger answer depends on: the
// tenant, the hosts its links are formed on, and the name asked for
// (matched case-insensitively, answered with the account's own).
type WebFingerKey struct {
	Tenant    int64
	Base      string // the site's handle-domain URL (the subscribe template)
	ActorBase string // the actors' URL (self and profile links)
	Username  string // lowercased
}

// NewWebFingers is the cache of rendered WebFinger answers in set.
func NewWebFingers(set *hotcache.Set) *hotcache.Cache[WebFingerKey, []byte] {
	return hotcache.New[WebFingerKey, []byte](set, "webfinger_documents", WebFingersSize, WebFingersTTL)
}

// accountJRD answers with the rendered document of the named local
// account: from h.WebFingers when it holds it, else rendered (and kept).
func (h *Handler) accountJRD(c *fiber.Ctx, username string) error {
	if h.WebFingers == nil {
		b, _, err := h.renderJRD(c, username)
		if err != nil {
			return err
		}
		return h.sendRenderedJRD(c, b)
	}
	site, links := httpx.SiteOf(c), httpx.Links(c, h.URL)
	// The name is copied: fiber's query strings point into a buffer the
	// next request reuses, and a kept key must not change under the map.
	k := WebFingerKey{Tenant: site.TenantID, Base: httpx.SiteBase(c, h.URL), ActorBase: links.Base,
		Username: strings.Clone(strings.ToLower(username))}
	b, err := h.WebFingers.Load(c.UserContext(), k, func(context.Context) ([]byte, []hotcache.Tag, error) {
		return h.renderJRD(c, username)
	})
	if err != nil {
		return err
	}
	return h.sendRenderedJRD(c, b)
}

// renderJRD renders the named account's document and says what it was
// built from.
func (h *Handler) renderJRD(c *fiber.Ctx, username string) ([]byte, []hotcache.Tag, error) {
	acct, err := h.account(c, username)
	if err != nil {
		return nil, nil, err
	}
	jrd := ap.NewJRD(acct, httpx.Links(c, h.URL))
	// Remote interaction: other servers send their people to this site's
	// page for a post or account they saw elsewhere (api/public interact.go).
	jrd.Links = append(jrd.Links, ap.Link{Rel: "http://ostatus.org/schema/1.0/subscribe",
		Template: httpx.SiteBase(c, h.URL) + "/authorize_interaction?uri={uri}"})
	b, err := json.Marshal(jrd)
	if err != nil {
		return nil, nil, err
	}
	return b, []hotcache.Tag{{Kind: hotcache.Account, ID: acct.ID}, {Kind: hotcache.Tenant, ID: acct.TenantID}}, nil
}

// sendRenderedJRD writes a rendered document with sendJRD's headers.
func (h *Handler) sendRenderedJRD(c *fiber.Ctx, b []byte) error {
	c.Set(fiber.HeaderCacheControl, "max-age=300, public")
	c.Set(fiber.HeaderVary, fiber.HeaderOrigin)
	c.Set(fiber.HeaderContentType, ap.JRDContentType)
	return c.Send(b)
}
