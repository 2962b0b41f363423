package mastodon

import (
	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// GroupedNotificationsResults is Mastodon's answer of /api/v2/notifications:
// the groups, and each account and status they name once.
type GroupedNotificationsResults struct {
	Accounts           []*Account                   `json:"accounts"`
	PartialAccounts    *[]*PartialAccountWithAvatar `json:"partial_accounts,omitempty"`
	Statuses           []*Status                    `json:"statuses"`
	NotificationGroups []*NotificationGroupEntity   `json:"notification_groups"`
}

// NotificationGroupEntity is Mastodon's NotificationGroup entity.
type NotificationGroupEntity struct {
	GroupKey                 string   `json:"group_key"`
	NotificationsCount       int64    `json:"notifications_count"`
	Type                     string   `json:"type"`
	MostRecentNotificationID string   `json:"most_recent_notification_id"`
	PageMinID                string   `json:"page_min_id,omitempty"`
	PageMaxID                string   `json:"page_max_id,omitempty"`
	LatestPageNotificationAt string   `json:"latest_page_notification_at,omitempty"`
	SampleAccountIDs         []string `json:"sample_account_ids"`
	StatusID                 *string  `json:"status_id,omitempty"`
}

// PartialAccountWithAvatar is Mastodon's account summary for
// expand_accounts=partial_avatars.
type PartialAccountWithAvatar struct {
	ID           string `json:"id"`
	Acct         string `json:"acct"`
	URL          string `json:"url"`
	Avatar       string `json:"avatar"`
	AvatarStatic string `json:"avatar_static"`
	Locked       bool   `json:"locked"`
	Bot          bool   `json:"bot"`
}

var errBadExpand = errs.E(errs.Invalid, "Invalid value for 'expand_accounts', allowed values are 'full' and 'partial_avatars'")

func (h *Handler) groupedNotifications(c *fiber.Ctx) error {
	p, err := parseParams(c)
	if err != nil {
		return err
	}
	partial, err := expandPartial(p)
	if err != nil {
		return err
	}
	q, ok := notificationQuery(p)
	if !ok {
		return c.JSON(GroupedNotificationsResults{Accounts: []*Account{}, Statuses: []*Status{}, NotificationGroups: []*NotificationGroupEntity{}})
	}
	gs, w, err := h.notifs().Groups(c.UserContext(), reader(c), q, groupedTypes(p), page(c, 40, 80))
	if err != nil {
		return err
	}
	out, err := h.renderGroups(c, gs, partial, true)
	if err != nil {
		return err
	}
	if w.Newest != 0 {
		h.linkHeader(c, []int64{w.Newest, w.Oldest})
	}
	return c.JSON(out)
}

// expandPartial reads expand_accounts: full (the default) or
// partial_avatars; anything else is refused as on Mastodon.
func expandPartial(p params) (bool, error) {
	switch p.str("expand_accounts") {
	case "", "full":
		return false, nil
	case "partial_avatars":
		return true, nil
	}
	return false, errBadExpand
}

func (h *Handler) notificationGroup(c *fiber.Ctx) error {
	g, err := h.notifs().Group(c.UserContext(), reader(c), c.Params("group_key"))
	if err != nil {
		return err
	}
	out, err := h.renderGroups(c, []federation.NotificationGroup{*g}, false, false)
	if err != nil {
		return err
	}
	if len(out.NotificationGroups) == 0 {
		return errNotFound
	}
	return c.JSON(out)
}

func (h *Handler) notificationGroupAccounts(c *fiber.Ctx) error {
	ids, err := h.notifs().GroupAccounts(c.UserContext(), reader(c), c.Params("group_key"))
	if err != nil {
		return err
	}
	views, err := h.Views.AccountViews(c.UserContext(), ids)
	if err != nil {
		return err
	}
	r := h.renderer(c)
	out := make([]*Account, 0, len(ids))
	for _, id := range ids {
		if v, ok := views[id]; ok {
			out = append(out, r.account(v))
		}
	}
	return c.JSON(out)
}

func (h *Handler) dismissNotificationGroup(c *fiber.Ctx) error {
	if err := h.notifs().DismissGroup(c.UserContext(), reader(c), c.Params("group_key")); err != nil {
		return err
	}
	return c.JSON(struct{}{})
}

// renderGroups renders groups with their accounts and statuses, each once.
// With partial, accounts holds each group's newest sender in full and
// partial_accounts the other samples, as Mastodon's partial_avatars. A
// group whose status went meanwhile is left out, never shown half.
func (h *Handler) renderGroups(c *fiber.Ctx, gs []federation.NotificationGroup, partial, paged bool) (*GroupedNotificationsResults, error) {
	r := h.renderer(c)
	var acctIDs, statusIDs []int64
	for _, g := range gs {
		acctIDs = append(acctIDs, g.SampleAccountIDs...)
		if g.Notification.StatusID != 0 {
			statusIDs = append(statusIDs, g.Notification.StatusID)
		}
	}
	accounts, byID, err := h.hydrate(c, r, acctIDs, statusIDs)
	if err != nil {
		return nil, err
	}
	out := &GroupedNotificationsResults{Accounts: []*Account{}, Statuses: []*Status{}, NotificationGroups: []*NotificationGroupEntity{}}
	full, part, shown := map[int64]bool{}, map[int64]bool{}, map[string]bool{}
	for _, g := range gs {
		e := groupEntity(g, paged)
		if g.Notification.StatusID != 0 {
			s := byID[idStr(g.Notification.StatusID)]
			if s == nil {
				continue
			}
			if !shown[s.ID] {
				shown[s.ID] = true
				out.Statuses = append(out.Statuses, s)
			}
		}
		for i, id := range g.SampleAccountIDs {
			if accounts[id] != nil && (!partial || i == 0) {
				full[id] = true
			}
		}
		out.NotificationGroups = append(out.NotificationGroups, e)
	}
	var partials []*PartialAccountWithAvatar
	for _, g := range gs {
		for _, id := range g.SampleAccountIDs {
			a := accounts[id]
			switch {
			case a == nil || part[id]:
			case full[id]:
				out.Accounts = append(out.Accounts, r.account(a))
				delete(full, id)
				part[id] = true
			default:
				partials = append(partials, partialAccount(r.account(a)))
				part[id] = true
			}
		}
	}
	if partial {
		if partials == nil {
			partials = []*PartialAccountWithAvatar{}
		}
		out.PartialAccounts = &partials
	}
	return out, nil
}

// groupEntity renders one group; page fields only on a page.
func groupEntity(g federation.NotificationGroup, paged bool) *NotificationGroupEntity {
	e := &NotificationGroupEntity{GroupKey: g.Key, NotificationsCount: g.Count, Type: g.Notification.Type,
		MostRecentNotificationID: idStr(g.MostRecentID), SampleAccountIDs: make([]string, 0, len(g.SampleAccountIDs)),
		StatusID: idPtr(g.Notification.StatusID)}
	for _, id := range g.SampleAccountIDs {
		e.SampleAccountIDs = append(e.SampleAccountIDs, idStr(id))
	}
	if paged {
		e.PageMinID, e.PageMaxID, e.LatestPageNotificationAt = idStr(g.PageMinID), idStr(g.PageMaxID), ts(g.LatestPageAt)
	}
	return e
}

func partialAccount(a *Account) *PartialAccountWithAvatar {
	return &PartialAccountWithAvatar{ID: a.ID, Acct: a.Acct, URL: a.URL, Avatar: a.Avatar, AvatarStatic: a.AvatarStatic,
		Locked: a.Locked, Bot: a.Bot}
}
