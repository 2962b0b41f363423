package webapp

import (
	"net/url"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/internal/errs"
)

// Lists: the viewer's lists (client API /api/v1/lists), one to make, and
// each list's timeline.

type listEntry struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

type listsData struct {
	Title string
	Lists []listEntry
}

func (h *Handler) registerLists(r fiber.Router) {
	r.Get("/lists", h.app(h.listsPage))
	r.Post("/lists", h.action(h.createList))
	r.Get("/lists/:id", h.app(h.listTimeline))
	r.Post("/lists/:id/delete", h.action(h.deleteList))
}

func (h *Handler) listsPage(c *fiber.Ctx) error {
	d := &listsData{Title: "Lists"}
	if err := h.get(c, "/api/v1/lists", nil, &d.Lists); err != nil {
		return h.fail(c, err)
	}
	return h.render(c, "lists", d)
}

func (h *Handler) createList(c *fiber.Ctx) error {
	var l listEntry
	if err := h.send(c, fiber.MethodPost, "/api/v1/lists", url.Values{"title": {c.FormValue("title")}}, &l); err != nil {
		return h.fail(c, err)
	}
	return h.done(c, "/lists")
}

func (h *Handler) deleteList(c *fiber.Ctx) error {
	id := c.Params("id")
	if !validID(id) {
		return h.fail(c, errs.E(errs.NotFound, "no such list"))
	}
	if err := h.send(c, fiber.MethodDelete, "/api/v1/lists/"+id, nil, nil); err != nil {
		return h.fail(c, err)
	}
	return h.done(c, "/lists")
}

// listTimeline is one of the viewer's lists; another's is not found.
func (h *Handler) listTimeline(c *fiber.Ctx) error {
	id := c.Params("id")
	if !validID(id) {
		return h.fail(c, errs.E(errs.NotFound, "no such list"))
	}
	var l listEntry
	if err := h.get(c, "/api/v1/lists/"+id, nil, &l); err != nil {
		return h.fail(c, err)
	}
	return h.showTimeline(c, "/api/v1/timelines/list/"+id, nil,
		&timelineData{Title: l.Title, Intro: "A list", Empty: "No posts from this list's people yet."})
}
