package mastodon

import (
	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/profile"
)

// verifyLinks starts checking a's unverified link fields (rel=me) in the
// background: a page must link back to its profile or actor URL.
func (h *Handler) verifyLinks(c *fiber.Ctx, a *federation.Account) {
	if h.RelMe == nil {
		return
	}
	if !profile.UnverifiedLinks(a) {
		return
	}
	l := h.renderer(c).linksFor(a.Domain)
	handle := federation.NewLinks(h.URL.Scheme, a.Domain, h.URL.Port)
	h.RelMe.Start(a.ID, []string{l.Profile(a.Username), l.Actor(a.Username), handle.Profile(a.Username)})
}

// RelMe verifies a local account's profile links in the background.
type RelMe interface {
	// Start checks the account's unverified link fields against its own
	// URLs (linkBacks), without holding up the caller.
	Start(accountID int64, linkBacks []string)
}
