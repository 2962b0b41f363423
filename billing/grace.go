package billing

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/roost-social/roost/internal/errs"
)

// DefaultGrace is how long a tenant may stay past due before suspension
// (ROOST_BILLING_GRACE_DAYS).
const DefaultGrace = 30 * 24 * time.Hour

// Enforcer suspends tenants past due for longer than Grace and lifts the
// suspension of those paying again. Suspension keeps every row: the tenant
// is only no longer served.
//
// Grace is used as given (cmd sets it from ROOST_BILLING_GRACE_DAYS,
// DefaultGrace unless configured); zero suspends at the next pass.
type Enforcer struct {
	Store   Store
	Tenants Suspender
	Grace   time.Duration
	Now     func() time.Time
	Log     *slog.Logger
}

// Result counts what one pass did.
type Result struct{ Suspended, Reactivated int }

// RunOnce makes one pass.
func (e *Enforcer) RunOnce(ctx context.Context) (Result, error) {
	var r Result
	now := time.Now()
	if e.Now != nil {
		now = e.Now()
	}
	grace := max(e.Grace, 0) // zero: suspend as soon as past due
	if _, err := e.Store.ExpireManual(ctx, now); err != nil {
		return r, err
	}
	overdue, err := e.Store.Overdue(ctx, now.Add(-grace))
	if err != nil {
		return r, err
	}
	for _, id := range overdue {
		reason := fmt.Sprintf("past due for more than %d days", int(grace.Hours()/24))
		err := e.Tenants.Suspend(ctx, id, reason)
		if errs.Is(err, errs.Invalid) {
			continue // not active: an operator's decision stands
		}
		if err != nil {
			return r, err
		}
		if err := e.Store.SetBillingSuspended(ctx, id, true); err != nil {
			return r, err
		}
		r.Suspended++
		e.log(ctx, "tenant suspended for non-payment; its data is kept", id)
	}
	back, err := e.Store.Recovered(ctx)
	if err != nil {
		return r, err
	}
	for _, id := range back {
		err := e.Tenants.Unsuspend(ctx, id, "paying again")
		if err != nil && !errs.Is(err, errs.Invalid) {
			return r, err
		}
		if err := e.Store.SetBillingSuspended(ctx, id, false); err != nil {
			return r, err
		}
		if err == nil {
			r.Reactivated++
			e.log(ctx, "tenant reactivated after payment", id)
		}
	}
	return r, nil
}

func (e *Enforcer) log(ctx context.Context, msg string, id int64) {
	if e.Log != nil {
		e.Log.InfoContext(ctx, msg, "tenant", id)
	}
}

// Reminder is what a tenant's admins are told about their standing, or ""
// when nothing is due: past due with the day the grace period ends, or
// suspended for non-payment with the promise that nothing is deleted.
// Roost sends no email, so the portal shows it on every visit.
func Reminder(a *Account, grace time.Duration, now time.Time) string {
	switch {
	case a == nil:
		return ""
	case a.BillingSuspended:
		return "Your site is suspended because its payment is overdue. Nothing has been deleted: " +
			"you can still export everything, and paying reactivates the site at once."
	case a.State == PastDue && a.PastDueSince != nil:
		end := a.PastDueSince.Add(max(grace, 0))
		if !end.After(now) {
			return "Your payment is overdue and the grace period has ended: the site will be suspended " +
				"(its data is kept). Pay to keep it running."
		}
		days := int((end.Sub(now) + 24*time.Hour - 1) / (24 * time.Hour)) // started days count
		return fmt.Sprintf("Your last payment failed on %s. The site keeps running until %s (%d days); "+
			"pay before then to avoid suspension. Nothing is ever deleted for non-payment.",
			a.PastDueSince.UTC().Format("2 Jan 2006"), end.UTC().Format("2 Jan 2006"), days)
	}
	return ""
}
