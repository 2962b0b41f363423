package mastodon

// The account-side routes of Mastodon 4.5 beyond the basics of
// accounts.go: lists of blocks and mutes, private notes, removing a
// follower, endorsements, follow suggestions, removing the avatar or
// header, several accounts by id, and the profile directory. Rules live
// in federation/social/account (Relations) and federation/social/profile.

import (
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/profile"
	"github.com/roost-social/roost/internal/errs"
)

func (h *Handler) registerAccountRoutes(v1, v2 fiber.Router) {
	if h.Relations == nil {
		return
	}
	v1.Get("/blocks", h.need("read:blocks"), h.blockedAccounts)
	v1.Get("/mutes", h.need("read:mutes"), h.mutedAccounts)
	v1.Get("/accounts", h.optional("read:accounts"), h.accountsByID)
	v1.Post("/accounts/:id/note", h.need("write:accounts"), h.accountNote)
	v1.Post("/accounts/:id/remove_from_followers", h.need("write:follows"), h.removeFromFollowers)
	// endorse/unendorse are Mastodon 4.4's names; pin/unpin the older ones.
	for _, name := range []string{"endorse", "pin", "unendorse", "unpin"} {
		v1.Post("/accounts/:id/"+name, h.need("write:accounts"), h.endorse(name == "endorse" || name == "pin"))
	}
	v1.Get("/accounts/:id/endorsements", h.optional("read:accounts"), h.accountEndorsements)
	v1.Get("/endorsements", h.need("read:accounts"), h.endorsements)
	v1.Get("/suggestions", h.need("read:accounts"), h.suggestions(false))
	v2.Get("/suggestions", h.need("read:accounts"), h.suggestions(true))
	v1.Delete("/suggestions/:id", h.need("read:accounts"), h.dismissSuggestion)
	v1.Delete("/profile/avatar", h.need("write:accounts"), h.removeProfileImage(profile.Avatar))
	v1.Delete("/profile/header", h.need("write:accounts"), h.removeProfileImage(profile.Header))
	v1.Get("/directory", h.optional("read:accounts"), h.directory)
}

func (h *Handler) blockedAccounts(c *fiber.Ctx) error {
	ids, cursors, err := h.Relations.Store.BlockedAccounts(c.UserContext(), viewer(c), page(c, 40, 80))
	if err != nil {
		return err
	}
	return h.accountPage(c, ids, cursors)
}

// MutedAccountJSON is an Account as /api/v1/mutes shows it: with when the
// mute ends.
type MutedAccountJSON struct {
	*Account
	MuteExpiresAt *string `json:"mute_expires_at"`
}

func (h *Handler) mutedAccounts(c *fiber.Ctx) error {
	mutes, err := h.Relations.Store.MutedAccounts(c.UserContext(), viewer(c), page(c, 40, 80))
	if err != nil {
		return err
	}
	ids, cursors := make([]int64, len(mutes)), make([]int64, len(mutes))
	for i, m := range mutes {
		ids[i], cursors[i] = m.AccountID, m.Cursor
	}
	views, err := h.Views.AccountViews(c.UserContext(), ids)
	if err != nil {
		return err
	}
	r := h.renderer(c)
	out := make([]MutedAccountJSON, 0, len(mutes))
	for _, m := range mutes {
		if v, ok := views[m.AccountID]; ok {
			out = append(out, MutedAccountJSON{Account: r.account(v), MuteExpiresAt: tsPtr(m.ExpiresAt)})
		}
	}
	h.linkHeader(c, cursors)
	return c.JSON(out)
}

// accountsByID renders GET /api/v1/accounts?id[]=…: the accounts in the
// order asked, unknown and suspended ones left out.
func (h *Handler) accountsByID(c *fiber.Ctx) error {
	p, err := parseParams(c)
	if err != nil {
		return err
	}
	ids, err := h.Relations.AccountsByID(c.UserContext(), httpx.SiteOf(c).TenantID, p.list("id"))
	if err != nil {
		return err
	}
	return h.renderAccounts(c, ids)
}

