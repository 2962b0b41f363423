package mastodon

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/filter"
	"github.com/roost-social/roost/tenant"
)

// Rendering for the streaming API (api/streaming): the same entities as
// the REST API, for one viewer on one site, outside a request. Each
// returns an errs.NotFound error when the viewer may not see the entity,
// and the JSON otherwise.

// Conversation is Mastodon's Conversation entity, as the direct stream
// sends it. Roost keeps no conversation rows: a direct status is its own
// conversation (id: the status id).
type Conversation struct {
	ID         string     `json:"id"`
	Unread     bool       `json:"unread"`
	Accounts   []*Account `json:"accounts"`
	LastStatus *Status    `json:"last_status"`
}

func (h *Handler) streamRenderer(ctx context.Context, site *tenant.Site, viewerID int64) *renderer {
	seer := viewerID
	if seer == 0 && site != nil {
		seer = federation.SignedOut(site.TenantID)
	}
	return &renderer{h: h, ctx: ctx, site: site, viewer: viewerID, seer: seer}
}

// streamStatus renders one status for a stream: visible to the viewer, and
// neither by nor boosting an account the viewer blocks or mutes, as a home
// timeline leaves those out. In a place (filter.Home, filter.Public) what
// the viewer hides there applies as on that REST timeline
// (federation/social/timeline): what it hides is not found; a warn filter
// fills the filtered field.
func (h *Handler) streamStatus(ctx context.Context, site *tenant.Site, viewerID, statusID int64, where filter.Where) (*Status, error) {
	r := h.streamRenderer(ctx, site, viewerID)
	if where != "" {
		r.extra = &renderExtra{place: where}
	}
	views, err := h.Views.StatusViews(ctx, r.seer, []int64{statusID})
	if err != nil {
		return nil, err
	}
	out, err := r.statuses(views)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errNotFound
	}
	s := out[0]
	if viewerID != 0 {
		var authors []int64
		for _, st := range []*Status{s, s.Reblog} {
			if st != nil && st.Account != nil && st.Account.ID != idStr(viewerID) {
				authors = append(authors, parseID(st.Account.ID))
			}
		}
		if len(authors) > 0 {
			rels, err := h.Views.Relationships(ctx, viewerID, authors)
			if err != nil {
				return nil, err
			}
			for _, rel := range rels {
				if rel.Blocking || rel.Muting || rel.BlockedBy {
					return nil, errNotFound
				}
			}
		}
	}
	return s, nil
}

// RenderStatus renders status statusID as viewerID (0: anonymous) sees it
// on site, in the place where (filter.Home or filter.Public; "" for none),
// whose hides apply (federation/social/timeline).
func (h *Handler) RenderStatus(ctx context.Context, site *tenant.Site, viewerID, statusID int64, where filter.Where) ([]byte, error) {
	s, err := h.streamStatus(ctx, site, viewerID, statusID, where)
	if err != nil {
		return nil, err
	}
	return json.Marshal(s)
}

// RenderNotification renders notification id of viewerID's.
func (h *Handler) RenderNotification(ctx context.Context, site *tenant.Site, viewerID, id int64) ([]byte, error) {
	if viewerID == 0 {
		return nil, errNotFound
	}
	n, err := h.Client.Notification(ctx, viewerID, id)
	if err != nil {
		return nil, err
	}
	r := h.streamRenderer(ctx, site, viewerID)
	r.extra = &renderExtra{place: filter.Notifications} // filters and domain blocks, as the REST list
	// As renderNotifications does for a page, for one notification.
	accounts, err := h.Views.AccountViews(ctx, []int64{n.FromAccountID})
	if err != nil {
		return nil, err
	}
	a, ok := accounts[n.FromAccountID]
	if !ok {
		return nil, errNotFound
	}
	if hidden, err := r.hidesNotificationFrom(a); err != nil {
		return nil, err
	} else if hidden {
		return nil, errNotFound
	}
	out := &Notification{ID: idStr(n.ID), Type: n.Type, CreatedAt: ts(n.CreatedAt), Account: r.account(a),
		GroupKey: n.GroupKey}
	if out.GroupKey == "" { // alone: as GET /api/v2/notifications names it
		out.GroupKey = federation.UngroupedPrefix + idStr(n.ID)
	}
	if n.StatusID != 0 {
		views, err := h.Views.StatusViews(ctx, viewerID, []int64{n.StatusID})
		if err != nil {
			return nil, err
		}
		ss, err := r.statuses(views)
		if err != nil {
			return nil, err
		}
		if len(ss) == 0 {
			return nil, errNotFound
		}
		out.Status = ss[0]
	}
	return json.Marshal(out)
}

// RenderConversation renders direct status statusID as a conversation of
// viewerID's: its participants but the viewer, and the status.
func (h *Handler) RenderConversation(ctx context.Context, site *tenant.Site, viewerID, statusID int64) ([]byte, error) {
	if viewerID == 0 {
		return nil, errNotFound
	}
	if h.Conversations != nil {
		// The conversation as GET /api/v1/conversations shows it, same id.
		return h.RenderAccountConversation(ctx, site, viewerID, statusID)
	}
	s, err := h.streamStatus(ctx, site, viewerID, statusID, "")
	if err != nil {
		return nil, err
	}
	if s.Visibility != string(federation.Direct) {
		return nil, errNotFound
	}
	c := &Conversation{ID: s.ID, Unread: s.Account.ID != idStr(viewerID), Accounts: []*Account{}, LastStatus: s}
	seen := map[string]bool{idStr(viewerID): true}
	if !seen[s.Account.ID] {
		seen[s.Account.ID] = true
		c.Accounts = append(c.Accounts, s.Account)
	}
	var others []int64
	for _, m := range s.Mentions {
		if !seen[m.ID] {
			seen[m.ID] = true
			others = append(others, parseID(m.ID))
		}
	}
	if len(others) > 0 {
		views, err := h.Views.AccountViews(ctx, others)
		if err != nil {
			return nil, err
		}
		r := h.streamRenderer(ctx, site, viewerID)
		for _, id := range others {
			if v, ok := views[id]; ok {
				c.Accounts = append(c.Accounts, r.account(v))
			}
		}
	}
	return json.Marshal(c)
}

func parseID(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
