package tenant

import (
	"context"
	"time"

	"github.com/roost-social/roost/internal/errs"
)

// Quotas are the limits an operator sets on one tenant (issue 20); a zero
// field is no limit. They keep one busy tenant from taking the instance:
// requests per second on the client API (over it: 429 with Retry-After),
// deliveries per hour (over it: deliveries wait for the next hour, never
// dropped) and bytes of stored media (over it: new uploads are refused;
// nothing stored is removed).
type Quotas struct {
	RequestsPerSecond int
	DeliveriesPerHour int
	StorageBytes      int64
}

// Limits for a quota's value: beyond them a figure is a typo.
const (
	MaxRequestsPerSecond = 1_000_000
	MaxDeliveriesPerHour = 100_000_000
)

// Validate refuses negative or absurd quotas.
func (q Quotas) Validate() error {
	switch {
	case q.RequestsPerSecond < 0 || q.DeliveriesPerHour < 0 || q.StorageBytes < 0:
		return errs.E(errs.Invalid, "quotas cannot be negative (0 is no limit)")
	case q.RequestsPerSecond > MaxRequestsPerSecond:
		return errs.E(errs.Invalid, "requests per second: at most %d", MaxRequestsPerSecond)
	case q.DeliveriesPerHour > MaxDeliveriesPerHour:
		return errs.E(errs.Invalid, "deliveries per hour: at most %d", MaxDeliveriesPerHour)
	}
	return nil
}

// QuotaUsage is a tenant's quotas with what it uses of them now.
type QuotaUsage struct {
	Quotas
	// RequestsThisSecond and DeliveriesThisHour are the shared counters'
	// current windows (-1: Redis did not answer).
	RequestsThisSecond int64
	DeliveriesThisHour int64
	// StorageUsed is the bytes of media the tenant stores.
	StorageUsed int64
	// StorageOver says the tenant stores more than its storage quota:
	// uploads are refused until it deletes some or the quota is raised.
	StorageOver bool
	At          time.Time
}

// QuotaStore keeps tenants' quotas (tenant/postgres).
type QuotaStore interface {
	// Quotas returns a tenant's quotas (zero when none were set).
	Quotas(ctx context.Context, tenantID int64) (Quotas, error)
	// SetQuotas stores a tenant's quotas and records who did it in the
	// audit log, in one transaction; errs.NotFound for no such tenant.
	SetQuotas(ctx context.Context, by Actor, tenantID int64, q Quotas) error
	// StorageUsed is the bytes of media a tenant's accounts store.
	StorageUsed(ctx context.Context, tenantID int64) (int64, error)
}

// QuotaCounter counts events per key in fixed windows of time, shared by
// every node (Redis: internal/ratelimit/redis Windows). The caller gives
// the time, so tests drive it with an injected clock.
type QuotaCounter interface {
	// Add adds n (which may be negative) to key's count in the window of
	// length per that holds now, and returns the count after it and when
	// the window ends.
	Add(ctx context.Context, key string, n int64, per time.Duration, now time.Time) (int64, time.Time, error)
	// Count is key's count in the window of length per that holds now.
	Count(ctx context.Context, key string, per time.Duration, now time.Time) (int64, error)
}
