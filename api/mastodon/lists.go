package mastodon

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

func (h *Handler) registerLists(v1 fiber.Router) {
	v1.Get("/lists", h.need("read:lists"), h.lists)
	v1.Post("/lists", h.need("write:lists"), h.saveList(true))
	v1.Get("/lists/:id", h.need("read:lists"), h.getList)
	v1.Put("/lists/:id", h.need("write:lists"), h.saveList(false))
	v1.Delete("/lists/:id", h.need("write:lists"), h.deleteList)
	v1.Get("/lists/:id/accounts", h.need("read:lists"), h.listAccounts)
	v1.Post("/lists/:id/accounts", h.need("write:lists"), h.listMembers(true))
	v1.Delete("/lists/:id/accounts", h.need("write:lists"), h.listMembers(false))
	v1.Get("/accounts/:id/lists", h.need("read:lists"), h.accountLists)
	v1.Get("/timelines/list/:id", h.need("read:lists"), h.listTimeline)
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
	ls, err := h.More.Lists(c.UserContext(), viewer(c))
	if err != nil {
		return err
	}
	return c.JSON(listEntities(ls))
}

// ownList loads the :id list of the signed-in account (404 otherwise).
func (h *Handler) ownList(c *fiber.Ctx) (*federation.List, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return nil, err
	}
	return h.More.List(c.UserContext(), viewer(c), id)
}

func (h *Handler) getList(c *fiber.Ctx) error {
	l, err := h.ownList(c)
	if err != nil {
		return err
	}
	return c.JSON(listEntity(*l))
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
		l := federation.List{RepliesPolicy: federation.RepliesList}
		if !create {
			old, err := h.ownList(c)
			if err != nil {
				return err
			}
			l = *old
		}
		if create || p.has("title") {
			l.Title = strings.TrimSpace(p.str("title"))
			if l.Title == "" {
				return errs.E(errs.Invalid, "Validation failed: Title can't be blank")
			}
			if utf8.RuneCountInString(l.Title) > 200 {
				return errs.E(errs.Invalid, "Validation failed: Title is too long (maximum is 200 characters)")
			}
		}
		if p.has("replies_policy") {
			switch v := p.str("replies_policy"); v {
			case federation.RepliesFollowed, federation.RepliesList, federation.RepliesNone:
				l.RepliesPolicy = v
			default:
				return errs.E(errs.Invalid, "Validation failed: replies_policy must be followed, list or none")
			}
		}
		if err := flagInto(p, "exclusive", &l.Exclusive); err != nil {
			return err
		}
		saved, err := h.More.SaveList(c.UserContext(), viewer(c), l)
		if err != nil {
			return err
		}
		return c.JSON(listEntity(*saved))
	}
}

// flagInto reads an optional boolean parameter into dst.
func flagInto(p params, name string, dst *bool) error {
	var b *bool
	if err := flag(p, name, &b); err != nil {
		return err
	}
	if b != nil {
		*dst = *b
	}
	return nil
}

func (h *Handler) deleteList(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := h.More.DeleteList(c.UserContext(), viewer(c), id); err != nil {
		return err
	}
	return c.JSON(struct{}{})
}

func (h *Handler) listAccounts(c *fiber.Ctx) error {
	l, err := h.ownList(c)
	if err != nil {
		return err
	}
	// limit=0 means all members, as on Mastodon.
	pg := page(c, 40, 80)
	if c.Query("limit") == "0" {
		pg.Limit = 0
	}
	ids, cursors, err := h.More.ListMembers(c.UserContext(), viewer(c), l.ID, pg)
	if err != nil {
		return err
	}
	return h.accountPage(c, ids, cursors)
}

// accountIDs reads account_ids[] (at most max ids).
func accountIDs(p params, limit int) ([]int64, error) {
	var ids []int64
	for _, s := range p.list("account_ids") {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return nil, errNotFound
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, errs.E(errs.Invalid, "account_ids is required")
	}
	if len(ids) > limit {
		return nil, errs.E(errs.Invalid, "at most %d account_ids at once", limit)
	}
	return ids, nil
}

func (h *Handler) listMembers(add bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		l, err := h.ownList(c)
		if err != nil {
			return err
		}
		p, err := parseParams(c)
		if err != nil {
			return err
		}
		ids, err := accountIDs(p, 100)
		if err != nil {
			return err
		}
		if add {
			err = h.More.AddListMembers(c.UserContext(), viewer(c), l.ID, ids)
		} else {
			err = h.More.RemoveListMembers(c.UserContext(), viewer(c), l.ID, ids)
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
	ls, err := h.More.ListsWith(c.UserContext(), viewer(c), id)
	if err != nil {
		return err
	}
	return c.JSON(listEntities(ls))
}

func (h *Handler) listTimeline(c *fiber.Ctx) error {
	l, err := h.ownList(c)
	if err != nil {
		return err
	}
	if l.ForYou {
		return h.forYou(c)
	}
	ids, err := h.More.ListTimeline(c.UserContext(), viewer(c), l, page(c, 20, 40))
	if err != nil {
		return err
	}
	return h.statusPage(c, ids)
}
