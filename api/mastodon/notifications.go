package mastodon

import (
	"slices"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/filter"
	"github.com/roost-social/roost/federation/social/notification"
)

// registerNotifications mounts notifications v1 and v2 (grouped), their
// unread counts, the policy and the requests. Fixed paths come before
// /:id and /:group_key, which would take them.
func (h *Handler) registerNotifications(v1, v2 fiber.Router) {
	read, write, in := h.need("read:notifications"), h.need("write:notifications"), h.in(filter.Notifications)
	for _, r := range []struct {
		at     fiber.Router
		groups bool
	}{{v1, false}, {v2, true}} {
		r.at.Get("/notifications/unread_count", read, h.unreadCount(r.groups))
		r.at.Get("/notifications/policy", read, h.policy(r.groups))
		r.at.Patch("/notifications/policy", write, h.setPolicy(r.groups))
		r.at.Put("/notifications/policy", write, h.setPolicy(r.groups))
	}
	v1.Get("/notifications/requests", read, h.notificationRequests)
	v1.Get("/notifications/requests/merged", read, h.requestsMerged)
	v1.Post("/notifications/requests/accept", write, h.decideRequests(true, false))
	v1.Post("/notifications/requests/dismiss", write, h.decideRequests(false, false))
	v1.Get("/notifications/requests/:id", read, h.notificationRequest)
	v1.Post("/notifications/requests/:id/accept", write, h.decideRequests(true, true))
	v1.Post("/notifications/requests/:id/dismiss", write, h.decideRequests(false, true))
	v1.Get("/notifications", read, in, h.notifications)
	v1.Get("/notifications/:id", read, in, h.notification)
	v1.Post("/notifications/clear", write, h.clearNotifications)
	v1.Post("/notifications/:id/dismiss", write, h.dismissNotification)

	v2.Get("/notifications", read, in, h.groupedNotifications)
	v2.Get("/notifications/:group_key", read, in, h.notificationGroup)
	v2.Get("/notifications/:group_key/accounts", read, in, h.notificationGroupAccounts)
	v2.Post("/notifications/:group_key/dismiss", write, h.dismissNotificationGroup)
}

// notifs is the notifications use case over the handler's stores.
func (h *Handler) notifs() *notification.Service {
	s := &notification.Service{Pages: h.Views, Store: h.Notifications, Views: h.Views, Markers: h.Client}
	if h.Filters != nil {
		s.Viewings = h.Filters
	}
	return s
}

// reader is who reads notifications on this request's site.
func reader(c *fiber.Ctx) notification.Viewer {
	return notification.Viewer{ID: viewer(c), SiteDomain: httpx.SiteOf(c).Domain}
}

// notificationQuery reads the filters both versions take; none is false
// when they can match nothing (only unknown types, a malformed account).
func notificationQuery(p params) (q federation.NotificationQuery, ok bool) {
	q.Types, q.Exclude = notification.KnownTypes(p.list("types")), notification.KnownTypes(p.list("exclude_types"))
	if len(p.list("types")) > 0 && len(q.Types) == 0 {
		return q, false // only types Roost never creates were asked for
	}
	if acct := p.str("account_id"); acct != "" {
		id, err := strconv.ParseInt(acct, 10, 64)
		if err != nil || id <= 0 {
			return q, false
		}
		q.FromAccountID = id
	}
	q.IncludeFiltered, _ = p.boolean("include_filtered")
	return q, true
}

func (h *Handler) notifications(c *fiber.Ctx) error {
	p, err := parseParams(c)
	if err != nil {
		return err
	}
	q, ok := notificationQuery(p)
	if !ok {
		return c.JSON([]any{})
	}
	ns, w, err := h.notifs().Page(c.UserContext(), reader(c), q, page(c, 40, 80))
	if err != nil {
		return err
	}
	out, err := h.renderNotifications(c, ns)
	if err != nil {
		return err
	}
	if w.Newest != 0 {
		h.linkHeader(c, []int64{w.Newest, w.Oldest})
	}
	return c.JSON(out)
}

// hydrate loads what a page of notifications (or groups, or requests)
// names: the accounts by id, and the statuses the viewer may see,
// rendered and keyed by their entity id.
func (h *Handler) hydrate(c *fiber.Ctx, r *renderer, acctIDs, statusIDs []int64) (map[int64]*federation.AccountView, map[string]*Status, error) {
	accounts, err := h.Views.AccountViews(c.UserContext(), acctIDs)
	if err != nil {
		return nil, nil, err
	}
	views, err := h.Views.StatusViews(c.UserContext(), r.seer, statusIDs)
	if err != nil {
		return nil, nil, err
	}
	rendered, err := r.statuses(views)
	if err != nil {
		return nil, nil, err
	}
	byID := make(map[string]*Status, len(rendered))
	for _, s := range rendered {
		byID[s.ID] = s
	}
	return accounts, byID, nil
}

// renderNotifications hydrates notifications' accounts and statuses. The
// use case left out what the viewer may not see or hides; a notification
// that went meanwhile is left out too, never shown half.
func (h *Handler) renderNotifications(c *fiber.Ctx, ns []federation.Notification) ([]*Notification, error) {
	r := h.renderer(c)
	var acctIDs, statusIDs []int64
	for _, n := range ns {
		acctIDs = append(acctIDs, n.FromAccountID)
		if n.StatusID != 0 {
			statusIDs = append(statusIDs, n.StatusID)
		}
	}
	accounts, byID, err := h.hydrate(c, r, acctIDs, statusIDs)
	if err != nil {
		return nil, err
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
			GroupKey: n.GroupKey}
		if nn.GroupKey == "" {
			nn.GroupKey = federation.UngroupedPrefix + idStr(n.ID)
		}
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

// unreadCount is GET /api/v{1,2}/notifications/unread_count: the
// notifications (v2: their groups) newer than the notifications marker.
func (h *Handler) unreadCount(groups bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, err := parseParams(c)
		if err != nil {
			return err
		}
		q, ok := notificationQuery(p)
		if !ok {
			return c.JSON(fiber.Map{"count": 0})
		}
		limit, _ := strconv.Atoi(p.str("limit"))
		n, err := h.notifs().UnreadCount(c.UserContext(), reader(c), q, groupedTypes(p), groups, limit)
		if err != nil {
			return err
		}
		return c.JSON(fiber.Map{"count": n})
	}
}

// groupedTypes is the grouped_types asked for: nil when none was named
// (the groupable types), else those of them Roost groups (maybe none).
func groupedTypes(p params) []string {
	if !p.has("grouped_types") {
		return nil
	}
	out := []string{}
	for _, t := range p.list("grouped_types") {
		if slices.Contains(federation.GroupableNotificationTypes, t) && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}
