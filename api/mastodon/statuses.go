package mastodon

import (
	"context"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/outbox"
	"github.com/roost-social/roost/federation/social/filter"
	"github.com/roost-social/roost/federation/social/status"
)

func (h *Handler) registerStatuses(v1 fiber.Router) {
	v1.Post("/statuses", h.need("write:statuses"), h.createStatus)
	v1.Get("/statuses/:id", h.optional("read:statuses"), h.getStatus)
	v1.Put("/statuses/:id", h.need("write:statuses"), h.editStatus)
	v1.Delete("/statuses/:id", h.need("write:statuses"), h.deleteStatus)
	v1.Get("/statuses/:id/context", h.optional("read:statuses"), h.in(filter.Thread), h.statusContext)
	v1.Get("/statuses/:id/history", h.optional("read:statuses"), h.statusHistory)
	v1.Get("/statuses/:id/source", h.need("read:statuses"), h.statusSource)
	v1.Get("/statuses/:id/favourited_by", h.optional("read:accounts"), h.favouritedBy)
	v1.Get("/statuses/:id/reblogged_by", h.optional("read:accounts"), h.rebloggedBy)
	v1.Post("/statuses/:id/favourite", h.need("write:favourites"), h.favourite(true))
	v1.Post("/statuses/:id/unfavourite", h.need("write:favourites"), h.favourite(false))
	v1.Post("/statuses/:id/reblog", h.need("write:statuses"), h.reblog(true))
	v1.Post("/statuses/:id/unreblog", h.need("write:statuses"), h.reblog(false))
	v1.Post("/statuses/:id/bookmark", h.need("write:bookmarks"), h.bookmark(true))
	v1.Post("/statuses/:id/unbookmark", h.need("write:bookmarks"), h.bookmark(false))
	v1.Post("/statuses/:id/pin", h.need("write:accounts"), h.pin(true))
	v1.Post("/statuses/:id/unpin", h.need("write:accounts"), h.pin(false))
}

func (h *Handler) createStatus(c *fiber.Ctx) error {
	me, err := h.me(c)
	if err != nil {
		return err
	}
	p, err := parseParams(c)
	if err != nil {
		return err
	}
	np := outbox.NewPost{Text: p.str("status"), Summary: p.str("spoiler_text"), IdempotencyKey: c.Get("Idempotency-Key")}
	d := status.Draft{IdempotencyKey: c.Get("Idempotency-Key"), ScheduledAt: p.str("scheduled_at"),
		Visibility: p.str("visibility"), Language: p.str("language"), InReplyToID: p.str("in_reply_to_id")}
	if p.has("sensitive") {
		sensitive, _ := p.boolean("sensitive")
		d.Sensitive = &sensitive
	}
	d.Attach = func(context.Context) (err error) {
		if np.Media, err = h.statusMedia(c, me, p, 0); err != nil {
			return err
		}
		np.Poll, err = pollParams(p)
		return err
	}
	if d.ScheduledAt != "" && h.Schedule != nil {
		return h.scheduleStatus(c, me, d, &np) // scheduled.go
	}
	composed, err := h.statuses().Compose(c.UserContext(), me, d)
	if err != nil {
		return err
	}
	if composed.Replay != 0 {
		return h.renderOwnStatus(c, composed.Replay) // a retried request: the first one's post
	}
	np.Visibility, np.Sensitive, np.Language, np.InReplyToURI = composed.Visibility, composed.Sensitive, composed.Language, composed.InReplyToURI
	if tok := tokenOf(c); tok != nil {
		np.ApplicationID = tok.AppID
	}
	plan, err := h.quoteDraft(c, me, p, &np) // quotes.go
	if err != nil {
		return err
	}
	st, err := h.Outbox.Post(c.UserContext(), me, np)
	if err != nil {
		return err
	}
	// The post's policy was stored by its own insert (np.Quote.Policy):
	// only a quote has more to record. Recording the policy again cost a
	// second transaction, a synchronous commit announcing a change.
	if plan != nil {
		if err := h.posted(c, me, st, plan); err != nil {
			return err
		}
	}
	// The Idempotency-Key was remembered in the post's own transaction
	// (np.IdempotencyKey): remembering it again here cost a round trip.
	return h.renderOwnStatus(c, st.ID) // posted_issue21.go

}

