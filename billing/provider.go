package billing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/roost-social/roost/internal/errs"
)

// CheckoutRequest starts a subscription to a plan for a tenant.
type CheckoutRequest struct {
	TenantID int64
	Plan     *Plan
	// Email prefills the payment page.
	Email string
	// SuccessURL and CancelURL are where the payer returns, on the
	// portal host.
	SuccessURL, CancelURL string
}

// Provider is a way of being paid. Billing state stays in Roost's
// database whatever the provider: a provider only starts payments, lets
// a payer manage them, and tells the truth about a tenant when asked.
type Provider interface {
	// Name is what tenant_billing.provider records: "manual" or "stripe".
	Name() string
	// Checkout starts a subscription and returns the URL to send the
	// payer to.
	Checkout(ctx context.Context, r CheckoutRequest) (string, error)
	// Portal returns a URL where the payer changes or cancels what they
	// pay, returning to returnURL.
	Portal(ctx context.Context, a *Account, returnURL string) (string, error)
	// Sync fetches the provider's current view of a tenant's billing as a
	// change to apply (nil: nothing to change).
	Sync(ctx context.Context, a *Account) (*Change, error)
}

// Manual is the provider for money received outside Roost: bank
// transfers, OpenCollective, friends. The operator records it (roost
// billing mark-paid, comp); there is nothing to check out.
type Manual struct {
	Store Store
	Now   func() time.Time
}

var _ Provider = (*Manual)(nil)

// Name is "manual".
func (m *Manual) Name() string { return "manual" }

func (m *Manual) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// Checkout is not possible: the operator arranges payment.
func (m *Manual) Checkout(context.Context, CheckoutRequest) (string, error) {
	return "", errs.E(errs.Unavailable, "this server takes payment directly: contact its operator, who will mark your site paid")
}

// Portal is not possible either.
func (m *Manual) Portal(context.Context, *Account, string) (string, error) {
	return "", errs.E(errs.Unavailable, "payments on this server are arranged with its operator")
}

// Sync is the manual truth, which is our own record: a payment recorded
// up to a day that has passed makes the tenant past due from that day.
func (m *Manual) Sync(_ context.Context, a *Account) (*Change, error) {
	if a.Provider != "manual" || a.State != Active || a.PaidUntil == nil || !a.PaidUntil.Before(m.now()) {
		return nil, nil
	}
	return &Change{TenantID: a.TenantID, Provider: "manual", State: PastDue, Now: *a.PaidUntil}, nil
}

// MarkPaid records that a tenant paid up to until (the end of that day
// is the caller's business), with the money received when pay is not
// nil (counted as income in the open books).
func (m *Manual) MarkPaid(ctx context.Context, tenantID int64, until time.Time, pay *Payment) (*Account, error) {
	ch := &Change{TenantID: tenantID, Provider: "manual", State: Active, PaidUntil: &until, Now: m.now(), Payment: pay}
	return m.apply(ctx, "billing.mark-paid", ch)
}

// Comp hosts a tenant for free.
func (m *Manual) Comp(ctx context.Context, tenantID int64) (*Account, error) {
	return m.apply(ctx, "billing.comp", &Change{TenantID: tenantID, Provider: "manual", State: Comped, Now: m.now()})
}

// Activate starts a free plan: active with nothing to pay and nothing
// that expires.
func (m *Manual) Activate(ctx context.Context, tenantID int64, state State) (*Account, error) {
	return m.apply(ctx, "billing.plan", &Change{TenantID: tenantID, Provider: "manual", State: state, Now: m.now()})
}

func (m *Manual) apply(ctx context.Context, kind string, ch *Change) (*Account, error) {
	if ch.Payment != nil {
		ch.Payment.Provider = "manual"
		if ch.Payment.PaidAt.IsZero() {
			ch.Payment.PaidAt = ch.Now
		}
		if ch.Payment.Ref == "" {
			ch.Payment.Ref = "manual_" + randomID()
		}
		if err := ch.Payment.Validate(); err != nil {
			return nil, err
		}
	}
	if _, err := m.Store.ApplyEvent(ctx, "manual", "manual_"+randomID(), kind, ch); err != nil {
		return nil, err
	}
	return m.Store.Account(ctx, ch.TenantID)
}

func randomID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Payment is money received, counted as income in the open books.
type Payment struct {
	Provider string
	// Ref is the provider's reference (a Stripe invoice id); a payment
	// is recorded once per reference.
	Ref         string
	TenantID    int64
	AmountMinor int64
	Currency    string
	PaidAt      time.Time
}

// Validate checks a payment before it is recorded.
func (p *Payment) Validate() error {
	switch {
	case p.AmountMinor <= 0:
		return errs.E(errs.Invalid, "amount: more than zero")
	case !currencyRe.MatchString(p.Currency):
		return errs.E(errs.Invalid, "currency: a three-letter code such as usd")
	case p.Ref == "" || len(p.Ref) > 255:
		return errs.E(errs.Invalid, "payment without a reference")
	}
	return nil
}

// Resync asks p for its current truth about the tenant's billing and
// applies it as an event ("billing.sync", a fresh id at now), so a
// webhook that was missed or arrived out of order is repaired. The
// provider answering nothing changes nothing.
func Resync(ctx context.Context, store Store, p Provider, a *Account, now time.Time) error {
	ch, err := p.Sync(ctx, a)
	if err != nil || ch == nil {
		return err
	}
	_, err = store.ApplyEvent(ctx, p.Name(), "sync_"+now.UTC().Format("20060102T150405.000000000"), "billing.sync", ch)
	return err
}
