package mastodon

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/outbox"
	"github.com/roost-social/roost/internal/errs"
)

func (h *Handler) registerStatuses(v1 fiber.Router) {
	v1.Post("/statuses", h.need("write:statuses"), h.createStatus)
	v1.Get("/statuses/:id", h.optional("read:statuses"), h.getStatus)
	v1.Put("/statuses/:id", h.need("write:statuses"), h.editStatus)
	v1.Delete("/statuses/:id", h.need("write:statuses"), h.deleteStatus)
	v1.Get("/statuses/:id/context", h.optional("read:statuses"), h.statusContext)
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
	key := strings.TrimSpace(c.Get("Idempotency-Key"))
	if len(key) > 200 {
		return errs.E(errs.Invalid, "Idempotency-Key is too long")
	}
	if key != "" {
		// A retried request returns the status the first one created.
		if id, err := h.Client.IdempotentStatus(c.UserContext(), me.ID, key); err != nil {
			return err
		} else if id != 0 {
			st, err := h.oneStatus(c, id)
			if err != nil {
				return err
			}
			return c.JSON(st)
		}
	}
	if p.has("scheduled_at") && p.str("scheduled_at") != "" {
		return errs.E(errs.Invalid, "scheduled posts are not supported on this server")
	}
	mediaAtts, err := h.statusMedia(c, me, p, 0)
	if err != nil {
		return err
	}
	poll, err := pollParams(p)
	if err != nil {
		return err
	}
	prefs, err := h.Client.Preferences(c.UserContext(), me.ID)
	if err != nil {
		return err
	}
	np := outbox.NewPost{
		Text: p.str("status"), Summary: p.str("spoiler_text"), Visibility: prefs.Privacy,
		Language: p.str("language"), Sensitive: prefs.Sensitive, Media: mediaAtts, Poll: poll,
	}
	if tok := tokenOf(c); tok != nil {
		np.ApplicationID = tok.AppID
	}
	if v := p.str("visibility"); v != "" {
		np.Visibility = federation.Visibility(v)
	}
	if p.has("sensitive") {
		np.Sensitive, _ = p.boolean("sensitive")
	}
	if np.Language == "" {
		np.Language = prefs.Language
	}
	if rid := p.str("in_reply_to_id"); rid != "" {
		parent, err := h.visibleStatus(c, rid)
		if err != nil {
			return err
		}
		np.InReplyToURI = parent.URI
	}
	st, err := h.Outbox.Post(c.UserContext(), me, np)
	if err != nil {
		return err
	}
	if key != "" {
		if err := h.Client.RememberIdempotency(c.UserContext(), me.ID, key, st.ID); err != nil {
			return err
		}
	}
	out, err := h.oneStatus(c, st.ID)
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
	v, err := h.visibleStatus(c, c.Params("id"))
	if err != nil {
		return nil, nil, err
	}
	if v.AccountID != me.ID || v.ReblogOfID != 0 {
		return nil, nil, errNotFound
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
	mediaAtts, err := h.statusMedia(c, me, p, v.ID)
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

// act runs an action on a status the viewer may see, then renders it.
func (h *Handler) act(c *fiber.Ctx, fn func(me *federation.Account, v *federation.StatusView) error) error {
	me, err := h.me(c)
	if err != nil {
		return err
	}
	v, err := h.visibleStatus(c, c.Params("id"))
	if err != nil {
		return err
	}
	if v.ReblogOfID != 0 {
		// Acting on a boost acts on what it boosted, as Mastodon does.
		if v, err = h.visibleStatus(c, idStr(v.ReblogOfID)); err != nil {
			return err
		}
	}
	if err := fn(me, v); err != nil {
		return err
	}
	out, err := h.oneStatus(c, v.ID)
	if err != nil {
		return err
	}
	return c.JSON(out)
}

func (h *Handler) favourite(on bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return h.act(c, func(me *federation.Account, v *federation.StatusView) error {
			if v.Favourited == on {
				return nil
			}
			return h.Outbox.Like(c.UserContext(), me, v.URI, !on)
		})
	}
}

func (h *Handler) reblog(on bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return h.act(c, func(me *federation.Account, v *federation.StatusView) error {
			if v.Reblogged == on {
				return nil
			}
			if on && v.Visibility != federation.Public && v.Visibility != federation.Unlisted {
				return errs.E(errs.Forbidden, "This action is not allowed")
			}
			return h.Outbox.Boost(c.UserContext(), me, v.URI, !on)
		})
	}
}

func (h *Handler) bookmark(on bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return h.act(c, func(me *federation.Account, v *federation.StatusView) error {
			return h.Client.SetBookmark(c.UserContext(), me.ID, v.ID, on)
		})
	}
}

func (h *Handler) pin(on bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return h.act(c, func(me *federation.Account, v *federation.StatusView) error {
			if v.AccountID != me.ID {
				return errs.E(errs.Invalid, "Validation failed: only your own posts can be pinned")
			}
			return h.Client.SetPin(c.UserContext(), me.ID, v.ID, on)
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
