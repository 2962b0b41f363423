// Package billing is the HTTP side of package billing: the Stripe webhook
// at POST /billing/webhooks/stripe on the portal host.
package billing

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/billing"
	"github.com/roost-social/roost/tenant"
)

// Path is where Stripe posts events.
const Path = "/billing/webhooks/stripe"

// Tolerance is how old a signature's timestamp may be.
const Tolerance = 300 * time.Second

// Handler answers Stripe's webhook on Host.
type Handler struct {
	Host    string
	Secret  string // ROOST_STRIPE_WEBHOOK_SECRET
	Service *billing.Service
	Now     func() time.Time
	Log     *slog.Logger
}

// Register mounts the webhook; requests for other hosts pass on.
func (h *Handler) Register(r fiber.Router) {
	r.Use(func(c *fiber.Ctx) error {
		host, err := tenant.NormalizeHost(c.Hostname())
		if err != nil || host != h.Host || c.Path() != Path {
			return c.Next()
		}
		if c.Method() != fiber.MethodPost {
			return c.SendStatus(fiber.StatusMethodNotAllowed)
		}
		return h.stripe(c)
	})
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) stripe(c *fiber.Ctx) error {
	body := c.Body() // raw, as signed
	if h.Secret == "" || !Verify(body, c.Get("Stripe-Signature"), h.Secret, h.now(), Tolerance) {
		return c.Status(fiber.StatusBadRequest).SendString("bad signature")
	}
	ev, err := ParseEvent(body)
	if err != nil {
		return c.Status(fiber.StatusBadRequest).SendString("bad event")
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), 15*time.Second)
	defer cancel()
	if _, err := h.Service.HandleStripe(ctx, ev); err != nil {
		if h.Log != nil {
			h.Log.ErrorContext(ctx, "stripe webhook", "event", ev.ID, "type", ev.Type, "err", err)
		}
		// 5xx: Stripe retries, and the event id makes the retry safe.
		return c.Status(fiber.StatusInternalServerError).SendString("try again")
	}
	return c.Status(fiber.StatusOK).SendString("ok")
}

// Verify checks a Stripe-Signature header ("t=TS,v1=HEX,v1=HEX...") over
// the raw body: any v1 signature (several during secret rotation) equal to
// HMAC-SHA256(secret, TS + "." + body), with TS within tolerance of now.
func Verify(body []byte, header, secret string, now time.Time, tolerance time.Duration) bool {
	var ts int64 = -1
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return false
			}
			ts = n
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	if ts < 0 || len(sigs) == 0 {
		return false
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(ts, 10)))
	mac.Write([]byte("."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return true
		}
	}
	return false
}

// Sign returns a Stripe-Signature header for body at ts (tests, tools).
func Sign(body []byte, secret string, ts time.Time) string {
	mac := hmac.New(sha256.New, []byte(secret))
	t := strconv.FormatInt(ts.Unix(), 10)
	mac.Write([]byte(t + "."))
	mac.Write(body)
	return "t=" + t + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

type stripeObject struct {
	ID                string            `json:"id"`
	Object            string            `json:"object"`
	Customer          json.RawMessage   `json:"customer"`
	Subscription      json.RawMessage   `json:"subscription"`
	ClientReferenceID string            `json:"client_reference_id"`
	Metadata          map[string]string `json:"metadata"`
	AmountPaid        int64             `json:"amount_paid"`
	Currency          string            `json:"currency"`
	StatusTransitions struct {
		PaidAt int64 `json:"paid_at"`
	} `json:"status_transitions"`
	Parent struct {
		SubscriptionDetails struct {
			Subscription json.RawMessage `json:"subscription"`
		} `json:"subscription_details"`
	} `json:"parent"`
}

// ParseEvent reads the ids billing needs from a Stripe event body.
func ParseEvent(body []byte) (billing.Event, error) {
	var raw struct {
		ID   string `json:"id"`
		Type string `json:"type"`
		Data struct {
			Object stripeObject `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return billing.Event{}, err
	}
	o := raw.Data.Object
	ev := billing.Event{ID: raw.ID, Type: raw.Type, CustomerID: idOf(o.Customer)}
	if o.Object == "subscription" {
		ev.SubscriptionID = o.ID
	} else if ev.SubscriptionID = idOf(o.Subscription); ev.SubscriptionID == "" {
		ev.SubscriptionID = idOf(o.Parent.SubscriptionDetails.Subscription)
	}
	ref := o.ClientReferenceID
	if ref == "" {
		ref = o.Metadata["tenant_id"]
	}
	if n, err := strconv.ParseInt(ref, 10, 64); err == nil && n > 0 {
		ev.TenantID = n
	}
	if o.Object == "invoice" && raw.Type == "invoice.paid" {
		ev.Invoice = &billing.PaidInvoice{ID: o.ID, AmountMinor: o.AmountPaid, Currency: strings.ToLower(o.Currency)}
		if o.StatusTransitions.PaidAt > 0 {
			ev.Invoice.PaidAt = time.Unix(o.StatusTransitions.PaidAt, 0).UTC()
		}
	}
	return ev, nil
}

// idOf reads an expandable field: a string id or an object with an id.
func idOf(m json.RawMessage) string {
	if len(m) == 0 || string(m) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(m, &s) == nil {
		return s
	}
	var o struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(m, &o) != nil {
		return "" // neither an id nor an object with one
	}
	return o.ID
}
