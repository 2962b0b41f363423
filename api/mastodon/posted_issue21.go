package mastodon

import (
	"context"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/federation"
)

// ownStatusViews is a view store that reads a status for its own author
// without the general visibility rule (federation/postgres's Store): the
// answer to a post. The general query, its rule and an array of ids of
// any size, was planned again on every call, 1–4 ms of every post's
// answer (issue 21); this one keeps one plan.
type ownStatusViews interface {
	OwnStatusView(ctx context.Context, accountID, statusID int64) (*federation.StatusView, error)
}

// renderOwnStatus renders one of the viewer's own statuses, as
// renderStatus does any status they may see (its fallback: a store
// without OwnStatusView, a status not theirs).
func (h *Handler) renderOwnStatus(c *fiber.Ctx, id int64) error {
	own, ok := h.Views.(ownStatusViews)
	r := h.renderer(c)
	if !ok || r.viewer == 0 {
		return h.renderStatus(c, id)
	}
	v, err := own.OwnStatusView(c.UserContext(), r.viewer, id)
	if err != nil {
		return err
	}
	if v == nil {
		return h.renderStatus(c, id)
	}
	out, err := r.statuses([]*federation.StatusView{v})
	if err != nil {
		return err
	}
	if len(out) == 0 {
		return errNotFound
	}
	return c.JSON(out[0])
}
