package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pgutil"
	"github.com/roost-social/roost/tenant"
)

var _ tenant.QuotaStore = (*Store)(nil)

// Quotas returns a tenant's quotas; a tenant without a row has none.
func (s *Store) Quotas(ctx context.Context, tenantID int64) (tenant.Quotas, error) {
	var q tenant.Quotas
	err := s.db.QueryRow(ctx, `select requests_per_second, deliveries_per_hour, storage_bytes
		from tenant_quotas where tenant_id = $1`, tenantID).Scan(&q.RequestsPerSecond, &q.DeliveriesPerHour, &q.StorageBytes)
	if errors.Is(err, pgx.ErrNoRows) {
		return tenant.Quotas{}, nil
	}
	if err != nil {
		return tenant.Quotas{}, fmt.Errorf("load quotas: %w", err)
	}
	return q, nil
}

// SetQuotas stores a tenant's quotas with their audit entry.
func (s *Store) SetQuotas(ctx context.Context, by tenant.Actor, tenantID int64, q tenant.Quotas) error {
	if err := q.Validate(); err != nil {
		return err
	}
	return pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			insert into tenant_quotas (tenant_id, requests_per_second, deliveries_per_hour, storage_bytes)
			select id, $2, $3, $4 from tenants where id = $1
			on conflict (tenant_id) do update set requests_per_second = excluded.requests_per_second,
				deliveries_per_hour = excluded.deliveries_per_hour, storage_bytes = excluded.storage_bytes, updated_at = now()`,
			tenantID, q.RequestsPerSecond, q.DeliveriesPerHour, q.StorageBytes)
		if err != nil {
			return fmt.Errorf("store quotas: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return errs.E(errs.NotFound, "no such tenant")
		}
		detail := fmt.Sprintf("requests/s %d, deliveries/h %d, storage bytes %d", q.RequestsPerSecond, q.DeliveriesPerHour, q.StorageBytes)
		return record(ctx, tx, by, "tenant.quotas", fmt.Sprint(tenantID), &tenantID, detail)
	})
}

// StorageUsed sums the tenant's stored media as the dashboard counts it
// (file sizes; an index on tenant_id including file_size keeps it off the
// table).
func (s *Store) StorageUsed(ctx context.Context, tenantID int64) (int64, error) {
	var n int64
	if err := s.db.QueryRow(ctx, `select coalesce(sum(file_size), 0)::bigint
		from media_attachments where tenant_id = $1`, tenantID).Scan(&n); err != nil {
		return 0, fmt.Errorf("sum stored media: %w", err)
	}
	return n, nil
}
