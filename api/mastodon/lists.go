package mastodon

import (
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/filter"
	"github.com/roost-social/roost/federation/social/list"
)

func (h *Handler) registerLists(v1 fiber.Router) {
	if h.Lists == nil {
		return
	}
	v1.Get("/lists", h.need("read:lists"), h.lists)
	v1.Post("/lists", h.need("write:lists"), h.saveList(true))
	v1.Get("/lists/:id", h.need("read:lists"), h.getList)
	v1.Put("/lists/:id", h.need("write:lists"), h.saveList(false))
	v1.Delete("/lists/:id", h.need("write:lists"), h.deleteList)
	v1.Get("/lists/:id/accounts", h.need("read:lists"), h.listAccounts)
	v1.Post("/lists/:id/accounts", h.need("write:lists"), h.listMembers(true))
	v1.Delete("/lists/:id/accounts", h.need("write:lists"), h.listMembers(false))
	v1.Get("/accounts/:id/lists", h.need("read:lists"), h.accountLists)
	v1.Get("/timelines/list/:id", h.need("read:lists"), h.in(filter.List), h.listTimeline)
}

// ListJSON is Mastodon's List entity.
type ListJSON struct {
	ID            string `json:"id"`
	Title         string `json:"title"`
	RepliesPolicy string `json:"replies_policy"`
	Exclusive     bool   `json:"exclusive"`
}

func listEntity(l federation.List) ListJSON {
	return ListJSON{ID: idStr(l.ID), Title: l.Title, RepliesPolicy: l.RepliesPolicy, Exclusive: l.Exclusive}
}

func listEntities(ls []federation.List) []ListJSON {
	out := make([]ListJSON, 0, len(ls))
	for _, l := range ls {
		out = append(out, listEntity(l))
	}
	return out
}

func (h *Handler) lists(c *fiber.Ctx) error {
	ls, err := h.Lists.Lists(c.UserContext(), viewer(c))
	if err != nil {
		return err
	}
	return c.JSON(listEntities(ls))
}

func (h *Handler) getList(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	l, err := h.Lists.List(c.UserContext(), viewer(c), id)
	if err != nil {
		return err
	}
	return c.JSON(listEntity(*l))
}

// listChanges reads title, replies_policy and exclusive.
func listChanges(p params) (list.Changes, error) {
	var ch list.Changes
	if p.has("title") {
		t := p.str("title")
		ch.Title = &t
	}
	if p.has("replies_policy") {
		r := p.str("replies_policy")
		ch.RepliesPolicy = &r
	}
	return ch, flag(p, "exclusive", &ch.Exclusive)
}

func (h *Handler) saveList(create bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if _, err := h.me(c); err != nil {
			return err
		}
		p, err := parseParams(c)
		if err != nil {
			return err
		}
		var id int64
		if !create {
			if id, err = pathID(c, "id"); err != nil {
				return err
			}
		}
		ch, err := listChanges(p)
		if err != nil {
			return err
		}
		var saved *federation.List
		if create {
			saved, err = h.Lists.Create(c.UserContext(), viewer(c), ch)
		} else {
			saved, err = h.Lists.Update(c.UserContext(), viewer(c), id, ch)
		}
		if err != nil {
			return err
		}
		return c.JSON(listEntity(*saved))
	}
}

func (h *Handler) deleteList(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := h.Lists.Delete(c.UserContext(), viewer(c), id); err != nil {
		return err
	}
	return c.JSON(struct{}{})
}

func (h *Handler) listAccounts(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	// limit=0 means all members, as on Mastodon.
	pg := page(c, 40, 80)
	if c.Query("limit") == "0" {
		pg.Limit = 0
	}
	ids, cursors, err := h.Lists.Members(c.UserContext(), viewer(c), id, pg)
	if err != nil {
		return err
	}
	return h.accountPage(c, ids, cursors)
}

// accountIDs reads account_ids[]; a malformed id names no account.
func accountIDs(p params) ([]int64, error) {
	var ids []int64
	for _, s := range p.list("account_ids") {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return nil, errNotFound
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func (h *Handler) listMembers(add bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := pathID(c, "id")
		if err != nil {
			return err
		}
		p, err := parseParams(c)
		if err != nil {
			return err
		}
		ids, err := accountIDs(p)
		if err != nil {
			return err
		}
		if add {
			err = h.Lists.AddMembers(c.UserContext(), viewer(c), id, ids)
		} else {
			err = h.Lists.RemoveMembers(c.UserContext(), viewer(c), id, ids)
		}
		if err != nil {
			return err
		}
		return c.JSON(struct{}{})
	}
}

func (h *Handler) accountLists(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ls, err := h.Lists.With(c.UserContext(), viewer(c), id)
	if err != nil {
		return err
	}
	return c.JSON(listEntities(ls))
}

func (h *Handler) listTimeline(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	p := page(c, 20, 40)
	ids, forYou, err := h.Lists.Timeline(c.UserContext(), viewer(c), id, p)
	if err != nil {
		return err
	}
	if forYou {
		return h.forYou(c)
	}
	return h.statusList(c, p, byOwnID(func(cur federation.Page) ([]int64, error) {
		if cur == p { // the first page is already read
			return ids, nil
		}
		ids, _, err := h.Lists.Timeline(c.UserContext(), viewer(c), id, cur)
		return ids, err
	}))
}
