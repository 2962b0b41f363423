package mastodon

import (
	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/timeline"
)

// statusRead reads one store page of a status list, newest first: the
// status ids and each one's cursor (its own id, or the list row's id for
// bookmarks and favourites).
type statusRead func(p federation.Page) (ids, cursors []int64, err error)

// listedStatus is one row read: its status, its cursor and, once rendered,
// what the viewer is shown (nil: left out).
type listedStatus struct {
	id, cursor int64
	shown      *Status
}

// statusList renders one page of a status list, filled: what the store
// cannot decide before its LIMIT (a hide filter matching the text, a
// boost whose original the viewer may not see, anything else rendering
// leaves out) is judged as each batch renders, and more rows are read
// until p.Limit are shown, the rows run out, or timeline.MaxScan more
// were read. The Link cursors span every row read, so a thinned page
// still moves the client forward and paging reaches every visible post.
func (h *Handler) statusList(c *fiber.Ctx, p federation.Page, read statusRead) error {
	r := h.renderer(c)
	rows, w, err := timeline.Fill(c.UserContext(), p, func(s listedStatus) int64 { return s.cursor },
		func(cur federation.Page) ([]listedStatus, error) {
			ids, cursors, err := read(cur)
			if err != nil {
				return nil, err
			}
			out := make([]listedStatus, len(ids))
			for i, id := range ids {
				out[i] = listedStatus{id: id, cursor: cursors[i]}
			}
			return out, nil
		},
		func(batch []listedStatus) ([]bool, error) {
			return h.renderBatch(r, batch)
		})
	if err != nil {
		return err
	}
	out := make([]*Status, 0, len(rows))
	for _, s := range rows {
		out = append(out, s.shown)
	}
	if w.Newest != 0 {
		h.linkHeader(c, []int64{w.Newest, w.Oldest})
	}
	return c.JSON(out)
}

// renderBatch renders a batch in one pass and reports which rows are shown.
func (h *Handler) renderBatch(r *renderer, batch []listedStatus) ([]bool, error) {
	ids := make([]int64, len(batch))
	for i, s := range batch {
		ids[i] = s.id
	}
	views, err := h.Views.StatusViews(r.ctx, r.seer, ids)
	if err != nil {
		return nil, err
	}
	rendered, err := r.statuses(views)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*Status, len(rendered))
	for _, s := range rendered {
		byID[s.ID] = s
	}
	ok := make([]bool, len(batch))
	for i := range batch {
		batch[i].shown = byID[idStr(batch[i].id)]
		ok[i] = batch[i].shown != nil
	}
	return ok, nil
}

// byOwnID is a statusRead for lists paged by the statuses' own ids.
func byOwnID(read func(p federation.Page) ([]int64, error)) statusRead {
	return func(p federation.Page) ([]int64, []int64, error) {
		ids, err := read(p)
		return ids, ids, err
	}
}
