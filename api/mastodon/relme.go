package mastodon

import (
	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/federation"
)

// keepVerified carries verification over to fields whose value did not
// change; a changed (or new) value is unverified until checked again.
func keepVerified(old, fields []federation.Field) {
	verified := map[string]*federation.Field{}
	for i := range old {
		if old[i].VerifiedAt != nil {
			verified[old[i].Value] = &old[i]
		}
	}
	for i := range fields {
		if o, ok := verified[fields[i].Value]; ok {
			fields[i].VerifiedAt = o.VerifiedAt
		}
	}
}

// verifyLinks starts checking a's unverified link fields (rel=me) in the
// background: a page must link back to its profile or actor URL.
func (h *Handler) verifyLinks(c *fiber.Ctx, a *federation.Account) {
	if h.RelMe == nil {
		return
	}
	needed := false
	for _, f := range a.Fields {
		if f.VerifiedAt == nil && (len(f.Value) > 8 && (f.Value[:7] == "http://" || f.Value[:8] == "https://")) {
			needed = true
		}
	}
	if !needed {
		return
	}
	l := h.renderer(c).linksFor(a.Domain)
	handle := federation.NewLinks(h.URL.Scheme, a.Domain, h.URL.Port)
	h.RelMe.Start(a.ID, []string{l.Profile(a.Username), l.Actor(a.Username), handle.Profile(a.Username)})
}
