package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/billing"
)

var _ billing.UsageStore = (*Store)(nil)

// Meter computes every live tenant's figures for day in one statement and
// upserts them under (tenant_id, day): a second run replaces the first.
// Counts are of what existed at the end of the day (what was deleted
// since is gone from every table and is not counted).
func (s *Store) Meter(ctx context.Context, day time.Time) (int, error) {
	start := billing.Day(day)
	end := start.AddDate(0, 0, 1)
	tag, err := s.db.Exec(ctx, `
		insert into usage_daily as u (tenant_id, day, accounts, active_accounts, posts, storage_bytes, deliveries, computed_at)
		select t.id, $1::date,
			(select count(*) from accounts a where a.tenant_id = t.id and a.created_at < $2),
			(select count(*) from accounts a where a.tenant_id = t.id and a.created_at < $2 and (
				exists (select 1 from statuses s where s.account_id = a.id and s.created_at >= $3 and s.created_at < $2)
				or exists (select 1 from oauth_tokens o where o.account_id = a.id and o.last_used_at >= $3 and o.last_used_at < $2))),
			(select count(*) from statuses s join accounts a on a.id = s.account_id
				where a.tenant_id = t.id and s.created_at < $2),
			(select coalesce(sum(m.file_size), 0) from media_attachments m where m.tenant_id = t.id and m.created_at < $2),
			(select count(*) from deliveries d join accounts a on a.id = d.sender_id
				where a.tenant_id = t.id and d.state = 'delivered' and d.delivered_at >= $1 and d.delivered_at < $2),
			now()
		from tenants t where t.status <> 'deleted' and t.created_at < $2
		on conflict (tenant_id, day) do update set accounts = excluded.accounts,
			active_accounts = excluded.active_accounts, posts = excluded.posts,
			storage_bytes = excluded.storage_bytes, deliveries = excluded.deliveries,
			computed_at = excluded.computed_at`,
		start, end, end.Add(-billing.ActiveWindow))
	return int(tag.RowsAffected()), err
}

const usageCols = `u.tenant_id, u.day, u.accounts, u.active_accounts, u.posts, u.storage_bytes, u.deliveries`

func scanUsage(row pgx.Row, extra ...any) (billing.Usage, error) {
	var u billing.Usage
	err := row.Scan(append([]any{&u.TenantID, &u.Day, &u.Accounts, &u.ActiveAccounts, &u.Posts, &u.StorageBytes, &u.Deliveries}, extra...)...)
	return u, err
}

// Usage returns a tenant's rows up to to, newest first.
func (s *Store) Usage(ctx context.Context, tenantID int64, to time.Time, days int) ([]billing.Usage, error) {
	rows, err := s.db.Query(ctx, `select `+usageCols+` from usage_daily u
		where u.tenant_id = $1 and u.day <= $2::date order by u.day desc limit $3`, tenantID, billing.Day(to), days)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.Usage, error) { return scanUsage(r) })
}

// latestLimit bounds the operator's usage page: at 100,000 tenants every
// tenant's newest row took seconds to read (issue 20, `roost bench
// domains`); the newest tenants' rows come from usage_daily's key.
const latestLimit = 500

// Latest returns the newest row of each of the latestLimit newest
// tenants that have one, newest tenant first, with its name, plan and
// billing record.
func (s *Store) Latest(ctx context.Context) ([]billing.TenantUsage, error) {
	plans, err := s.Plans(ctx, true)
	if err != nil {
		return nil, err
	}
	byID := map[int64]*billing.Plan{}
	for i := range plans {
		byID[plans[i].ID] = &plans[i]
	}
	rows, err := s.db.Query(ctx, `select `+usageCols+`, t.name, t.plan_id, b.state, b.provider
		from tenants t
		cross join lateral (select * from usage_daily x where x.tenant_id = t.id order by x.day desc limit 1) u
		left join tenant_billing b on b.tenant_id = t.id
		order by t.id desc limit $1`, latestLimit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.TenantUsage, error) {
		var tu billing.TenantUsage
		var planID *int64
		var state, provider *string
		u, err := scanUsage(r, &tu.TenantName, &planID, &state, &provider)
		tu.Usage = u
		if planID != nil {
			tu.Plan = byID[*planID]
		}
		if state != nil {
			tu.Account = &billing.Account{TenantID: u.TenantID, State: billing.State(*state), Provider: *provider}
		}
		return tu, err
	})
}

// Unreported lists the completed days of usage-priced Stripe tenants not
// reported yet, within the 35 days Stripe accepts meter events for.
func (s *Store) Unreported(ctx context.Context, today time.Time) ([]billing.MeterReport, error) {
	t := billing.Day(today)
	rows, err := s.db.Query(ctx, `select `+usageCols+`, b.customer_id, p.stripe_meter_event, p.meter_figure
		from usage_daily u join tenants t on t.id = u.tenant_id join plans p on p.id = t.plan_id
		join tenant_billing b on b.tenant_id = u.tenant_id
		where u.reported_at is null and u.day < $1::date and u.day >= $2::date and p.stripe_meter_event <> ''
			and b.provider = 'stripe' and b.customer_id <> ''
		order by u.day, u.tenant_id limit 1000`, t, t.AddDate(0, 0, -30))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.MeterReport, error) {
		var m billing.MeterReport
		var figure string
		u, err := scanUsage(r, &m.CustomerID, &m.Event, &figure)
		m.TenantID, m.Day, m.Value = u.TenantID, u.Day, u.Figure(figure)
		return m, err
	})
}

// MarkReported records that a day's figure was reported.
func (s *Store) MarkReported(ctx context.Context, tenantID int64, day time.Time) error {
	_, err := s.db.Exec(ctx, `update usage_daily set reported_at = now() where tenant_id = $1 and day = $2::date`, tenantID, billing.Day(day))
	return err
}
