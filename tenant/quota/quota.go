// Package quota enforces the quotas an operator sets per tenant (issue
// 20): requests per second on the client API, deliveries per hour and
// stored media. Counting is shared by every node through Redis (a
// tenant.QuotaCounter), so a quota holds across the instance, not per
// node. Exceeding a quota slows or refuses, and never loses data: an API
// request over it is refused before it changes anything (429 with
// Retry-After), a delivery over it waits for the next hour, and an upload
// over the storage quota is refused while everything stored stays.
package quota

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

// Service checks and changes tenants' quotas.
type Service struct {
	Store   tenant.QuotaStore
	Counter tenant.QuotaCounter
	// Prefix keeps the counters apart from other data (ROOST_REDIS_PREFIX).
	Prefix string
	// TTL is how long a node trusts its copy of a tenant's quotas (default
	// 10 s): a change on the dashboard holds on every node within it.
	TTL time.Duration
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
	Log *slog.Logger

	mu    sync.Mutex
	cache map[int64]cached
}

type cached struct {
	q       tenant.Quotas
	fetched time.Time
}

// maxCached bounds the quotas a node keeps: past it the copy starts over.
const maxCached = 100_000

// Exceeded is a refusal over a quota: errs.TooMany, with how long to wait.
type Exceeded struct {
	RetryAfter time.Duration
	err        *errs.Error
}

func (e *Exceeded) Error() string { return e.err.Error() }

// Unwrap gives the code and message that api/httpx maps to a status.
func (e *Exceeded) Unwrap() error { return e.err }

// RetryAfterSeconds is the Retry-After value: whole seconds, at least 1.
func (e *Exceeded) RetryAfterSeconds() string {
	return strconv.Itoa(max(1, int(math.Ceil(e.RetryAfter.Seconds()))))
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) key(kind string, tenantID int64) string {
	return s.Prefix + "quota:" + kind + ":" + strconv.FormatInt(tenantID, 10)
}

// quotas is a tenant's quotas, from this node's copy while it is fresh.
func (s *Service) quotas(ctx context.Context, tenantID int64) (tenant.Quotas, error) {
	ttl := s.TTL
	if ttl == 0 {
		ttl = 10 * time.Second
	}
	now := s.now()
	s.mu.Lock()
	c, ok := s.cache[tenantID]
	s.mu.Unlock()
	if ok && now.Sub(c.fetched) < ttl && now.Sub(c.fetched) >= 0 {
		return c.q, nil
	}
	q, err := s.Store.Quotas(ctx, tenantID)
	if err != nil {
		return tenant.Quotas{}, err
	}
	s.mu.Lock()
	if s.cache == nil || len(s.cache) >= maxCached {
		s.cache = map[int64]cached{}
	}
	s.cache[tenantID] = cached{q: q, fetched: now}
	s.mu.Unlock()
	return q, nil
}

// warn logs a failure that the quota lets pass: a quota slows a tenant
// down, and Redis or the database being unavailable must not stop every
// tenant's API and deliveries.
func (s *Service) warn(ctx context.Context, what string, tenantID int64, err error) {
	log := s.Log
	if log == nil {
		log = slog.Default()
	}
	log.WarnContext(ctx, "quota not checked; let through", "what", what, "tenant", tenantID, "err", err)
}

// Request counts one client API request of the tenant and refuses it
// (*Exceeded) when the tenant is over its requests per second.
func (s *Service) Request(ctx context.Context, tenantID int64) error {
	q, err := s.quotas(ctx, tenantID)
	if err != nil {
		s.warn(ctx, "requests", tenantID, err)
		return nil
	}
	if q.RequestsPerSecond == 0 {
		return nil
	}
	now := s.now()
	n, end, err := s.Counter.Add(ctx, s.key("requests", tenantID), 1, time.Second, now)
	if err != nil {
		s.warn(ctx, "requests", tenantID, err)
		return nil
	}
	if n <= int64(q.RequestsPerSecond) {
		return nil
	}
	return &Exceeded{RetryAfter: end.Sub(now), err: errs.E(errs.TooMany,
		"This site is over its quota of %d requests per second. Wait a second, then try again.", q.RequestsPerSecond)}
}

