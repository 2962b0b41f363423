// Package activitypub serves the federation-facing documents of every
// tenant: WebFinger, host-meta, NodeInfo and actors. Each handler answers
// for the Site the request's Host resolved to, and only for it.
package activitypub

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/hotcache"
	"github.com/roost-social/roost/tenant"
)

// Handler serves the routes. Its fields are read-only after Register.
type Handler struct {
	Accounts federation.AccountStore
	Inbox    federation.Inbox
	Statuses federation.StatusStore
	// Collections and Sites serve outbox, followers and following.
	Collections federation.CollectionStore
	Sites       tenant.Resolver
	// InstanceKey is the instance actor's public key PEM; empty leaves
	// /actor unrouted.
	InstanceKey string
	URL         httpx.URLConfig
	// AuthorizedFetch requires signed GETs for actors, posts and
	// collections (ROOST_AUTHORIZED_FETCH); a tenant's own setting
	// overrides it. Fetches verifies those signatures.
	AuthorizedFetch bool
	Fetches         FetchVerifier
	// Stamps are the quote stamps local accounts issue (stamp.go); nil
	// leaves them unrouted.
	Stamps federation.QuoteStore
	// Pages answer browsers (no ActivityPub Accept) at an actor's and a
	// post's id with their public pages (api/public); nil: the plain
	// profile page below.
	Pages Pages
	// WebFingers keeps rendered WebFinger answers of accounts
	// (webfinger_cache.go); nil: rendered on every request.
	WebFingers *hotcache.Cache[WebFingerKey, []byte]
	// Deleted finds the names of accounts their owners deleted
	// (federation/portability.AccountDeletions), which answer 410 Gone
	// rather than 404; nil: 404.
	Deleted DeletedAccounts
	// Boosts finds boosts by their Announce ids, served at them
	// (activity.go); nil: only posts' Create ids are served there.
	Boosts federation.BoostFinder
}

// DeletedAccounts finds a deleted account's name on a tenant's domain,
// or errs.NotFound.
type DeletedAccounts interface {
	Deleted(ctx context.Context, tenantID int64, domain, username string) (*federation.AccountDeletion, error)
}

// Pages are the public pages a browser opening an ActivityPub id gets;
// they decide what a browser may see (and answer 404 pages) themselves.
type Pages interface {
	Profile(c *fiber.Ctx, username string) error
	Status(c *fiber.Ctx, username, statusID string) error
}

// Register mounts the routes on r, which must sit behind host routing.
func (h *Handler) Register(r fiber.Router) {
	r.Get("/.well-known/webfinger", h.webfinger)
	r.Get("/.well-known/host-meta", h.hostMeta)
	r.Get("/.well-known/host-meta.json", h.hostMetaJSON)
	r.Get("/.well-known/nodeinfo", h.nodeInfoLinks)
	r.Get("/nodeinfo/2.0", h.nodeInfo("2.0"))
	r.Get("/nodeinfo/2.1", h.nodeInfo("2.1"))
	r.Get("/users/:username", h.actor)
	r.Get("/@:username", h.actor)
	if h.InstanceKey != "" {
		r.Get("/actor", h.instanceActor)
	}
	if h.Statuses != nil {
		r.Get("/users/:username/statuses/:id", h.status)
		r.Get("/users/:username/statuses/:id/activity", h.activity) // activity.go
	}
	if h.Stamps != nil && h.Statuses != nil {
		r.Get("/users/:username/quote_authorizations/:id", h.stamp) // stamp.go
	}
	if h.Collections != nil {
		r.Get("/users/:username/outbox", h.outbox)
		r.Get("/users/:username/followers", h.followers)
		r.Get("/users/:username/following", h.following)
		r.Get("/users/:username/collections/featured", h.featured)
		r.Get("/users/:username/collections/tags", h.featuredTags) // tags.go
	}
	if h.Inbox != nil {
		r.Post("/users/:username/inbox", h.inbox)
		r.Post("/inbox", h.inbox)
	}
}

// account loads the named account on the request's Site, or 404.
func (h *Handler) account(c *fiber.Ctx, username string) (*federation.Account, error) {
	if !federation.ValidUsername(username) {
		return nil, errs.E(errs.NotFound, "no such account")
	}
	site := httpx.SiteOf(c)
	a, err := h.Accounts.AccountByUsername(c.UserContext(), site.TenantID, site.Domain, username)
	if errs.Is(err, errs.NotFound) && h.Deleted != nil {
		if _, derr := h.Deleted.Deleted(c.UserContext(), site.TenantID, site.Domain, username); derr == nil {
			return nil, errs.E(errs.Gone, "this account was deleted")
		}
	}
	return a, err
}

// wantsActivityJSON reports whether Accept asks for an ActivityPub
// document: application/activity+json, or application/ld+json (with the
// ActivityStreams profile, or any, as Mastodon accepts).
func wantsActivityJSON(accept string) bool {
	return strings.Contains(accept, "application/activity+json") || strings.Contains(accept, "application/ld+json")
}

// sendJSON writes v as JSON with the given content type.
func sendJSON(c *fiber.Ctx, contentType string, v any) error {
	if err := c.JSON(v); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, contentType)
	return nil
}
