package mastodon

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/filter"
	"github.com/roost-social/roost/internal/errs"
)

func (h *Handler) registerTimelines(v1 fiber.Router) {
	v1.Get("/timelines/home", h.need("read:statuses"), h.in(filter.Home), h.homeTimeline)
	v1.Get("/timelines/public", h.optional("read:statuses"), h.in(filter.Public), h.publicTimeline)
	v1.Get("/timelines/tag/:hashtag", h.optional("read:statuses"), h.in(filter.Public), h.tagTimeline)
}

// placeKey holds the place a route shows statuses in (h.in).
type placeKey struct{}

// in names the place a route shows statuses in, which decides the
// viewer's filters, domain blocks and exclusive lists that apply
// (federation/social/timeline); routes without one apply none.
func (h *Handler) in(where filter.Where) fiber.Handler {
	return func(c *fiber.Ctx) error {
		c.Locals(placeKey{}, where)
		return c.Next()
	}
}

// placeOf is the place the request's route named, "" for none.
func placeOf(c *fiber.Ctx) filter.Where {
	w, _ := c.Locals(placeKey{}).(filter.Where)
	return w
}

func (h *Handler) homeTimeline(c *fiber.Ctx) error {
	ids, err := h.Views.HomeTimeline(c.UserContext(), viewer(c), page(c, 20, 40))
	if err != nil {
		return err
	}
	return h.statusPage(c, ids)
}

func (h *Handler) publicTimeline(c *fiber.Ctx) error {
	p, _ := parseParams(c)
	local, _ := p.boolean("local")
	remote, _ := p.boolean("remote")
	if onlyMedia, _ := p.boolean("only_media"); onlyMedia {
		return errs.E(errs.Invalid, "only_media is not supported on public timelines yet")
	}
	ids, err := h.Views.PublicTimeline(c.UserContext(), httpx.SiteOf(c).TenantID, seer(c), local || !remote, remote || !local, page(c, 20, 40))
	if err != nil {
		return err
	}
	return h.statusPage(c, ids)
}

func (h *Handler) tagTimeline(c *fiber.Ctx) error {
	tag := strings.ToLower(strings.TrimPrefix(c.Params("hashtag"), "#"))
	if tag == "" || len(tag) > 100 {
		return errNotFound
	}
	p, _ := parseParams(c)
	local, _ := p.boolean("local")
	ids, err := h.Views.TagTimeline(c.UserContext(), httpx.SiteOf(c).TenantID, seer(c), tag, local, page(c, 20, 40))
	if err != nil {
		return err
	}
	return h.statusPage(c, ids)
}

func (h *Handler) registerNotifications(v1 fiber.Router) {
	v1.Get("/notifications", h.need("read:notifications"), h.in(filter.Notifications), h.notifications)
	v1.Get("/notifications/:id", h.need("read:notifications"), h.in(filter.Notifications), h.notification)
	v1.Post("/notifications/clear", h.need("write:notifications"), h.clearNotifications)
	v1.Post("/notifications/:id/dismiss", h.need("write:notifications"), h.dismissNotification)
}

var notificationTypes = []string{"mention", "status", "reblog", "follow", "follow_request", "favourite", "poll", "update"}

func (h *Handler) notifications(c *fiber.Ctx) error {
	p, err := parseParams(c)
	if err != nil {
		return err
	}
	known := func(list []string) []string {
		var out []string
		for _, t := range list {
			if contains(notificationTypes, t) {
				out = append(out, t)
			}
		}
		return out
	}
	types, exclude := known(p.list("types")), known(p.list("exclude_types"))
	if len(p.list("types")) > 0 && len(types) == 0 {
		return c.JSON([]any{}) // only types we never produce were asked for
	}
	pg := page(c, 40, 80)
	ns, err := h.Views.Notifications(c.UserContext(), viewer(c), types, exclude, pg)
	if err != nil {
		return err
	}
	if acct := p.str("account_id"); acct != "" {
		id, _ := strconv.ParseInt(acct, 10, 64)
		kept := ns[:0]
		for _, n := range ns {
			if n.FromAccountID == id {
				kept = append(kept, n)
			}
		}
		ns = kept
	}
	out, err := h.renderNotifications(c, ns)
	if err != nil {
		return err
	}
	cursors := make([]int64, len(ns))
	for i, n := range ns {
		cursors[i] = n.ID
	}
	h.linkHeader(c, cursors)
	return c.JSON(out)
}

// renderNotifications hydrates notifications' accounts and statuses. A
// notification whose status the viewer may no longer see is left out.
func (h *Handler) renderNotifications(c *fiber.Ctx, ns []federation.Notification) ([]*Notification, error) {
	r := h.renderer(c)
	var acctIDs, statusIDs []int64
	for _, n := range ns {
		acctIDs = append(acctIDs, n.FromAccountID)
		if n.StatusID != 0 {
			statusIDs = append(statusIDs, n.StatusID)
		}
	}
	accounts, err := h.Views.AccountViews(c.UserContext(), acctIDs)
	if err != nil {
		return nil, err
	}
	views, err := h.Views.StatusViews(c.UserContext(), r.seer, statusIDs)
	if err != nil {
		return nil, err
	}
	rendered, err := r.statuses(views)
	if err != nil {
		return nil, err
	}
	byID := map[string]*Status{}
	for _, s := range rendered {
		byID[s.ID] = s
	}
	out := make([]*Notification, 0, len(ns))
	for _, n := range ns {
		a, ok := accounts[n.FromAccountID]
		if !ok {
			continue
		}
		if hidden, err := r.hidesNotificationFrom(a); err != nil {
			return nil, err
		} else if hidden {
			continue
		}
		nn := &Notification{ID: idStr(n.ID), Type: n.Type, CreatedAt: ts(n.CreatedAt), Account: r.account(a),
			GroupKey: "ungrouped-" + idStr(n.ID)}
		if n.StatusID != 0 {
			if nn.Status = byID[idStr(n.StatusID)]; nn.Status == nil {
				continue
			}
		}
		out = append(out, nn)
	}
	return out, nil
}

func (h *Handler) notification(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	n, err := h.Client.Notification(c.UserContext(), viewer(c), id)
	if err != nil {
		return err
	}
	out, err := h.renderNotifications(c, []federation.Notification{*n})
	if err != nil {
		return err
	}
	if len(out) == 0 {
		return errNotFound
	}
	return c.JSON(out[0])
}

func (h *Handler) dismissNotification(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := h.Client.DismissNotification(c.UserContext(), viewer(c), id); err != nil {
		return err
	}
	return c.JSON(struct{}{})
}

func (h *Handler) clearNotifications(c *fiber.Ctx) error {
	if err := h.Client.ClearNotifications(c.UserContext(), viewer(c)); err != nil {
		return err
	}
	return c.JSON(struct{}{})
}