// AdmitDeliveries counts n deliveries of the tenant about to be attempted
// and returns how many of them its hourly quota admits; the rest wait
// until until (the next hour), when they are admitted again.
func (s *Service) AdmitDeliveries(ctx context.Context, tenantID int64, n int) (admitted int, until time.Time) {
	q, err := s.quotas(ctx, tenantID)
	if err != nil {
		s.warn(ctx, "deliveries", tenantID, err)
		return n, time.Time{}
	}
	if q.DeliveriesPerHour == 0 || n <= 0 {
		return n, time.Time{}
	}
	key := s.key("deliveries", tenantID)
	count, end, err := s.Counter.Add(ctx, key, int64(n), time.Hour, s.now())
	if err != nil {
		s.warn(ctx, "deliveries", tenantID, err)
		return n, time.Time{}
	}
	over := min(int64(n), count-int64(q.DeliveriesPerHour))
	if over <= 0 {
		return n, time.Time{}
	}
	// What waits is not counted: the hour's count stays what was sent.
	if _, _, err := s.Counter.Add(ctx, key, -over, time.Hour, s.now()); err != nil {
		s.warn(ctx, "deliveries", tenantID, err)
	}
	return n - int(over), end
}

// CheckUpload refuses an upload of size bytes that would take the tenant
// past its storage quota (errs.TooLarge, 413). Nothing stored is touched.
func (s *Service) CheckUpload(ctx context.Context, tenantID, size int64) error {
	q, err := s.quotas(ctx, tenantID)
	if err != nil {
		s.warn(ctx, "storage", tenantID, err)
		return nil
	}
	if q.StorageBytes == 0 {
		return nil
	}
	used, err := s.Store.StorageUsed(ctx, tenantID)
	if err != nil {
		s.warn(ctx, "storage", tenantID, err)
		return nil
	}
	if used+size > q.StorageBytes {
		return errs.E(errs.TooLarge, "This site has used %s of its %s storage quota; the upload (%s) is refused. Delete media you no longer need, or ask the operator for more.",
			Bytes(used), Bytes(q.StorageBytes), Bytes(size))
	}
	return nil
}

// Usage is a tenant's quotas with what it uses now (the dashboard). A
// counter Redis could not give is -1.
func (s *Service) Usage(ctx context.Context, tenantID int64) (*tenant.QuotaUsage, error) {
	q, err := s.Store.Quotas(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	u := &tenant.QuotaUsage{Quotas: q, At: now}
	if u.StorageUsed, err = s.Store.StorageUsed(ctx, tenantID); err != nil {
		return nil, err
	}
	u.StorageOver = q.StorageBytes > 0 && u.StorageUsed > q.StorageBytes
	u.RequestsThisSecond = s.count(ctx, "requests", tenantID, time.Second, now)
	u.DeliveriesThisHour = s.count(ctx, "deliveries", tenantID, time.Hour, now)
	return u, nil
}

func (s *Service) count(ctx context.Context, kind string, tenantID int64, per time.Duration, now time.Time) int64 {
	n, err := s.Counter.Count(ctx, s.key(kind, tenantID), per, now)
	if err != nil {
		s.warn(ctx, kind, tenantID, err)
		return -1
	}
	return n
}

// Set changes a tenant's quotas (recorded in the audit log as by's). Only
// an operator's session reaches it (api/admin requires ManageTenants,
// which no tenant's session holds); this node's copy is dropped at once,
// the other nodes' within TTL.
func (s *Service) Set(ctx context.Context, by tenant.Actor, tenantID int64, q tenant.Quotas) error {
	if err := q.Validate(); err != nil {
		return err
	}
	if err := s.Store.SetQuotas(ctx, by, tenantID, q); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.cache, tenantID)
	s.mu.Unlock()
	return nil
}

// Bytes writes a byte count for people: "1.5 GB", "300 MB", "12 kB".
func Bytes(n int64) string {
	const k = 1000
	switch {
	case n >= k*k*k:
		return fmt.Sprintf("%.1f GB", float64(n)/(k*k*k))
	case n >= k*k:
		return fmt.Sprintf("%.1f MB", float64(n)/(k*k))
	case n >= k:
		return fmt.Sprintf("%.1f kB", float64(n)/k)
	}
	return fmt.Sprintf("%d bytes", n)
}
