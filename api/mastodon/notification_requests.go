package mastodon

import (
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/notification"
	"github.com/roost-social/roost/internal/errs"
)

// NotificationPolicySummary counts the pending requests.
type NotificationPolicySummary struct {
	PendingRequestsCount      int64 `json:"pending_requests_count"`
	PendingNotificationsCount int64 `json:"pending_notifications_count"`
}

// NotificationPolicyV2 is Mastodon's NotificationPolicy entity (v2).
type NotificationPolicyV2 struct {
	ForNotFollowing    string                    `json:"for_not_following"`
	ForNotFollowers    string                    `json:"for_not_followers"`
	ForNewAccounts     string                    `json:"for_new_accounts"`
	ForPrivateMentions string                    `json:"for_private_mentions"`
	ForLimitedAccounts string                    `json:"for_limited_accounts"`
	Summary            NotificationPolicySummary `json:"summary"`
}

// NotificationPolicyV1 is the v1 NotificationPolicy entity: true filters.
type NotificationPolicyV1 struct {
	FilterNotFollowing    bool                      `json:"filter_not_following"`
	FilterNotFollowers    bool                      `json:"filter_not_followers"`
	FilterNewAccounts     bool                      `json:"filter_new_accounts"`
	FilterPrivateMentions bool                      `json:"filter_private_mentions"`
	Summary               NotificationPolicySummary `json:"summary"`
}

// NotificationRequestEntity is Mastodon's NotificationRequest entity.
type NotificationRequestEntity struct {
	ID                 string   `json:"id"`
	CreatedAt          string   `json:"created_at"`
	UpdatedAt          string   `json:"updated_at"`
	NotificationsCount string   `json:"notifications_count"`
	Account            *Account `json:"account"`
	LastStatus         *Status  `json:"last_status,omitempty"`
}

func policyEntity(p federation.NotificationPolicy, v2 bool) any {
	sum := NotificationPolicySummary{PendingRequestsCount: p.PendingRequests, PendingNotificationsCount: p.PendingNotifications}
	if v2 {
		return NotificationPolicyV2{ForNotFollowing: p.ForNotFollowing, ForNotFollowers: p.ForNotFollowers,
			ForNewAccounts: p.ForNewAccounts, ForPrivateMentions: p.ForPrivateMentions,
			ForLimitedAccounts: p.ForLimitedAccounts, Summary: sum}
	}
	filters := func(v string) bool { return v != federation.PolicyAccept }
	return NotificationPolicyV1{FilterNotFollowing: filters(p.ForNotFollowing), FilterNotFollowers: filters(p.ForNotFollowers),
		FilterNewAccounts: filters(p.ForNewAccounts), FilterPrivateMentions: filters(p.ForPrivateMentions), Summary: sum}
}

func (h *Handler) policy(v2 bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, err := h.notifs().Policy(c.UserContext(), reader(c))
		if err != nil {
			return err
		}
		return c.JSON(policyEntity(p, v2))
	}
}

// setPolicy is PATCH /api/v{1,2}/notifications/policy: v2 takes accept,
// filter or drop per rule; v1 takes booleans (true: filter, false: accept).
func (h *Handler) setPolicy(v2 bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		p, err := parseParams(c)
		if err != nil {
			return err
		}
		var ch notification.PolicyChange
		for _, r := range []struct {
			v1, v2 string
			to     **string
		}{
			{"filter_not_following", "for_not_following", &ch.ForNotFollowing},
			{"filter_not_followers", "for_not_followers", &ch.ForNotFollowers},
			{"filter_new_accounts", "for_new_accounts", &ch.ForNewAccounts},
			{"filter_private_mentions", "for_private_mentions", &ch.ForPrivateMentions},
			{"", "for_limited_accounts", &ch.ForLimitedAccounts},
		} {
			if v, err := policyParam(p, r.v1, r.v2, v2); err != nil {
				return err
			} else if v != nil {
				*r.to = v
			}
		}
		out, err := h.notifs().SetPolicy(c.UserContext(), reader(c), ch)
		if err != nil {
			return err
		}
		return c.JSON(policyEntity(out, v2))
	}
}

