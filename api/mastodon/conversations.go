package mastodon

import (
	"context"
	"encoding/json"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/tenant"
)

func (h *Handler) registerConversations(v1 fiber.Router) {
	if h.Conversations == nil {
		return
	}
	v1.Get("/conversations", h.need("read:statuses"), h.conversations)
	v1.Delete("/conversations/:id", h.need("write:conversations"), h.deleteConversation)
	v1.Post("/conversations/:id/read", h.need("write:conversations"), h.readConversation)
}

// conversationEntity is Mastodon's Conversation entity.
type conversationEntity struct {
	ID         string     `json:"id"`
	Unread     bool       `json:"unread"`
	Accounts   []*Account `json:"accounts"`
	LastStatus *Status    `json:"last_status"`
}

// renderConversations hydrates conversations: their participants and
// last statuses, in two queries for the page.
func (h *Handler) renderConversations(ctx context.Context, r *renderer, cs []federation.Conversation) ([]*conversationEntity, error) {
	var acctIDs, statusIDs []int64
	for _, cv := range cs {
		acctIDs = append(acctIDs, cv.ParticipantIDs...)
		statusIDs = append(statusIDs, cv.LastStatusID)
	}
	accounts, err := h.Views.AccountViews(ctx, acctIDs)
	if err != nil {
		return nil, err
	}
	views, err := h.Views.StatusViews(ctx, r.seer, statusIDs)
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
	out := make([]*conversationEntity, 0, len(cs))
	for _, cv := range cs {
		e := &conversationEntity{ID: idStr(cv.ID), Unread: cv.Unread, Accounts: []*Account{},
			LastStatus: byID[idStr(cv.LastStatusID)]}
		for _, id := range cv.ParticipantIDs {
			if v, ok := accounts[id]; ok {
				e.Accounts = append(e.Accounts, r.account(v))
			}
		}
		out = append(out, e)
	}
	return out, nil
}

func (h *Handler) conversations(c *fiber.Ctx) error {
	cs, err := h.Conversations.Conversations(c.UserContext(), viewer(c), page(c, 20, 40))
	if err != nil {
		return err
	}
	out, err := h.renderConversations(c.UserContext(), h.renderer(c), cs)
	if err != nil {
		return err
	}
	cursors := make([]int64, len(cs))
	for i, cv := range cs {
		cursors[i] = cv.LastStatusID
	}
	h.linkHeader(c, cursors)
	return c.JSON(out)
}

func (h *Handler) deleteConversation(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := h.Conversations.DeleteConversation(c.UserContext(), viewer(c), id); err != nil {
		return err
	}
	return c.JSON(struct{}{})
}

func (h *Handler) readConversation(c *fiber.Ctx) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := h.Conversations.MarkConversationRead(c.UserContext(), viewer(c), id); err != nil {
		return err
	}
	cv, err := h.Conversations.Conversation(c.UserContext(), viewer(c), id)
	if err != nil {
		return err
	}
	out, err := h.renderConversations(c.UserContext(), h.renderer(c), []federation.Conversation{*cv})
	if err != nil {
		return err
	}
	return c.JSON(out[0])
}

// RenderAccountConversation renders, for the streaming API, the viewer's
// conversation that direct status statusID just updated, with the same
// id the REST API gives it (GET /api/v1/conversations); errs.NotFound
// when there is none (the viewer is not a participant).
func (h *Handler) RenderAccountConversation(ctx context.Context, site *tenant.Site, viewerID, statusID int64) ([]byte, error) {
	if viewerID == 0 || h.Conversations == nil {
		return nil, errNotFound
	}
	cv, err := h.Conversations.ConversationWithStatus(ctx, viewerID, statusID)
	if err != nil {
		return nil, err
	}
	r := &renderer{h: h, ctx: ctx, site: site, viewer: viewerID, seer: viewerID}
	out, err := h.renderConversations(ctx, r, []federation.Conversation{*cv})
	if err != nil {
		return nil, err
	}
	if out[0].LastStatus == nil {
		return nil, errNotFound
	}
	return json.Marshal(out[0])
}