// renderAccounts renders accounts in order, without a Link header.
func (h *Handler) renderAccounts(c *fiber.Ctx, ids []int64) error {
	out, err := h.accountList(c, ids) // search.go
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// relationAction runs a Relations action of the signed-in account on the
// :id account and answers with their relationship.
func (h *Handler) relationAction(c *fiber.Ctx, fn func(me *federation.Account, id int64) error) error {
	me, err := h.me(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := fn(me, id); err != nil {
		return err
	}
	return h.relationshipWith(c, id)
}

func (h *Handler) accountNote(c *fiber.Ctx) error {
	p, err := parseParams(c)
	if err != nil {
		return err
	}
	return h.relationAction(c, func(me *federation.Account, id int64) error {
		return h.Relations.Note(c.UserContext(), me, id, p.str("comment"))
	})
}

func (h *Handler) removeFromFollowers(c *fiber.Ctx) error {
	return h.relationAction(c, func(me *federation.Account, id int64) error {
		return h.Relations.RemoveFromFollowers(c.UserContext(), me, id)
	})
}

func (h *Handler) endorse(on bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return h.relationAction(c, func(me *federation.Account, id int64) error {
			return h.Relations.Endorse(c.UserContext(), me, id, on)
		})
	}
}

func (h *Handler) endorsements(c *fiber.Ctx) error {
	ids, cursors, err := h.Relations.Store.Endorsements(c.UserContext(), viewer(c), page(c, 40, 80))
	if err != nil {
		return err
	}
	return h.accountPage(c, ids, cursors)
}

func (h *Handler) accountEndorsements(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ids, cursors, err := h.Relations.AccountEndorsements(c.UserContext(), id, page(c, 40, 80))
	if err != nil {
		return err
	}
	return h.accountPage(c, ids, cursors)
}

// SuggestionJSON is Mastodon's Suggestion entity.
type SuggestionJSON struct {
	Source  string   `json:"source"` // deprecated by Mastodon 4.3, still sent
	Sources []string `json:"sources"`
	Account *Account `json:"account"`
}

// legacySource maps a suggestion's sources to the deprecated single one.
func legacySource(sources []string) string {
	for _, s := range sources {
		if s == federation.SuggestFeatured {
			return "staff"
		}
	}
	return "global"
}

func (h *Handler) suggestions(v2 bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		me, err := h.me(c)
		if err != nil {
			return err
		}
		limit, _ := strconv.Atoi(c.Query("limit"))
		sugs, err := h.Relations.Suggestions(c.UserContext(), me, limit)
		if err != nil {
			return err
		}
		ids := make([]int64, len(sugs))
		for i, s := range sugs {
			ids[i] = s.AccountID
		}
		if !v2 {
			return h.renderAccounts(c, ids)
		}
		views, err := h.Views.AccountViews(c.UserContext(), ids)
		if err != nil {
			return err
		}
		r := h.renderer(c)
		out := make([]SuggestionJSON, 0, len(sugs))
		for _, s := range sugs {
			if v, ok := views[s.AccountID]; ok {
				out = append(out, SuggestionJSON{Source: legacySource(s.Sources), Sources: s.Sources, Account: r.account(v)})
			}
		}
		return c.JSON(out)
	}
}

func (h *Handler) dismissSuggestion(c *fiber.Ctx) error {
	me, err := h.me(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := h.Relations.Dismiss(c.UserContext(), me, id); err != nil {
		return err
	}
	return c.JSON(struct{}{})
}

func (h *Handler) removeProfileImage(which profile.Image) fiber.Handler {
	return func(c *fiber.Ctx) error {
		me, err := h.me(c)
		if err != nil {
			return err
		}
		profiles := &profile.Service{Store: profileStore{h.Client, h.Accounts}, Publisher: h.Outbox}
		res, err := profiles.RemoveImage(c.UserContext(), me, which)
		if err != nil {
			return err
		}
		c.Locals(accountKey, nil)
		if res.SendErr != nil {
			httpx.Log(c).WarnContext(c.UserContext(), "profile update not sent", "err", res.SendErr)
		}
		return h.credentialAccount(c)
	}
}

func (h *Handler) directory(c *fiber.Ctx) error {
	p, err := parseParams(c)
	if err != nil {
		return err
	}
	q := federation.DirectoryQuery{TenantID: httpx.SiteOf(c).TenantID, Order: p.str("order")}
	q.Local, _ = p.boolean("local")
	q.Offset, _ = strconv.Atoi(p.str("offset"))
	q.Limit, _ = strconv.Atoi(p.str("limit"))
	ids, err := h.Relations.Directory(c.UserContext(), q)
	if err != nil {
		return err
	}
	return h.renderAccounts(c, ids)
}

// sourceSettings fills the credential account's source with its
// attribution domains and default quote policy.
func (h *Handler) sourceSettings(c *fiber.Ctx, accountID int64, src *Source) error {
	src.AttributionDomains, src.QuotePolicy = []string{}, "public"
	if h.Relations == nil {
		return nil
	}
	st, err := h.Relations.Store.AccountSettings(c.UserContext(), accountID)
	if err != nil {
		return err
	}
	if st.AttributionDomains != nil {
		src.AttributionDomains = st.AttributionDomains
	}
	src.QuotePolicy = st.QuotePolicy
	return nil
}

// settingsChanges reads attribution_domains[] and source[quote_policy]
// from an update_credentials request and checks them at once; the
// returned function saves them once the rest of the profile is saved.
func (h *Handler) settingsChanges(c *fiber.Ctx, p params) (func(me *federation.Account) error, error) {
	var domains *[]string
	var policy *string
	if p.has("attribution_domains") {
		ds := p.list("attribution_domains")
		domains = &ds
	}
	if src := p.object("source"); src != nil && src.has("quote_policy") {
		v := src.str("quote_policy")
		policy = &v
	}
	if domains == nil && policy == nil {
		return func(*federation.Account) error { return nil }, nil
	}
	if h.Relations == nil {
		return nil, errs.E(errs.Invalid, "attribution_domains and quote_policy are not available on this server")
	}
	if _, err := h.Relations.CheckSettings(domains, policy); err != nil {
		return nil, err
	}
	return func(me *federation.Account) error {
		return h.Relations.SetSettings(c.UserContext(), me, domains, policy)
	}, nil
}

// quotePolicy is the viewer's default quote policy ("public" when the
// server keeps none).
func (h *Handler) quotePolicy(c *fiber.Ctx) (string, error) {
	if h.Relations == nil {
		return "public", nil
	}
	st, err := h.Relations.Store.AccountSettings(c.UserContext(), viewer(c))
	if err != nil {
		return "", err
	}
	return st.QuotePolicy, nil
}
