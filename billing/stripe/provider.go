package stripe

import (
	"context"
	"fmt"
	"strconv"
	"time"

	stripesdk "github.com/stripe/stripe-go/v85"

	"github.com/roost-social/roost/billing"
	"github.com/roost-social/roost/internal/errs"
)

var _ billing.Provider = (*Client)(nil)

// Name is "stripe".
func (c *Client) Name() string { return "stripe" }

// Checkout creates a Checkout Session in subscription mode for the plan's
// Stripe price, with the tenant as client_reference_id and as the
// subscription's metadata (so every later event names it). The
// idempotency key is the tenant, plan and hour: a double submit gets the
// same session back instead of a second one.
func (c *Client) Checkout(ctx context.Context, r billing.CheckoutRequest) (string, error) {
	if r.Plan == nil || r.Plan.StripePriceID == "" {
		return "", errs.E(errs.Invalid, "this plan has no Stripe price: the operator arranges payment")
	}
	tenant := strconv.FormatInt(r.TenantID, 10)
	p := &stripesdk.CheckoutSessionCreateParams{
		Mode:              stripesdk.String(string(stripesdk.CheckoutSessionModeSubscription)),
		LineItems:         []*stripesdk.CheckoutSessionCreateLineItemParams{{Price: stripesdk.String(r.Plan.StripePriceID), Quantity: stripesdk.Int64(1)}},
		ClientReferenceID: stripesdk.String(tenant),
		SuccessURL:        stripesdk.String(r.SuccessURL),
		CancelURL:         stripesdk.String(r.CancelURL),
		SubscriptionData: &stripesdk.CheckoutSessionCreateSubscriptionDataParams{
			Metadata: map[string]string{"tenant_id": tenant, "plan_id": strconv.FormatInt(r.Plan.ID, 10)},
		},
		Metadata: map[string]string{"tenant_id": tenant, "plan_id": strconv.FormatInt(r.Plan.ID, 10)},
	}
	if r.Email != "" {
		p.CustomerEmail = stripesdk.String(r.Email)
	}
	p.SetIdempotencyKey(fmt.Sprintf("roost-checkout-%d-%d-%s", r.TenantID, r.Plan.ID, time.Now().UTC().Format("2006010215")))
	s, err := c.sc.V1CheckoutSessions.Create(ctx, p)
	if err != nil {
		return "", fmt.Errorf("stripe: checkout session: %w", err)
	}
	if s.URL == "" {
		return "", fmt.Errorf("stripe: checkout session %s without a URL", s.ID)
	}
	return s.URL, nil
}

// Portal creates a Billing Portal session for the tenant's customer.
func (c *Client) Portal(ctx context.Context, a *billing.Account, returnURL string) (string, error) {
	if a == nil || a.CustomerID == "" {
		return "", errs.E(errs.NotFound, "no Stripe customer for this site yet: pay first")
	}
	p := &stripesdk.BillingPortalSessionCreateParams{Customer: stripesdk.String(a.CustomerID), ReturnURL: stripesdk.String(returnURL)}
	p.SetIdempotencyKey(fmt.Sprintf("roost-portal-%d-%s", a.TenantID, randomKey()))
	s, err := c.sc.V1BillingPortalSessions.Create(ctx, p)
	if err != nil {
		return "", fmt.Errorf("stripe: billing portal session: %w", err)
	}
	return s.URL, nil
}

// Sync fetches the tenant's subscription as a change (nil without one).
func (c *Client) Sync(ctx context.Context, a *billing.Account) (*billing.Change, error) {
	if a == nil || a.SubscriptionID == "" {
		return nil, nil
	}
	s, err := c.Subscription(ctx, a.SubscriptionID)
	if err != nil {
		return nil, err
	}
	ch := &billing.Change{TenantID: a.TenantID, Provider: "stripe", CustomerID: s.CustomerID, SubscriptionID: s.ID,
		State: billing.StateOf(s.Status), Now: time.Now()}
	if !s.CurrentPeriodEnd.IsZero() {
		t := s.CurrentPeriodEnd
		ch.PaidUntil = &t
	}
	return ch, nil
}

var _ billing.MeterReporter = (*Client)(nil)

// ReportUsage sends a completed day's figure as a Billing Meter event for
// the customer, stamped at the day's last second, with an identifier per
// tenant, day and meter (Stripe counts an identifier once) and the same
// value as the idempotency key.
func (c *Client) ReportUsage(ctx context.Context, r billing.MeterReport) error {
	p := &stripesdk.BillingMeterEventCreateParams{
		EventName:  stripesdk.String(r.Event),
		Identifier: stripesdk.String(r.Identifier()),
		Payload:    map[string]string{"stripe_customer_id": r.CustomerID, "value": strconv.FormatInt(r.Value, 10)},
		Timestamp:  stripesdk.Int64(billing.Day(r.Day).Add(24*time.Hour - time.Second).Unix()),
	}
	p.SetIdempotencyKey(r.Identifier())
	if _, err := c.sc.V1BillingMeterEvents.Create(ctx, p); err != nil {
		return fmt.Errorf("stripe: meter event %s: %w", r.Identifier(), err)
	}
	return nil
}
