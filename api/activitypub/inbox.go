package activitypub

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// inbox accepts a delivery to a personal inbox (/users/:username/inbox)
// or the tenant's shared inbox (/inbox). The body cap (1 MB, 413) is
// enforced by the server before this runs; everything else is the inbox
// service's: 202 once the activity is durably queued.
func (h *Handler) inbox(c *fiber.Ctx) error {
	if enc := c.Get(fiber.HeaderContentEncoding); enc != "" && enc != "identity" {
		return c.Status(fiber.StatusUnsupportedMediaType).JSON(httpx.ErrorBody{Error: "compressed request bodies are not accepted"})
	}
	site := httpx.SiteOf(c)
	req := federation.InboxRequest{
		Method:    c.Method(),
		Target:    string(c.Request().RequestURI()),
		Host:      string([]byte(c.Hostname())),
		Header:    headers(c),
		Body:      append([]byte(nil), c.Body()...),
		TenantID:  site.TenantID,
		Domain:    site.Domain,
		ActorHost: site.ActorHost(),
	}
	if name := c.Params("username"); name != "" {
		acct, err := h.account(c, name)
		if err != nil {
			return err
		}
		req.Recipient = acct.Username
	}
	if len(req.Body) == 0 {
		return errs.E(errs.Invalid, "the request has no body")
	}
	if err := h.Inbox.Receive(c.UserContext(), req); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusAccepted)
}

// headers copies the request headers out of fasthttp's reused buffers.
func headers(c *fiber.Ctx) http.Header {
	h := make(http.Header, 16) // a signed delivery carries about ten
	c.Request().Header.VisitAll(func(k, v []byte) {
		h.Add(string(k), string(v))
	})
	return h
}
