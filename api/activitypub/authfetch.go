package activitypub

import (
	"context"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

// FetchVerifier checks the signature of a GET and returns its signer
// (inbox.Service.VerifyFetch): errs.Unauthorized when unsigned or badly
// signed, errs.Forbidden when the signer's server is suspended.
type FetchVerifier interface {
	VerifyFetch(ctx context.Context, r federation.InboxRequest) (*federation.Account, error)
}

// authorizedFetch reports whether site requires signed GETs: its own
// setting when it has one, else the instance's.
func (h *Handler) authorizedFetch(site *tenant.Site) bool {
	if site.AuthorizedFetch != nil {
		return *site.AuthorizedFetch
	}
	return h.AuthorizedFetch
}

// authorize enforces authorized fetch (Mastodon's secure mode) on an
// ActivityPub document request: when the site requires it, the GET must
// be signed by a server that is not suspended here. It is called only
// for ActivityPub answers; browsers' HTML pages, the instance actor,
// WebFinger, host-meta and NodeInfo stay public. A signed answer is
// private to its signer, so caches must neither share it nor serve it to
// an unsigned request.
func (h *Handler) authorize(c *fiber.Ctx) error {
	site := httpx.SiteOf(c)
	if !h.authorizedFetch(site) {
		return nil
	}
	c.Vary(fiber.HeaderAccept, "Signature", "Signature-Input", fiber.HeaderAuthorization)
	c.Set(fiber.HeaderCacheControl, "private, no-store")
	if h.Fetches == nil { // misconfigured: refuse rather than serve unchecked
		return errs.E(errs.Unauthorized, "this server requires signed fetches")
	}
	_, err := h.Fetches.VerifyFetch(c.UserContext(), federation.InboxRequest{
		Method:    c.Method(),
		Target:    string(c.Request().RequestURI()),
		Host:      string([]byte(c.Hostname())),
		Header:    headers(c),
		TenantID:  site.TenantID,
		Domain:    site.Domain,
		ActorHost: site.ActorHost(),
	})
	if errs.Is(err, errs.Unauthorized) {
		c.Set(fiber.HeaderWWWAuthenticate, `Signature realm="`+site.ActorHost()+`"`)
	}
	return err
}
