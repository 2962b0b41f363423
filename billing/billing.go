// Package billing holds Roost's hosting charges: each tenant's billing
// state, the provider events that change it (Stripe webhooks, re-fetching
// the subscription rather than trusting event order) and the grace period
// before a tenant that stopped paying is suspended. Suspension never
// deletes data, and paying again lifts it. It depends on nothing of ours
// but internal/errs; storage lives in billing/postgres and the Stripe API
// client in billing/stripe.
package billing

import (
	"context"
	"time"
)

// State is a tenant's billing standing.
type State string

// Billing states. Only PastDue leads, after the grace period, to suspension.
const (
	Trialing State = "trialing"
	Active   State = "active"
	PastDue  State = "past_due"
	Canceled State = "canceled"
	// Comped is hosting given for free (friends, donation-only plans).
	Comped State = "comped"
)

// Paying reports whether s lets a suspension for non-payment be lifted.
func (s State) Paying() bool { return s == Trialing || s == Active || s == Comped }

// Account is one tenant's billing record.
type Account struct {
	TenantID         int64
	State            State
	Provider         string
	CustomerID       string
	SubscriptionID   string
	PaidUntil        *time.Time
	PastDueSince     *time.Time
	BillingSuspended bool
	UpdatedAt        time.Time
}

// Subscription is a provider's current view of a subscription, fetched
// when an event arrives.
type Subscription struct {
	ID         string
	CustomerID string
	// TenantID is from the subscription's metadata ("tenant_id"); 0 when
	// it carries none.
	TenantID         int64
	Status           string // the provider's status, e.g. Stripe's "past_due"
	CurrentPeriodEnd time.Time
}

// StateOf maps a Stripe subscription status to a billing state.
func StateOf(status string) State {
	switch status {
	case "trialing":
		return Trialing
	case "active":
		return Active
	case "canceled", "incomplete_expired":
		return Canceled
	default: // past_due, unpaid, incomplete, paused
		return PastDue
	}
}

// SubscriptionFetcher reads a subscription's current state from the
// provider (billing/stripe; a fake in tests).
type SubscriptionFetcher interface {
	Subscription(ctx context.Context, id string) (*Subscription, error)
}

// Change is the effect of one event on a tenant's billing record.
type Change struct {
	// TenantID names the tenant; 0 finds it by SubscriptionID, then
	// CustomerID.
	TenantID       int64
	Provider       string
	CustomerID     string
	SubscriptionID string
	State          State
	PaidUntil      *time.Time
	// Now is when the change happens (the start of a past_due spell).
	Now time.Time
	// Payment, when not nil, is money received with this change (an
	// invoice paid), recorded in the same transaction. A Change with an
	// empty State records only the payment.
	Payment *Payment
}

// Store persists billing records and applied events. Implementations MUST
// be safe for concurrent use.
type Store interface {
	// ApplyEvent records the event id and applies ch (nil: record only)
	// in one transaction. applied is false when the event was already
	// recorded; then nothing changes.
	ApplyEvent(ctx context.Context, provider, eventID, eventType string, ch *Change) (applied bool, err error)
	// Account returns a tenant's billing record, or errs.NotFound.
	Account(ctx context.Context, tenantID int64) (*Account, error)
	// Overdue lists the tenants past due since before cutoff and not yet
	// suspended by billing.
	Overdue(ctx context.Context, cutoff time.Time) ([]int64, error)
	// Recovered lists the tenants suspended by billing that pay again.
	Recovered(ctx context.Context) ([]int64, error)
	// ExpireManual moves manually paid tenants (roost billing mark-paid)
	// whose paid_until is before now to past due from that moment.
	ExpireManual(ctx context.Context, now time.Time) (int64, error)
	// SetBillingSuspended records that billing suspended (or released) a
	// tenant.
	SetBillingSuspended(ctx context.Context, tenantID int64, suspended bool) error
}

// Suspender is the existing tenant suspension path (with its audit log
// and host cache invalidation), wired in cmd.
type Suspender interface {
	// Suspend moves an active tenant to suspended; errs.Invalid when it
	// is not active (an operator decided otherwise).
	Suspend(ctx context.Context, tenantID int64, reason string) error
	// Unsuspend moves a suspended tenant back to active; errs.Invalid when
	// it is not suspended.
	Unsuspend(ctx context.Context, tenantID int64, reason string) error
}