// renderStatus renders one status the viewer may see, or 404.
func (h *Handler) renderStatus(c *fiber.Ctx, id int64) error {
	out, err := h.oneStatus(c, id)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

// visibleStatus loads a status by id string that the viewer may see.
func (h *Handler) visibleStatus(c *fiber.Ctx, raw string) (*federation.StatusView, error) {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return nil, errNotFound
	}
	views, err := h.Views.StatusViews(c.UserContext(), seer(c), []int64{id})
	if err != nil {
		return nil, err
	}
	if len(views) == 0 {
		return nil, errNotFound
	}
	return views[0], nil
}

func (h *Handler) getStatus(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	st, err := h.oneStatus(c, id)
	if err != nil {
		return err
	}
	return c.JSON(st)
}

// ownStatus loads one of the signed-in account's own statuses.
func (h *Handler) ownStatus(c *fiber.Ctx) (*federation.Account, *federation.StatusView, error) {
	me, err := h.me(c)
	if err != nil {
		return nil, nil, err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return nil, nil, err
	}
	v, err := h.statuses().Own(c.UserContext(), me, id)
	if err != nil {
		return nil, nil, err
	}
	return me, v, nil
}

func (h *Handler) editStatus(c *fiber.Ctx) error {
	me, v, err := h.ownStatus(c)
	if err != nil {
		return err
	}
	p, err := parseParams(c)
	if err != nil {
		return err
	}
	// As on Mastodon, the edit's media and poll replace the post's.
	// media_attributes[] change the alt text and focus too (statusroutes.go).
	mediaAtts, saveMedia, err := h.editMedia(c, me, p, v.ID)
	if err != nil {
		return err
	}
	poll, err := pollParams(p)
	if err != nil {
		return err
	}
	e := outbox.EditPost{Text: p.str("status"), Summary: p.str("spoiler_text"), Sensitive: v.Sensitive,
		Language: v.Language, Media: mediaAtts, Poll: poll}
	if p.has("sensitive") {
		e.Sensitive, _ = p.boolean("sensitive")
	}
	if p.has("language") {
		e.Language = p.str("language")
	}
	if err := h.Outbox.EditPost(c.UserContext(), me, v.URI, e); err != nil {
		return err
	}
	if err := saveMedia(); err != nil {
		return err
	}
	out, err := h.oneStatus(c, v.ID)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (h *Handler) deleteStatus(c *fiber.Ctx) error {
	me, v, err := h.ownStatus(c)
	if err != nil {
		return err
	}
	out, err := h.oneStatus(c, v.ID)
	if err != nil {
		return err
	}
	// The source comes back for delete-and-redraft.
	text := v.Text
	out.Text = &text
	if err := h.Outbox.Delete(c.UserContext(), me, v.URI); err != nil {
		return err
	}
	return c.JSON(out)
}

func (h *Handler) statusSource(c *fiber.Ctx) error {
	_, v, err := h.ownStatus(c)
	if err != nil {
		return err
	}
	return c.JSON(map[string]string{"id": idStr(v.ID), "text": v.Text, "spoiler_text": v.Summary})
}

func (h *Handler) statusContext(c *fiber.Ctx) error {
	v, err := h.visibleStatus(c, c.Params("id"))
	if err != nil {
		return err
	}
	anc, desc, err := h.Views.Context(c.UserContext(), seer(c), v.ID)
	if err != nil {
		return err
	}
	r := h.renderer(c)
	render := func(ids []int64) ([]*Status, error) {
		views, err := h.Views.StatusViews(c.UserContext(), r.seer, ids)
		if err != nil {
			return nil, err
		}
		out, err := r.statuses(views)
		if out == nil {
			out = []*Status{}
		}
		return out, err
	}
	a, err := render(anc)
	if err != nil {
		return err
	}
	d, err := render(desc)
	if err != nil {
		return err
	}
	return c.JSON(map[string]any{"ancestors": a, "descendants": d})
}

func (h *Handler) favouritedBy(c *fiber.Ctx) error {
	v, err := h.visibleStatus(c, c.Params("id"))
	if err != nil {
		return err
	}
	ids, cursors, err := h.Client.FavouritedBy(c.UserContext(), seer(c), v.ID, page(c, 40, 80))
	if err != nil {
		return err
	}
	return h.accountPage(c, ids, cursors)
}

func (h *Handler) rebloggedBy(c *fiber.Ctx) error {
	v, err := h.visibleStatus(c, c.Params("id"))
	if err != nil {
		return err
	}
	ids, cursors, err := h.Client.RebloggedBy(c.UserContext(), seer(c), v.ID, page(c, 40, 80))
	if err != nil {
		return err
	}
	return h.accountPage(c, ids, cursors)
}

// statuses is the status actions use case over the handler's ports.
func (h *Handler) statuses() *status.Service {
	return &status.Service{Views: h.Views, Marks: h.Client, Drafts: h.Client, Publisher: h.Outbox}
}

// act runs an action on a status the viewer may see, then renders the
// status it acted on.
func (h *Handler) act(c *fiber.Ctx, fn func(s *status.Service, me *federation.Account, id int64) (int64, error)) error {
	me, err := h.me(c)
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if id, err = fn(h.statuses(), me, id); err != nil {
		return err
	}
	out, err := h.oneStatus(c, id)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (h *Handler) favourite(on bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return h.act(c, func(s *status.Service, me *federation.Account, id int64) (int64, error) {
			return s.Favourite(c.UserContext(), me, id, on)
		})
	}
}

func (h *Handler) reblog(on bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return h.act(c, func(s *status.Service, me *federation.Account, id int64) (int64, error) {
			return s.Reblog(c.UserContext(), me, id, on)
		})
	}
}

