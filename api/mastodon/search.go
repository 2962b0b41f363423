package mastodon

import (
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation/social/search"
)

func (h *Handler) registerSearch(v1, v2 fiber.Router) {
	if h.Search == nil {
		return
	}
	v2.Get("/search", h.optional("read:search"), h.search)
	v1.Get("/accounts/search", h.optional("read:accounts"), h.accountSearch)
	v1.Get("/accounts/familiar_followers", h.need("read:follows"), h.familiarFollowers)
}

// SearchResults is Mastodon's Search entity.
type SearchResults struct {
	Accounts []*Account `json:"accounts"`
	Statuses []*Status  `json:"statuses"`
	Hashtags []*TagJSON `json:"hashtags"`
}

// searchQuery reads the parameters both account searches and /v2/search
// share; limit defaults to def and is clamped to maxLimit.
func searchQuery(c *fiber.Ctx, p params, def, maxLimit int) search.Query {
	q := search.Query{Text: p.str("q"), Limit: def, ViewerID: viewer(c), Site: httpx.SiteOf(c), Log: httpx.Log(c)}
	q.Resolve, _ = p.boolean("resolve")
	q.Following, _ = p.boolean("following")
	if l, err := strconv.Atoi(p.str("limit")); err == nil && l > 0 {
		q.Limit = min(l, maxLimit)
	}
	q.Offset, _ = strconv.Atoi(p.str("offset"))
	return q
}

func (h *Handler) search(c *fiber.Ctx) error {
	p, err := parseParams(c)
	if err != nil {
		return err
	}
	q := searchQuery(c, p, 20, 40)
	q.Type = p.str("type")
	q.AccountID, _ = strconv.ParseInt(p.str("account_id"), 10, 64)
	q.MaxID, _ = strconv.ParseInt(p.str("max_id"), 10, 64)
	q.MinID, _ = strconv.ParseInt(p.str("min_id"), 10, 64)
	found, err := h.Search.Search(c.UserContext(), q)
	if err != nil {
		return err
	}
	out := &SearchResults{Accounts: []*Account{}, Statuses: []*Status{}, Hashtags: []*TagJSON{}}
	if out.Accounts, err = h.accountList(c, found.Accounts); err != nil {
		return err
	}
	if out.Hashtags, err = h.lookupTags(c, found.Hashtags); err != nil { // tags.go
		return err
	}
	if len(found.Statuses) > 0 {
		r := h.renderer(c)
		views, err := h.Views.StatusViews(c.UserContext(), r.seer, found.Statuses)
		if err != nil {
			return err
		}
		ss, err := r.statuses(views)
		if err != nil {
			return err
		}
		out.Statuses = append(out.Statuses, ss...)
	}
	return c.JSON(out)
}

func (h *Handler) accountSearch(c *fiber.Ctx) error {
	p, err := parseParams(c)
	if err != nil {
		return err
	}
	ids, err := h.Search.Accounts(c.UserContext(), searchQuery(c, p, 40, 80))
	if err != nil {
		return err
	}
	out, err := h.accountList(c, ids)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// accountList renders accounts in order.
func (h *Handler) accountList(c *fiber.Ctx, ids []int64) ([]*Account, error) {
	out := make([]*Account, 0, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	views, err := h.Views.AccountViews(c.UserContext(), ids)
	if err != nil {
		return nil, err
	}
	r := h.renderer(c)
	for _, id := range ids {
		if v, ok := views[id]; ok {
			out = append(out, r.account(v))
		}
	}
	return out, nil
}

func (h *Handler) familiarFollowers(c *fiber.Ctx) error {
	p, err := parseParams(c)
	if err != nil {
		return err
	}
	type familiar struct {
		ID       string     `json:"id"`
		Accounts []*Account `json:"accounts"`
	}
	out := []familiar{}
	ids := p.list("id")
	if len(ids) > 40 {
		ids = ids[:40]
	}
	for _, raw := range ids {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || id <= 0 {
			continue
		}
		who, err := h.Search.FamiliarFollowers(c.UserContext(), viewer(c), id, 40)
		if err != nil {
			return err
		}
		accts, err := h.accountList(c, who)
		if err != nil {
			return err
		}
		out = append(out, familiar{ID: idStr(id), Accounts: accts})
	}
	return c.JSON(out)
}
