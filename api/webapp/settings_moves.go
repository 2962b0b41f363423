package webapp

import (
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/mastodon"
)

// Aliases and moving the account (Mastodon's /settings/aliases and
// /settings/migration): the client API's /api/v1/roost/aliases and
// /api/v1/roost/migration, so the migration use case decides (the target
// must name this account as an alias; followers are moved by a Move).

func (h *Handler) registerMoves(r fiber.Router) {
	r.Get("/settings/aliases", h.app(h.aliasesPage))
	r.Post("/settings/aliases", h.action(h.aliasChange(fiber.MethodPost, "added")))
	r.Post("/settings/aliases/remove", h.action(h.aliasChange(fiber.MethodDelete, "removed")))
	r.Get("/settings/migration", h.app(h.migrationPage))
	r.Post("/settings/migration", h.action(h.migrate))
}

// movesData is the aliases and migration pages'.
type movesData struct {
	settingsData
	Aliases mastodon.AliasesJSON
	Handle  string
	Acct    string
}

func (h *Handler) showMoves(c *fiber.Ctx, name, title, msg string) error {
	v := viewer(c)
	d := &movesData{settingsData: settingsBase(c, title), Handle: v.Account.Username + "@" + v.Account.Domain,
		Acct: strings.TrimSpace(c.FormValue("acct"))}
	d.Error = msg
	if err := h.get(c, "/api/v1/roost/aliases", nil, &d.Aliases); err != nil {
		return h.fail(c, err)
	}
	return h.renderSettings(c, name, d, msg)
}

func (h *Handler) aliasesPage(c *fiber.Ctx) error {
	return h.showMoves(c, "settings_aliases", "Account aliases", "")
}

func (h *Handler) migrationPage(c *fiber.Ctx) error {
	return h.showMoves(c, "settings_migration", "Move to another account", "")
}

// aliasChange adds (POST) or removes (DELETE) the form's acct.
func (h *Handler) aliasChange(method, done string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		form := url.Values{"acct": {strings.TrimSpace(c.FormValue("acct"))}}
		if err := h.send(c, method, "/api/v1/roost/aliases", form, nil); err != nil {
			return h.settingsBack(c, func(msg string) error { return h.showMoves(c, "settings_aliases", "Account aliases", msg) }, err)
		}
		return c.Redirect("/settings/aliases?done="+done, fiber.StatusSeeOther)
	}
}

// migrate moves the account to the form's acct once the person ticked
// that they understand it.
func (h *Handler) migrate(c *fiber.Ctx) error {
	if c.FormValue("understood") != "1" {
		return h.showMoves(c, "settings_migration", "Move to another account", "Tick the box to confirm the move.")
	}
	form := url.Values{"acct": {strings.TrimSpace(c.FormValue("acct"))}}
	if err := h.send(c, fiber.MethodPost, "/api/v1/roost/migration", form, nil); err != nil {
		return h.settingsBack(c, func(msg string) error {
			return h.showMoves(c, "settings_migration", "Move to another account", msg)
		}, err)
	}
	return c.Redirect("/settings/migration?done=moved", fiber.StatusSeeOther)
}
