package postgres

import (
	"context"
	"fmt"
	"github.com/roost-social/roost/internal/text"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pgutil"
	"github.com/roost-social/roost/tenant"
)

// LeaveStore keeps the portability records of tenants: domains added to
// move to, and deletions scheduled when a tenant leaves.
type LeaveStore struct {
	db *pgxpool.Pool
}

// NewLeaveStore returns a LeaveStore on db.
func NewLeaveStore(db *pgxpool.Pool) *LeaveStore { return &LeaveStore{db: db} }

// AddDomain adds a domain to an existing tenant, verified when
// d.Verified (an operator vouches for it), and returns its hostnames
// (for cache invalidation). Callers go through tenant.Service AddDomain,
// which tells the host caches.
func (s *LeaveStore) AddDomain(ctx context.Context, tenantID int64, d tenant.NewDomain, by tenant.Actor) (*tenant.Domain, error) {
	var dom *tenant.Domain
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `select exists (select 1 from tenants where id = $1 and status <> 'deleted')`, tenantID).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return errs.E(errs.NotFound, "no tenant %d", tenantID)
		}
		var err error
		if dom, err = insertDomain(ctx, tx, tenantID, d); err != nil {
			return err
		}
		return record(ctx, tx, by, "tenant.add_domain", d.Domain, &tenantID, "")
	})
	return dom, err
}

// TenantOf finds the tenant owning a handle or service domain, verified
// or not.
func (s *LeaveStore) TenantOf(ctx context.Context, host string) (int64, error) {
	var id int64
	err := s.db.QueryRow(ctx, `select d.tenant_id from hostnames h join domains d on d.domain = h.domain where h.name = $1`, host).Scan(&id)
	if err != nil {
		return 0, pgutil.NotFound(err, "no tenant has the domain "+host)
	}
	return id, nil
}

// Audit records an action in the audit log (which outlives the tenant).
func (s *LeaveStore) Audit(ctx context.Context, by, action, target string, tenantID int64, detail string) error {
	return audit(ctx, s.db, by, action, target, tenantID, detail)
}

// leaveExecer is a pool or a transaction.
type leaveExecer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func audit(ctx context.Context, db leaveExecer, by, action, target string, tenantID int64, detail string) error {
	_, err := db.Exec(ctx, `insert into audit_log (user_email, action, target, tenant_id, detail) values ($1, $2, $3, $4, $5)`,
		text.Cut(by, 300), action, text.Cut(target, 1000), tenantID, text.Cut(detail, 2000))
	return err
}

// hostsOf lists a tenant's hostnames (handle and service domains).
func hostsOf(ctx context.Context, tx pgx.Tx, tenantID int64) ([]string, error) {
	rows, err := tx.Query(ctx, `select h.name from hostnames h join domains d on d.domain = h.domain where d.tenant_id = $1`, tenantID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// ScheduleDeletion schedules a tenant's deletion at due. The tenant stays
// served until then (its accounts can export everything) and the
// deletion can be cancelled.
func (s *LeaveStore) ScheduleDeletion(ctx context.Context, tenantID int64, due time.Time, by string) error {
	return pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var status string
		err := tx.QueryRow(ctx, `select status from tenants where id = $1 for update`, tenantID).Scan(&status)
		if err != nil {
			return pgutil.NotFound(err, fmt.Sprintf("no tenant %d", tenantID))
		}
		if status == string(tenant.Deleted) {
			return errs.E(errs.Invalid, "tenant %d is already deleted", tenantID)
		}
		_, err = tx.Exec(ctx, `insert into tenant_deletions (tenant_id, requested_by, due_at, prior_status) values ($1, $2, $3, $4)`,
			tenantID, by, due, status)
		if pgutil.IsUniqueViolation(err) {
			return errs.E(errs.Conflict, "tenant %d is already scheduled for deletion", tenantID)
		}
		if err != nil {
			return err
		}
		return audit(ctx, tx, by, "tenant.delete_scheduled", "", tenantID, "due "+due.UTC().Format(time.RFC3339))
	})
}