// policyParam reads one rule of a policy update; nil when not sent.
func policyParam(p params, v1Name, v2Name string, v2 bool) (*string, error) {
	if v2 {
		if !p.has(v2Name) {
			return nil, nil
		}
		v := p.str(v2Name)
		return &v, nil
	}
	if v1Name == "" || !p.has(v1Name) {
		return nil, nil
	}
	on, ok := p.boolean(v1Name)
	if !ok {
		return nil, errs.E(errs.Invalid, "%s must be true or false", v1Name)
	}
	v := federation.PolicyAccept
	if on {
		v = federation.PolicyFilter
	}
	return &v, nil
}

func (h *Handler) notificationRequests(c *fiber.Ctx) error {
	rs, err := h.notifs().Requests(c.UserContext(), reader(c), page(c, 40, 80))
	if err != nil {
		return err
	}
	out, err := h.renderRequests(c, rs)
	if err != nil {
		return err
	}
	cursors := make([]int64, len(rs))
	for i, r := range rs {
		cursors[i] = r.LastID
	}
	h.linkHeader(c, cursors)
	return c.JSON(out)
}

func (h *Handler) notificationRequest(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	r, err := h.notifs().Request(c.UserContext(), reader(c), id)
	if err != nil {
		return err
	}
	out, err := h.renderRequests(c, []federation.NotificationRequest{*r})
	if err != nil {
		return err
	}
	if len(out) == 0 {
		return errNotFound
	}
	return c.JSON(out[0])
}

// renderRequests renders requests with their senders and last statuses;
// one whose sender is gone is left out.
func (h *Handler) renderRequests(c *fiber.Ctx, rs []federation.NotificationRequest) ([]*NotificationRequestEntity, error) {
	r := h.renderer(c)
	var acctIDs, statusIDs []int64
	for _, q := range rs {
		acctIDs = append(acctIDs, q.FromAccountID)
		if q.LastStatusID != 0 {
			statusIDs = append(statusIDs, q.LastStatusID)
		}
	}
	accounts, byID, err := h.hydrate(c, r, acctIDs, statusIDs)
	if err != nil {
		return nil, err
	}
	out := make([]*NotificationRequestEntity, 0, len(rs))
	for _, q := range rs {
		a, ok := accounts[q.FromAccountID]
		if !ok {
			continue
		}
		out = append(out, &NotificationRequestEntity{ID: idStr(q.FromAccountID), CreatedAt: ts(q.CreatedAt),
			UpdatedAt: ts(q.UpdatedAt), NotificationsCount: strconv.FormatInt(q.Count, 10), Account: r.account(a),
			LastStatus: byID[idStr(q.LastStatusID)]})
	}
	return out, nil
}

// decideRequests accepts or dismisses one request (:id) or several (id[]).
func (h *Handler) decideRequests(accept, single bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var ids []int64
		if single {
			id, err := pathID(c, "id")
			if err != nil {
				return err
			}
			ids = []int64{id}
		} else {
			p, err := parseParams(c)
			if err != nil {
				return err
			}
			for _, s := range p.list("id") {
				id, err := strconv.ParseInt(s, 10, 64)
				if err != nil || id <= 0 {
					return errs.E(errs.Invalid, "id[] must be request ids")
				}
				ids = append(ids, id)
			}
		}
		decide := h.notifs().Dismiss
		if accept {
			decide = h.notifs().Accept
		}
		if err := decide(c.UserContext(), reader(c), ids, single); err != nil {
			return err
		}
		return c.JSON(struct{}{})
	}
}

// requestsMerged answers whether accepted requests' notifications are in
// the list yet: always, since accepting moves them in its transaction.
func (h *Handler) requestsMerged(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"merged": true})
}
