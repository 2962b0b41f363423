package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/billing"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pgutil"
)

var _ billing.BooksStore = (*Store)(nil)

// AddCost stores a cost after checking it.
func (s *Store) AddCost(ctx context.Context, c billing.Cost) (*billing.Cost, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	err := s.db.QueryRow(ctx, `insert into book_costs (month, category, amount_minor, currency, note)
		values ($1, $2, $3, $4, $5) returning id`, c.Month, c.Category, c.AmountMinor, c.Currency, c.Note).Scan(&c.ID)
	if err != nil {
		return nil, pgutil.Invalid(err, "cost")
	}
	return &c, nil
}

// DeleteCost removes a cost.
func (s *Store) DeleteCost(ctx context.Context, id int64) error {
	tag, err := s.db.Exec(ctx, `delete from book_costs where id = $1`, id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return errs.E(errs.NotFound, "no cost %d", id)
	}
	return nil
}

// Costs lists the costs of months from..to, newest first.
func (s *Store) Costs(ctx context.Context, from, to time.Time) ([]billing.Cost, error) {
	rows, err := s.db.Query(ctx, `select id, month, category, amount_minor, currency, note from book_costs
		where month between $1 and $2 order by month desc, category, id`, from, to)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (billing.Cost, error) {
		var c billing.Cost
		err := r.Scan(&c.ID, &c.Month, &c.Category, &c.AmountMinor, &c.Currency, &c.Note)
		return c, err
	})
}

// SetReserve sets the books' opening balance.
func (s *Store) SetReserve(ctx context.Context, minor int64, currency string) error {
	_, err := s.db.Exec(ctx, `insert into books_settings (reserve_minor, currency) values ($1, $2)
		on conflict (id) do update set reserve_minor = excluded.reserve_minor, currency = excluded.currency, updated_at = now()`,
		minor, currency)
	return pgutil.Invalid(err, "reserve")
}

// Ledger sums the months from..to (first days of months, UTC) in currency.
func (s *Store) Ledger(ctx context.Context, currency string, from, to time.Time) (*billing.Ledger, error) {
	l := &billing.Ledger{Currency: currency}
	byMonth := map[time.Time]*billing.MonthFigures{}
	for m := from; !m.After(to); m = m.AddDate(0, 1, 0) {
		l.Months = append(l.Months, billing.MonthFigures{Month: m, Costs: map[string]int64{}})
	}
	for i := range l.Months {
		byMonth[l.Months[i].Month] = &l.Months[i]
	}
	end := to.AddDate(0, 1, 0)
	month := func(t time.Time) *billing.MonthFigures {
		y, m, _ := t.UTC().Date()
		return byMonth[time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)]
	}
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error { // one snapshot for every sum
		if _, err := tx.Exec(ctx, `set transaction isolation level repeatable read read only`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `select month, category, sum(amount_minor)::bigint from book_costs
			where currency = $1 and month >= $2 and month < $3 group by 1, 2`, currency, from, end)
		if err != nil {
			return err
		}
		var m time.Time
		var cat string
		var sum int64
		_, err = pgx.ForEachRow(rows, []any{&m, &cat, &sum}, func() error {
			if f := month(m); f != nil {
				f.Costs[cat] += sum
			}
			return nil
		})
		if err != nil {
			return err
		}
		var n int
		rows, err = tx.Query(ctx, `select date_trunc('month', paid_at at time zone 'UTC'), sum(amount_minor)::bigint,
			count(distinct tenant_id)::int from billing_payments
			where currency = $1 and paid_at >= $2 and paid_at < $3 group by 1`, currency, from, end)
		if err != nil {
			return err
		}
		_, err = pgx.ForEachRow(rows, []any{&m, &sum, &n}, func() error {
			if f := month(m); f != nil {
				f.Income, f.PayingTenants = sum, n
			}
			return nil
		})
		if err != nil {
			return err
		}
		// Accounts at each tenant's last metered day of the month.
		rows, err = tx.Query(ctx, `select m, sum(accounts)::int from (
				select distinct on (tenant_id, date_trunc('month', day::timestamp)) date_trunc('month', day::timestamp) as m, accounts
				from usage_daily where day >= $1 and day < $2
				order by tenant_id, date_trunc('month', day::timestamp), day desc) x group by m`, from, end)
		if err != nil {
			return err
		}
		_, err = pgx.ForEachRow(rows, []any{&m, &n}, func() error {
			if f := month(m); f != nil {
				f.Accounts = n
			}
			return nil
		})
		if err != nil {
			return err
		}
		err = tx.QueryRow(ctx, `select
			coalesce((select reserve_minor from books_settings where currency = $1), 0),
			coalesce((select sum(amount_minor) from book_costs where currency = $1), 0)::bigint,
			coalesce((select sum(amount_minor) from billing_payments where currency = $1), 0)::bigint,
			(select count(*) from book_costs where currency <> $1)::int + (select count(*) from billing_payments where currency <> $1)::int`,
			currency).Scan(&l.Reserve, &l.AllCosts, &l.AllIncome, &l.OtherCurrencies)
		return err
	})
	if err != nil {
		return nil, err
	}
	return l, nil
}
