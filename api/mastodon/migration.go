package mastodon

import (
	"net/url"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/migration"
	"github.com/roost-social/roost/internal/errs"
)

// Mastodon manages aliases and moves on its settings pages
// (/settings/aliases, /settings/migration), not in its REST API; Roost
// offers the same through the API, under /api/v1/roost like exports:
//
//	GET    /api/v1/roost/aliases             {"also_known_as": [actor URIs]}
//	POST   /api/v1/roost/aliases   acct=...  adds an account that may move here
//	DELETE /api/v1/roost/aliases   acct=...  removes it (handle or actor URI)
//	POST   /api/v1/roost/migration acct=...  moves this account there (Move)
func (h *Handler) registerMigration(v1 fiber.Router) {
	if h.Outbox == nil {
		return
	}
	v1.Get("/roost/aliases", h.need("read:accounts"), h.aliases)
	v1.Post("/roost/aliases", h.need("write:accounts"), h.migrationAction(addAlias))
	v1.Delete("/roost/aliases", h.need("write:accounts"), h.migrationAction(removeAlias))
	v1.Post("/roost/migration", h.need("write:accounts"), h.migrationAction(migrate))
}

// AliasesJSON lists an account's aliases and where it moved.
type AliasesJSON struct {
	AlsoKnownAs []string `json:"also_known_as"`
	MovedTo     *string  `json:"moved_to"`
}

func aliasesJSON(a *federation.Account) AliasesJSON {
	out := AliasesJSON{AlsoKnownAs: slices.Clone(a.AlsoKnownAs)}
	if out.AlsoKnownAs == nil {
		out.AlsoKnownAs = []string{}
	}
	if a.MovedTo != "" {
		out.MovedTo = &a.MovedTo
	}
	return out
}

func (h *Handler) aliases(c *fiber.Ctx) error {
	me, err := h.me(c)
	if err != nil {
		return err
	}
	return c.JSON(aliasesJSON(me))
}

// acctParam reads acct (a handle or an actor URI) from the form or JSON
// body, or the query.
func acctParam(c *fiber.Ctx) (string, error) {
	var body struct {
		Acct string `json:"acct" form:"acct"`
	}
	if err := c.BodyParser(&body); err != nil && len(c.Body()) > 0 {
		return "", errs.E(errs.Invalid, "unreadable body")
	}
	if strings.TrimSpace(body.Acct) == "" {
		return c.Query("acct"), nil
	}
	return body.Acct, nil
}

// migrationAction runs an alias or move change on the signed-in account
// and renders its aliases afterwards.
func (h *Handler) migrationAction(fn func(s *migration.Service, c *fiber.Ctx, me *federation.Account, acct string) (*federation.Account, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		me, err := h.me(c)
		if err != nil {
			return err
		}
		acct, err := acctParam(c)
		if err != nil {
			return err
		}
		after, err := fn(&migration.Service{Mover: h.Outbox}, c, me, acct)
		if err != nil {
			return err
		}
		return c.JSON(aliasesJSON(after))
	}
}

func addAlias(s *migration.Service, c *fiber.Ctx, me *federation.Account, acct string) (*federation.Account, error) {
	return s.AddAlias(c.UserContext(), me, acct)
}

func removeAlias(s *migration.Service, c *fiber.Ctx, me *federation.Account, acct string) (*federation.Account, error) {
	return s.RemoveAlias(c.UserContext(), me, acct)
}

// migrate moves the account to acct, which must list it as an alias: as
// Mastodon's /settings/migration, followers are moved by a Move.
func migrate(s *migration.Service, c *fiber.Ctx, me *federation.Account, acct string) (*federation.Account, error) {
	return s.Move(c.UserContext(), me, acct)
}

// moved renders the account an account moved to: a local target as
// hosted here, a remote one when it is known (fetched, or named by a
// verified Move). Remote accounts' movedTo is stored from their actor
// document and their Move. One level only: the moved account's own move
// is not followed.
func (r *renderer) moved(v *federation.AccountView) *Account {
	if v.MovedTo == "" {
		return nil
	}
	id, ok := r.movedTarget(v.MovedTo)
	if !ok {
		return nil
	}
	views, err := r.h.Views.AccountViews(r.ctx, []int64{id})
	if err != nil || views[id] == nil {
		return nil
	}
	tv := *views[id]
	acct := *tv.Account
	acct.MovedTo = "" // one level
	tv.Account = &acct
	return r.account(&tv)
}

// movedTarget finds the account of a movedTo URI: one of this instance's
// by its /users/ path, else a known remote actor.
func (r *renderer) movedTarget(uri string) (int64, bool) {
	u, err := url.Parse(uri)
	if err != nil {
		return 0, false
	}
	if site, err := r.h.Sites.Resolve(r.ctx, u.Hostname()); err == nil {
		name, ok := strings.CutPrefix(u.Path, "/users/")
		if !ok || !federation.ValidUsername(name) {
			return 0, false
		}
		target, err := r.h.Accounts.AccountByUsername(r.ctx, site.TenantID, site.Domain, name)
		if err != nil {
			return 0, false
		}
		return target.ID, true
	}
	if r.h.Outbox == nil || r.h.Outbox.Keys == nil {
		return 0, false
	}
	a, err := r.h.Outbox.Keys.Store.RemoteActorByURI(r.ctx, uri)
	if err != nil {
		return 0, false
	}
	return a.ID, true
}
