package admin

import (
	"fmt"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/federation/domainblock"
)

// queueRoutes are the delivery queue health pages.
var queueRoutes = []route{
	{"GET", "/queue", ManageQueues, fedPage((*Handler).queue)},
	{"POST", "/queue/retry", ManageQueues, fedPage((*Handler).retryDeliveries)},
	{"POST", "/queue/discard", ManageQueues, fedPage((*Handler).discardDeliveries)},
}

type queueData struct {
	Counts      *domainblock.QueueCounts
	Streams     *domainblock.Streams
	StreamsErr  string
	DeadLetters []domainblock.Delivery
	Now         time.Time
}

func (h *Handler) queue(c *fiber.Ctx, s *session) error {
	ctx, now := c.UserContext(), h.now()
	d := &queueData{Now: now}
	var err error
	if d.Counts, err = h.Federation.QueueCounts(ctx, s.Tenant, now); err != nil {
		return h.serverError(c, s, err)
	}
	// Redis down is itself queue health to show, not a broken page.
	if d.Streams, err = h.Federation.Streams(ctx, now); err != nil {
		d.StreamsErr = err.Error()
		d.Streams = &domainblock.Streams{}
	}
	if d.DeadLetters, err = h.Federation.Deliveries(ctx, s.Tenant, "failed", c.Query("host"), 200); err != nil {
		return h.serverError(c, s, err)
	}
	notice := ""
	switch c.Query("done") {
	case "retried":
		notice = "Queued again: " + c.Query("n") + " delivery(ies)."
	case "discarded":
		notice = "Discarded: " + c.Query("n") + " delivery(ies)."
	}
	return h.render(c, s, fiber.StatusOK, "queue", &view{Page: titled("Queue"), Data: d, Notice: notice})
}

// deliveryIDs are the form's checked ids, or nil with all=1 (every dead
// letter in the session's scope); ok is false when neither was sent.
func deliveryIDs(c *fiber.Ctx) (ids []int64, ok bool) {
	if c.FormValue("all") == "1" {
		return nil, true
	}
	for _, v := range c.Request().PostArgs().PeekMulti("id") {
		id, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil || id <= 0 {
			return nil, false
		}
		ids = append(ids, id)
	}
	return ids, len(ids) > 0
}

func (h *Handler) retryDeliveries(c *fiber.Ctx, s *session) error {
	ids, ok := deliveryIDs(c)
	if !ok {
		return h.errorPage(c, s, fiber.StatusBadRequest, "Nothing chosen", "Tick the deliveries to retry, or retry all.")
	}
	ctx := c.UserContext()
	retried, err := h.Federation.RetryDeliveries(ctx, s.Tenant, ids)
	if err != nil {
		return h.serverError(c, s, err)
	}
	if err := h.Federation.Dispatch(ctx, false, retried); err != nil {
		// Committed as pending and due: the sweeper dispatches them.
		h.log(c).WarnContext(ctx, "dispatching retried deliveries; the sweeper will", "err", err)
	}
	h.record(c, s.actor(), ActionDeliveryRetry, targetOf(ids), nullTenant(s.Tenant), fmt.Sprintf("%d queued again", len(retried)))
	return c.Redirect(link(c, fmt.Sprintf("/queue?done=retried&n=%d", len(retried))), fiber.StatusSeeOther)
}

func (h *Handler) discardDeliveries(c *fiber.Ctx, s *session) error {
	ids, ok := deliveryIDs(c)
	if !ok {
		return h.errorPage(c, s, fiber.StatusBadRequest, "Nothing chosen", "Tick the deliveries to discard, or discard all.")
	}
	n, err := h.Federation.DiscardDeliveries(c.UserContext(), s.Tenant, ids)
	if err != nil {
		return h.serverError(c, s, err)
	}
	h.record(c, s.actor(), ActionDeliveryDiscard, targetOf(ids), nullTenant(s.Tenant), fmt.Sprintf("%d discarded", n))
	return c.Redirect(link(c, fmt.Sprintf("/queue?done=discarded&n=%d", n)), fiber.StatusSeeOther)
}

func targetOf(ids []int64) string {
	if ids == nil {
		return "all dead letters"
	}
	if len(ids) == 1 {
		return fmt.Sprintf("delivery %d", ids[0])
	}
	return fmt.Sprintf("%d deliveries", len(ids))
}
