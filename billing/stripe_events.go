package billing

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/roost-social/roost/internal/errs"
)

// Event is the part of a Stripe event the service reads: its id and type
// and the ids its object names. The webhook handler fills it from the
// verified body.
type Event struct {
	ID   string
	Type string
	// SubscriptionID is the subscription the object is or belongs to
	// (a subscription's id, an invoice's or checkout session's
	// subscription).
	SubscriptionID string
	CustomerID     string
	// TenantID is from a checkout session's client_reference_id or the
	// object's metadata; 0 when absent.
	TenantID int64
	// Invoice is the paid invoice of an invoice.paid event (nil for
	// other events): its amount is income in the open books. The
	// amount is read from the signed event; it never changes once paid.
	Invoice *PaidInvoice
}

// PaidInvoice is what an invoice.paid event says was paid.
type PaidInvoice struct {
	ID          string
	AmountMinor int64
	Currency    string
	PaidAt      time.Time
}

// Handled lists the Stripe event types the service acts on; others are
// acknowledged and ignored.
var Handled = map[string]bool{
	"checkout.session.completed":           true,
	"customer.subscription.created":        true,
	"customer.subscription.updated":        true,
	"customer.subscription.deleted":        true,
	"invoice.paid":                         true,
	"invoice.payment_failed":               true,
	"customer.subscription.trial_will_end": true,
}

// Service applies provider events to billing records.
type Service struct {
	Store Store
	// Stripe re-fetches subscriptions; events are never trusted for state
	// because Stripe delivers them in any order.
	Stripe SubscriptionFetcher
	Now    func() time.Time
	Log    *slog.Logger
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// HandleStripe applies one verified Stripe event at most once and reports
// whether it was applied now (false: a replay, or a type not handled).
func (s *Service) HandleStripe(ctx context.Context, ev Event) (bool, error) {
	if ev.ID == "" {
		return false, errs.E(errs.Invalid, "event without id")
	}
	if !Handled[ev.Type] {
		return false, nil
	}
	var ch *Change
	if ev.SubscriptionID != "" && ev.Type != "customer.subscription.trial_will_end" {
		if s.Stripe == nil {
			return false, errs.E(errs.Unavailable, "no Stripe API key configured to fetch subscriptions")
		}
		sub, err := s.Stripe.Subscription(ctx, ev.SubscriptionID)
		if err != nil {
			return false, fmt.Errorf("fetch subscription %s: %w", ev.SubscriptionID, err)
		}
		ch = &Change{TenantID: ev.TenantID, Provider: "stripe", CustomerID: sub.CustomerID,
			SubscriptionID: sub.ID, State: StateOf(sub.Status), Now: s.now()}
		if ch.TenantID == 0 {
			ch.TenantID = sub.TenantID
		}
		if ch.CustomerID == "" {
			ch.CustomerID = ev.CustomerID
		}
		if !sub.CurrentPeriodEnd.IsZero() {
			t := sub.CurrentPeriodEnd
			ch.PaidUntil = &t
		}
	}
	if inv := ev.Invoice; ev.Type == "invoice.paid" && inv != nil && inv.ID != "" && inv.AmountMinor > 0 {
		if ch == nil {
			ch = &Change{TenantID: ev.TenantID, Provider: "stripe", CustomerID: ev.CustomerID, Now: s.now()}
		}
		paidAt := inv.PaidAt
		if paidAt.IsZero() {
			paidAt = s.now()
		}
		ch.Payment = &Payment{Provider: "stripe", Ref: inv.ID, AmountMinor: inv.AmountMinor, Currency: inv.Currency, PaidAt: paidAt}
	}
	applied, err := s.Store.ApplyEvent(ctx, "stripe", ev.ID, ev.Type, ch)
	if err != nil {
		return false, err
	}
	if applied && s.Log != nil {
		attrs := []any{"event", ev.ID, "type", ev.Type, "subscription", ev.SubscriptionID}
		if ch != nil {
			attrs = append(attrs, "state", ch.State, "tenant", ch.TenantID)
		}
		s.Log.InfoContext(ctx, "billing event applied", attrs...)
	}
	return applied, nil
}
