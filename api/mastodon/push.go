package mastodon

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/push"
)

// WebPushSubscription is Mastodon's entity of an access token's Web Push
// subscription. Standard is true: Roost always sends RFC 8291 aes128gcm
// with RFC 8292 VAPID, never the drafts' legacy aesgcm.
type WebPushSubscription struct {
	ID        string          `json:"id"`
	Endpoint  string          `json:"endpoint"`
	Standard  bool            `json:"standard"`
	Alerts    map[string]bool `json:"alerts"`
	Policy    string          `json:"policy"`
	ServerKey string          `json:"server_key"`
}

func (h *Handler) registerPush(v1 fiber.Router) {
	if h.Push == nil {
		return
	}
	scope := h.need("push")
	v1.Post("/push/subscription", scope, h.subscribePush)
	v1.Get("/push/subscription", scope, h.showPush)
	v1.Put("/push/subscription", scope, h.updatePush)
	v1.Delete("/push/subscription", scope, h.unsubscribePush)
}

// pushOwner is the request's token as a subscription owner.
func pushOwner(c *fiber.Ctx) push.Owner {
	t := tokenOf(c)
	return push.Owner{TenantID: httpx.SiteOf(c).TenantID, AccountID: t.AccountID, TokenID: t.ID,
		Bearer: strings.Clone(bearer(c))}
}

// subscribePush is POST /api/v1/push/subscription: the token's
// subscription, replacing any it had.
func (h *Handler) subscribePush(c *fiber.Ctx) error {
	p, err := parseParams(c)
	if err != nil {
		return err
	}
	sub := p.object("subscription")
	keys := sub.object("keys")
	s, err := h.Push.Subscribe(c.UserContext(), pushOwner(c), push.Subscription{
		Endpoint: sub.str("endpoint"), P256DH: keys.str("p256dh"), Auth: keys.str("auth"), Alerts: pushAlerts(p),
	})
	if err != nil {
		return err
	}
	return h.renderPush(c, s)
}

// showPush is GET /api/v1/push/subscription.
func (h *Handler) showPush(c *fiber.Ctx) error {
	s, err := h.Push.Subscription(c.UserContext(), pushOwner(c))
	if err != nil {
		return err
	}
	return h.renderPush(c, s)
}

// updatePush is PUT /api/v1/push/subscription: new alerts and policy.
func (h *Handler) updatePush(c *fiber.Ctx) error {
	p, err := parseParams(c)
	if err != nil {
		return err
	}
	s, err := h.Push.Update(c.UserContext(), pushOwner(c), pushAlerts(p))
	if err != nil {
		return err
	}
	return h.renderPush(c, s)
}

// unsubscribePush is DELETE /api/v1/push/subscription.
func (h *Handler) unsubscribePush(c *fiber.Ctx) error {
	if err := h.Push.Unsubscribe(c.UserContext(), pushOwner(c)); err != nil {
		return err
	}
	return c.JSON(fiber.Map{})
}

// pushAlerts reads data[alerts][name] and data[policy] (masto.js sends
// policy at the top level).
func pushAlerts(p params) push.Alerts {
	data := p.object("data")
	alerts := data.object("alerts")
	var a push.Alerts
	for _, name := range federation.PushAlerts {
		if on, ok := alerts.boolean(name); ok && on {
			a.Enabled = append(a.Enabled, name)
		}
	}
	a.Policy = data.str("policy")
	if a.Policy == "" {
		a.Policy = p.str("policy")
	}
	return a
}

func (h *Handler) renderPush(c *fiber.Ctx, s *federation.PushSubscription) error {
	key, err := h.Push.PublicKey(c.UserContext())
	if err != nil {
		return err
	}
	alerts := make(map[string]bool, len(federation.PushAlerts))
	for _, name := range federation.PushAlerts {
		alerts[name] = false
	}
	for _, name := range s.Alerts {
		alerts[name] = true
	}
	return c.JSON(WebPushSubscription{ID: strconv.FormatInt(s.ID, 10), Endpoint: s.Endpoint, Standard: true,
		Alerts: alerts, Policy: s.Policy, ServerKey: key})
}

// vapidKey is the instance's VAPID public key for the instance document;
// "" without push, or when the keys cannot be read (logged: the rest of
// the document is still worth serving).
func (h *Handler) vapidKey(c *fiber.Ctx) string {
	if h.Push == nil {
		return ""
	}
	k, err := h.Push.PublicKey(c.UserContext())
	if err != nil {
		httpx.Log(c).Error("VAPID key unavailable", "err", err)
	}
	return k
}