// CancelDeletion cancels a scheduled deletion before it began.
func (s *LeaveStore) CancelDeletion(ctx context.Context, tenantID int64, by string) error {
	return pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var announced *time.Time
		err := tx.QueryRow(ctx, `delete from tenant_deletions where tenant_id = $1 returning announced_at`, tenantID).Scan(&announced)
		if err != nil {
			return pgutil.NotFound(err, fmt.Sprintf("tenant %d is not scheduled for deletion", tenantID))
		}
		if announced != nil {
			return errs.E(errs.Conflict, "the deletion of tenant %d has begun (its accounts were announced deleted); it cannot be cancelled", tenantID)
		}
		return audit(ctx, tx, by, "tenant.delete_cancelled", "", tenantID, "")
	})
}

// Deletion returns a tenant's scheduled deletion, or errs.NotFound.
func (s *LeaveStore) Deletion(ctx context.Context, tenantID int64) (*tenant.Deletion, error) {
	d := &tenant.Deletion{}
	err := s.db.QueryRow(ctx, `select tenant_id, requested_by, requested_at, due_at, announced_at from tenant_deletions where tenant_id = $1`,
		tenantID).Scan(&d.TenantID, &d.RequestedBy, &d.RequestedAt, &d.DueAt, &d.Announced)
	if err != nil {
		return nil, pgutil.NotFound(err, "no deletion scheduled")
	}
	return d, nil
}

// DueDeletions lists deletions whose grace period is over.
func (s *LeaveStore) DueDeletions(ctx context.Context, now time.Time) ([]tenant.Deletion, error) {
	rows, err := s.db.Query(ctx, `select tenant_id, requested_by, requested_at, due_at, announced_at from tenant_deletions
		where due_at <= $1 order by due_at`, now)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (tenant.Deletion, error) {
		var d tenant.Deletion
		err := r.Scan(&d.TenantID, &d.RequestedBy, &d.RequestedAt, &d.DueAt, &d.Announced)
		return d, err
	})
}

// MarkAnnounced records that Delete(Person) was queued for every account
// and stops serving the tenant (suspended: its domains answer 403, but its
// keys still sign the deliveries). Returns the tenant's hostnames.
func (s *LeaveStore) MarkAnnounced(ctx context.Context, tenantID int64) ([]string, error) {
	var hosts []string
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `update tenant_deletions set announced_at = now() where tenant_id = $1`, tenantID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `update tenants set status = 'suspended' where id = $1`, tenantID); err != nil {
			return err
		}
		var err error
		hosts, err = hostsOf(ctx, tx, tenantID)
		return err
	})
	return hosts, err
}

// Purge removes a tenant and, through the foreign keys, every row of its
// own: domains, accounts with their keys, posts, media rows, follows,
// sessions, jobs. Logins stay (they are instance-wide). The audit entry is
// written in the same transaction and survives. Returns the hostnames the
// tenant had.
func (s *LeaveStore) Purge(ctx context.Context, tenantID int64, detail string) ([]string, error) {
	var hosts []string
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var by string
		if err := tx.QueryRow(ctx, `select requested_by from tenant_deletions where tenant_id = $1 and announced_at is not null for update`,
			tenantID).Scan(&by); err != nil {
			return pgutil.NotFound(err, "no announced deletion")
		}
		var err error
		if hosts, err = hostsOf(ctx, tx, tenantID); err != nil {
			return err
		}
		// Tables whose tenant_id does not cascade.
		for _, q := range []string{
			`delete from statuses where account_id in (select id from accounts where tenant_id = $1)`,
			`delete from accounts where tenant_id = $1`,
			`delete from tenants where id = $1`,
		} {
			if _, err := tx.Exec(ctx, q, tenantID); err != nil {
				return fmt.Errorf("purge tenant %d: %w", tenantID, err)
			}
		}
		return audit(ctx, tx, by, "tenant.deleted", "", tenantID, detail)
	})
	return hosts, err
}
