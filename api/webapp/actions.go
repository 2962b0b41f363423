package webapp

import (
	"net/url"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/mastodon"
	"github.com/roost-social/roost/internal/errs"
)

// The actions on posts and people: each a POST form with the CSRF token,
// sent to the client API route an app would call, then a 303 back to the
// page (or 204 to the script, which already showed the result).

// toggles are the on/off actions on a post: the form's name, the client
// API's action and its undo.
var statusToggles = map[string][2]string{
	"favourite": {"favourite", "unfavourite"},
	"reblog":    {"reblog", "unreblog"},
	"bookmark":  {"bookmark", "unbookmark"},
	"pin":       {"pin", "unpin"},
}

var accountToggles = map[string][2]string{
	"follow": {"follow", "unfollow"},
	"mute":   {"mute", "unmute"},
	"block":  {"block", "unblock"},
}

// registerActions mounts the action routes.
func (h *Handler) registerActions(r fiber.Router) {
	for name, api := range statusToggles {
		r.Post("/statuses/:id/"+name, h.action(h.toggle("/api/v1/statuses/", api)))
	}
	for name, api := range accountToggles {
		r.Post("/accounts/:id/"+name, h.action(h.toggle("/api/v1/accounts/", api)))
	}
	r.Post("/statuses/:id/delete", h.action(h.deletePost))
	r.Get("/statuses/:id/report", h.app(h.reportPage))
	r.Post("/statuses/:id/report", h.action(h.reportSubmit))
	r.Post("/polls/:id/votes", h.action(h.vote))
	r.Get("/web/fragment/statuses/:id", h.app(h.fragment))
}

// toggle does the action (on=1) or its undo (on=0) on the :id.
func (h *Handler) toggle(prefix string, api [2]string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id := c.Params("id")
		if !validID(id) {
			return h.fail(c, errs.E(errs.NotFound, "not found"))
		}
		what := api[0]
		if c.FormValue("on") == "0" {
			what = api[1]
		}
		if err := h.send(c, fiber.MethodPost, prefix+id+"/"+what, url.Values{}, nil); err != nil {
			return h.fail(c, err)
		}
		return h.done(c, "/home")
	}
}

// deletePost deletes the viewer's post (the client API refuses another's).
func (h *Handler) deletePost(c *fiber.Ctx) error {
	id := c.Params("id")
	if !validID(id) {
		return h.fail(c, errs.E(errs.NotFound, "no such post"))
	}
	if err := h.send(c, fiber.MethodDelete, "/api/v1/statuses/"+id, nil, nil); err != nil {
		return h.fail(c, err)
	}
	ret := c.FormValue("return")
	if ret == "/statuses/"+id {
		ret = "/home" // the post's own page is gone
	}
	if wantsJSON(c) {
		return c.SendStatus(fiber.StatusNoContent)
	}
	return c.Redirect(safeReturn(ret, "/home"), fiber.StatusSeeOther)
}

// reportData is the report form's.
type reportData struct {
	Title  string
	Post   *post
	Return string
}

// reportPage is the form to report a post and its author.
func (h *Handler) reportPage(c *fiber.Ctx) error {
	id := c.Params("id")
	if !validID(id) {
		return h.fail(c, errs.E(errs.NotFound, "no such post"))
	}
	var s mastodon.Status
	if err := h.get(c, "/api/v1/statuses/"+id, nil, &s); err != nil {
		return h.fail(c, err)
	}
	return h.render(c, "report", &reportData{Title: "Report", Post: h.looks(c).post(&s),
		Return: safeReturn(c.Query("return"), "/home")})
}

// reportSubmit files the report through the client API.
func (h *Handler) reportSubmit(c *fiber.Ctx) error {
	id := c.Params("id")
	if !validID(id) {
		return h.fail(c, errs.E(errs.NotFound, "no such post"))
	}
	var s mastodon.Status
	if err := h.get(c, "/api/v1/statuses/"+id, nil, &s); err != nil {
		return h.fail(c, err)
	}
	if s.Account == nil {
		return h.fail(c, errs.E(errs.NotFound, "no such post"))
	}
	body := map[string]any{"account_id": s.Account.ID, "status_ids": []string{id}, "comment": c.FormValue("comment"),
		"category": c.FormValue("category"), "forward": c.FormValue("forward") != ""}
	if err := h.sendJSON(c, fiber.MethodPost, "/api/v1/reports", body, nil); err != nil {
		return h.fail(c, err)
	}
	return h.done(c, "/home")
}

// vote answers a poll with the form's choices.
func (h *Handler) vote(c *fiber.Ctx) error {
	id := c.Params("id")
	if !validID(id) {
		return h.fail(c, errs.E(errs.NotFound, "no such poll"))
	}
	q := url.Values{}
	c.Request().PostArgs().VisitAll(func(k, v []byte) {
		if string(k) == "choices[]" || string(k) == "choice" {
			q.Add("choices[]", string(v))
		}
	})
	if len(q) == 0 {
		return h.fail(c, errs.E(errs.Invalid, "Choose an answer."))
	}
	if err := h.send(c, fiber.MethodPost, "/api/v1/polls/"+id+"/votes", q, nil); err != nil {
		return h.fail(c, err)
	}
	return h.done(c, "/home")
}

// fragment is one post's HTML, for the script to insert a post the live
// stream announced.
func (h *Handler) fragment(c *fiber.Ctx) error {
	id := c.Params("id")
	if !validID(id) {
		return h.fail(c, errs.E(errs.NotFound, "no such post"))
	}
	var s mastodon.Status
	if err := h.get(c, "/api/v1/statuses/"+id, nil, &s); err != nil {
		return h.fail(c, err)
	}
	l := h.looks(c)
	p := l.post(&s)
	if err := h.withRelations(c, l); err != nil {
		return h.fail(c, err)
	}
	return h.render(c, "fragment", &struct {
		Title string
		Post  *post
	}{"Post", p})
}
