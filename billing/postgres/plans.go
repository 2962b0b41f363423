package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/billing"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pgutil"
)

var _ billing.PlanStore = (*Store)(nil)

const planCols = `p.id, p.name, p.kind, p.price_minor, p.currency, p.interval, p.domains, p.max_accounts,
	p.storage_bytes, p.stripe_price_id, p.stripe_meter_event, p.meter_figure, p.archived_at`

func scanPlan(row pgx.Row) (*billing.Plan, error) {
	var p billing.Plan
	var kind string
	err := row.Scan(&p.ID, &p.Name, &kind, &p.PriceMinor, &p.Currency, &p.Interval, &p.Domains, &p.MaxAccounts,
		&p.StorageBytes, &p.StripePriceID, &p.StripeMeterEvent, &p.MeterFigure, &p.ArchivedAt)
	p.Kind = billing.PlanKind(kind)
	return &p, err
}

// AddPlan stores a plan after checking it.
func (s *Store) AddPlan(ctx context.Context, p billing.Plan) (*billing.Plan, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	out, err := scanPlan(s.db.QueryRow(ctx, `insert into plans as p (name, kind, price_minor, currency, interval, domains,
		max_accounts, storage_bytes, stripe_price_id, stripe_meter_event, meter_figure)
		values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) returning `+planCols,
		p.Name, string(p.Kind), p.PriceMinor, p.Currency, p.Interval, p.Domains, p.MaxAccounts, p.StorageBytes, p.StripePriceID,
		p.StripeMeterEvent, p.MeterFigure))
	if pgutil.IsUniqueViolation(err) {
		return nil, errs.E(errs.Conflict, "name: a plan named %q is already on offer", p.Name)
	}
	if err != nil {
		return nil, pgutil.Invalid(err, "plan")
	}
	return out, nil
}

// Plans lists plans, cheapest first.
func (s *Store) Plans(ctx context.Context, archived bool) ([]billing.Plan, error) {
	rows, err := s.db.Query(ctx, `select `+planCols+` from plans p where $1 or archived_at is null
		order by p.archived_at is not null, case p.kind when 'free' then 0 when 'donation' then 1 else 2 end,
		p.price_minor, p.id`, archived)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.Plan, error) {
		p, err := scanPlan(r)
		return *p, err
	})
}

// Plan returns one plan.
func (s *Store) Plan(ctx context.Context, id int64) (*billing.Plan, error) {
	p, err := scanPlan(s.db.QueryRow(ctx, `select `+planCols+` from plans p where id = $1`, id))
	if err != nil {
		return nil, pgutil.NotFound(err, fmt.Sprintf("no plan %d", id))
	}
	return p, nil
}

// ArchivePlan withdraws a plan from offer.
func (s *Store) ArchivePlan(ctx context.Context, id int64) error {
	tag, err := s.db.Exec(ctx, `update plans set archived_at = coalesce(archived_at, now()) where id = $1`, id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return errs.E(errs.NotFound, "no plan %d", id)
	}
	return nil
}

// SetTenantPlan records a tenant's choice of an offered plan.
func (s *Store) SetTenantPlan(ctx context.Context, tenantID, planID int64) error {
	tag, err := s.db.Exec(ctx, `update tenants set plan_id = $2 where id = $1
		and exists (select 1 from plans where id = $2 and archived_at is null)`, tenantID, planID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return errs.E(errs.NotFound, "plan %d is not on offer", planID)
	}
	return nil
}

// TenantPlan returns the tenant's plan, or nil.
func (s *Store) TenantPlan(ctx context.Context, tenantID int64) (*billing.Plan, error) {
	p, err := scanPlan(s.db.QueryRow(ctx, `select `+planCols+` from tenants t join plans p on p.id = t.plan_id
		where t.id = $1`, tenantID))
	if err == pgx.ErrNoRows {
		return nil, nil
	}
	return p, err
}
