package billing

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Usage is one tenant's figures for one day.
type Usage struct {
	TenantID int64
	Day      time.Time
	Accounts int
	// ActiveAccounts posted or used an app in the 30 days up to Day.
	ActiveAccounts int
	Posts          int64
	StorageBytes   int64
	// Deliveries is how many activities the tenant's accounts delivered
	// to other servers during Day.
	Deliveries int64
}

// ActiveWindow is how far back an account's activity makes it active.
const ActiveWindow = 30 * 24 * time.Hour

// TenantUsage is a tenant's latest usage with its plan, for operators.
type TenantUsage struct {
	Usage
	TenantName string
	Plan       *Plan
	Account    *Account
}

// UsageStore keeps daily usage. Implementations MUST be safe for
// concurrent use.
type UsageStore interface {
	// Meter computes every tenant's usage for day (UTC) and stores it,
	// replacing that day's rows: running it again is harmless. It returns
	// the number of tenants metered.
	Meter(ctx context.Context, day time.Time) (int, error)
	// Usage returns a tenant's rows for the days up to and including
	// to, newest first, at most days of them.
	Usage(ctx context.Context, tenantID int64, to time.Time, days int) ([]Usage, error)
	// Latest returns every tenant's newest row with its plan and billing
	// record.
	Latest(ctx context.Context) ([]TenantUsage, error)
	// Unreported lists completed days (before today) of tenants on a
	// usage-priced plan paying through Stripe whose figure has not been
	// reported yet, oldest first.
	Unreported(ctx context.Context, today time.Time) ([]MeterReport, error)
	// MarkReported records that a day's figure was reported.
	MarkReported(ctx context.Context, tenantID int64, day time.Time) error
}

// MeterReport is one completed day's figure for a usage-priced plan.
type MeterReport struct {
	TenantID   int64
	Day        time.Time
	CustomerID string
	Event      string
	Value      int64
}

// Identifier is the meter event's idempotency identifier: one per tenant,
// day and meter, so a resend after a crash is counted once.
func (r MeterReport) Identifier() string {
	return fmt.Sprintf("roost-%d-%s-%s", r.TenantID, r.Day.Format(time.DateOnly), r.Event)
}

// MeterReporter sends usage to the provider (Stripe Billing Meters).
type MeterReporter interface {
	ReportUsage(ctx context.Context, r MeterReport) error
}

// Day truncates t to its UTC day.
func Day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Warnings lists how u exceeds p's soft limits, for the tenant admin.
// Exceeding a limit never cuts service.
func Warnings(p *Plan, u *Usage) []string {
	if p == nil || u == nil {
		return nil
	}
	var w []string
	if p.MaxAccounts > 0 && u.Accounts > p.MaxAccounts {
		w = append(w, fmt.Sprintf("Your site has %d accounts; the %s plan includes %d. Nothing stops working — consider a larger plan.",
			u.Accounts, p.Name, p.MaxAccounts))
	}
	if p.StorageBytes > 0 && u.StorageBytes > p.StorageBytes {
		w = append(w, fmt.Sprintf("Your site stores %s of media; the %s plan includes %s. Nothing stops working — consider a larger plan.",
			Bytes(u.StorageBytes), p.Name, Bytes(p.StorageBytes)))
	}
	return w
}

// Meter runs the daily usage job: yesterday's figures once a day (and
// today's so far, so pages are fresh), every interval until ctx ends.
type Meter struct {
	Store UsageStore
	// Reporter, when set, reports completed days of usage-priced plans.
	Reporter MeterReporter
	Now      func() time.Time
	Log      *slog.Logger
}

// RunOnce meters yesterday and today, then reports what is due.
func (m *Meter) RunOnce(ctx context.Context) error {
	now := time.Now()
	if m.Now != nil {
		now = m.Now()
	}
	today := Day(now)
	for _, d := range []time.Time{today.AddDate(0, 0, -1), today} {
		n, err := m.Store.Meter(ctx, d)
		if err != nil {
			return err
		}
		if m.Log != nil {
			m.Log.DebugContext(ctx, "usage metered", "day", d.Format(time.DateOnly), "tenants", n)
		}
	}
	if m.Reporter == nil {
		return nil
	}
	due, err := m.Store.Unreported(ctx, today)
	if err != nil {
		return err
	}
	for _, r := range due {
		if err := m.Reporter.ReportUsage(ctx, r); err != nil {
			return fmt.Errorf("report usage of tenant %d for %s: %w", r.TenantID, r.Day.Format(time.DateOnly), err)
		}
		if err := m.Store.MarkReported(ctx, r.TenantID, r.Day); err != nil {
			return err
		}
	}
	return nil
}
