package activitypub

import (
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/internal/errs"
)

// stamp serves a QuoteAuthorization a local account issued (FEP-044f), so
// any server can check that a quote of its post was allowed. A revoked
// stamp, or one of another account or tenant, is not found.
func (h *Handler) stamp(c *fiber.Ctx) error {
	if err := h.authorize(c); err != nil {
		return err
	}
	acct, err := h.account(c, c.Params("username"))
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return errs.E(errs.NotFound, "no such stamp")
	}
	st, err := h.Stamps.Stamp(c.UserContext(), id)
	if err != nil {
		return err
	}
	if st.Revoked || st.QuotedAccountID != acct.ID {
		return errs.E(errs.NotFound, "no such stamp")
	}
	links := httpx.Links(c, h.URL)
	me := links.Actor(acct.Username)
	return sendJSON(c, ap.ContentType, ap.NewQuoteAuthorization(me+"/quote_authorizations/"+strconv.FormatInt(id, 10),
		me, st.QuotingURI, st.QuotedURI))
}
