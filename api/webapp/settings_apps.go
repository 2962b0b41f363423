package webapp

import (
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant/oauth"
)

// Authorised apps (Mastodon's /oauth/authorized_applications): the apps
// holding live tokens of the signed-in account, and revoking one, which
// stops every token it holds for the account at once. The client API
// has no route for this, so the page calls the use case, always with the
// request's tenant and the session's account.

func (h *Handler) registerApps(r fiber.Router) {
	if h.Settings.Apps == nil {
		return
	}
	r.Get("/oauth/authorized_applications", h.app(h.appsPage))
	r.Post("/oauth/authorized_applications/:id/revoke", h.action(h.appRevoke))
}

// appsData is the page's.
type appsData struct {
	settingsData
	Apps []oauth.AuthorizedApp
	// Current is the app of this very session (the web app).
	Current int64
}

func (h *Handler) appsPage(c *fiber.Ctx) error {
	v := viewer(c)
	d := &appsData{settingsData: settingsBase(c, "Authorised apps"), Current: v.Token.AppID}
	apps, err := h.Settings.Apps.Apps(c.UserContext(), v.Site.TenantID, v.Account.ID)
	if err != nil {
		return h.fail(c, err)
	}
	d.Apps = apps
	return h.render(c, "settings_apps", d)
}

func (h *Handler) appRevoke(c *fiber.Ctx) error {
	v := viewer(c)
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return h.fail(c, errs.E(errs.NotFound, "no such app"))
	}
	if err := h.Settings.Apps.Revoke(c.UserContext(), v.Site.TenantID, v.Account.ID, id); err != nil {
		return h.fail(c, err)
	}
	if id == v.Token.AppID {
		// This session's own token is gone too: signed out.
		h.cookies().EndSession(c)
		return c.Redirect(SignInPath, fiber.StatusSeeOther)
	}
	return c.Redirect("/oauth/authorized_applications?done=revoked", fiber.StatusSeeOther)
}
