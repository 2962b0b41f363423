package webapp

import (
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/api/page"
	"github.com/roost-social/roost/federation/portability"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/ratelimit"
)

// Deleting the account (Mastodon's /settings/delete): the password, and
// a code when two-factor sign-in is on, through the deletion use case
// (federation/portability.AccountDeletions), which suspends the account
// at once and leaves the rest to roost work. The session's token is
// revoked with every other; the cookie goes too.

func (h *Handler) registerDeletion(r fiber.Router) {
	if h.Settings.Deletions == nil {
		return
	}
	r.Get("/settings/delete", h.app(h.deletePage))
	r.Post("/settings/delete", h.action(h.deleteAccount))
}

// deleteData is the page's.
type deleteData struct {
	settingsData
	Handle string
	// Factor asks for a code: two-factor sign-in is on.
	Factor bool
}

func (h *Handler) deletePage(c *fiber.Ctx) error { return h.showDelete(c, "") }

func (h *Handler) showDelete(c *fiber.Ctx, msg string) error {
	v := viewer(c)
	d := &deleteData{settingsData: settingsBase(c, "Delete account"), Handle: v.Account.Username + "@" + v.Account.Domain}
	d.Error = msg
	if h.Settings.Factors != nil {
		on, err := h.Settings.Factors.Required(c.UserContext(), v.Account.ID)
		if err != nil {
			return h.fail(c, err)
		}
		d.Factor = on
	}
	return h.renderSettings(c, "settings_delete", d, msg)
}

// deleteAccount is POST /settings/delete: the box ticked, then the
// password throttle shared with every sign-in form (before hashing),
// then the deletion. Once begun the person is signed out and told what
// happens next.
func (h *Handler) deleteAccount(c *fiber.Ctx) error {
	v, ctx := viewer(c), c.UserContext()
	if c.FormValue("understood") != "1" {
		return h.showDelete(c, "Tick the box to confirm that you want this account deleted.")
	}
	attempt, err := h.SignIn.Password(ctx, httpx.ClientIP(c), "account:"+strconv.FormatInt(v.Account.ID, 10))
	if err != nil {
		if after, ok := ratelimit.RetryAfter(err); ok {
			c.Set(fiber.HeaderRetryAfter, after)
		}
		return h.fail(c, err)
	}
	err = h.Settings.Deletions.Delete(ctx, portability.DeleteRequest{TenantID: v.Site.TenantID, AccountID: v.Account.ID,
		Password: c.FormValue("password"), Code: c.FormValue("code")})
	attempt(!errs.Is(err, errs.Unauthorized))
	if errs.Is(err, errs.Unauthorized) || errs.Is(err, errs.Invalid) || errs.Is(err, errs.Conflict) {
		return h.showDelete(c, errs.MessageOf(err))
	}
	if err != nil {
		return h.fail(c, err)
	}
	h.cookies().EndSession(c)
	c.Locals(viewerKey, nil) // the page after is a signed-out one
	return h.render(c, "settings_deleted", &page.Page{Title: "Account deleted",
		Message: "@" + v.Account.Username + "@" + v.Account.Domain + " is deleted: you are signed out, and it can no longer be seen or signed in to."})
}