func (h *Handler) bookmark(on bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return h.act(c, func(s *status.Service, me *federation.Account, id int64) (int64, error) {
			return s.Bookmark(c.UserContext(), me, id, on)
		})
	}
}

func (h *Handler) pin(on bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return h.act(c, func(s *status.Service, me *federation.Account, id int64) (int64, error) {
			return s.Pin(c.UserContext(), me, id, on)
		})
	}
}

// statusHistory lists every version of a status, oldest first, the
// current one last.
func (h *Handler) statusHistory(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	cur, err := h.oneStatus(c, id)
	if err != nil {
		return err
	}
	versions, err := h.Client.StatusHistory(c.UserContext(), seer(c), id)
	if err != nil {
		return err
	}
	type edit struct {
		Content          string       `json:"content"`
		SpoilerText      string       `json:"spoiler_text"`
		Sensitive        bool         `json:"sensitive"`
		CreatedAt        string       `json:"created_at"`
		Account          *Account     `json:"account"`
		Poll             *Poll        `json:"poll"`
		MediaAttachments []Attachment `json:"media_attachments"`
		Emojis           []Emoji      `json:"emojis"`
	}
	out := make([]edit, 0, len(versions)+1)
	for _, v := range versions {
		out = append(out, edit{Content: v.Content, SpoilerText: v.Summary, Sensitive: v.Sensitive, CreatedAt: ts(v.CreatedAt),
			Account: cur.Account, MediaAttachments: []Attachment{}, Emojis: []Emoji{}})
	}
	at := cur.CreatedAt
	if cur.EditedAt != nil {
		at = *cur.EditedAt
	}
	out = append(out, edit{Content: cur.Content, SpoilerText: cur.SpoilerText, Sensitive: cur.Sensitive, CreatedAt: at,
		Account: cur.Account, Poll: cur.Poll, MediaAttachments: cur.MediaAttachments, Emojis: []Emoji{}})
	return c.JSON(out)
}
