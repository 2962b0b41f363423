// Package postgres stores billing records and applied provider events
// (package billing) in PostgreSQL.
package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/billing"
	"github.com/roost-social/roost/internal/pgutil"
)

// Store is billing.Store on PostgreSQL.
type Store struct{ db *pgxpool.Pool }

// NewStore returns a Store on db.
func NewStore(db *pgxpool.Pool) *Store { return &Store{db: db} }

var _ billing.Store = (*Store)(nil)

// ApplyEvent inserts the event under its primary key first: a concurrent
// duplicate waits on that key and then finds it taken, so exactly one
// transaction applies the change.
func (s *Store) ApplyEvent(ctx context.Context, provider, eventID, eventType string, ch *billing.Change) (bool, error) {
	var applied bool
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `insert into billing_events (provider, event_id, type) values ($1, $2, $3)
			on conflict do nothing`, provider, eventID, eventType)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		applied = true
		if ch == nil {
			return nil
		}
		id := ch.TenantID
		if id == 0 {
			err := tx.QueryRow(ctx, `select tenant_id from tenant_billing
				where ($1 <> '' and subscription_id = $1) or ($2 <> '' and customer_id = $2)
				order by (subscription_id = $1) desc limit 1`, ch.SubscriptionID, ch.CustomerID).Scan(&id)
			if err == pgx.ErrNoRows {
				if p := ch.Payment; p != nil { // income all the same, for the books
					_, err := tx.Exec(ctx, `insert into billing_payments (provider, ref, amount_minor, currency, paid_at)
						values ($1, $2, $3, $4, $5) on conflict do nothing`, p.Provider, p.Ref, p.AmountMinor, p.Currency, p.PaidAt)
					return err
				}
				return nil // not one of ours (yet): recorded, nothing to change
			}
			if err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `update billing_events set tenant_id = $3 where provider = $1 and event_id = $2`,
			provider, eventID, id); err != nil {
			return err
		}
		if p := ch.Payment; p != nil {
			// An invoice reported by two events (or resent) counts once.
			if _, err := tx.Exec(ctx, `insert into billing_payments (provider, ref, tenant_id, amount_minor, currency, paid_at)
				values ($1, $2, $3, $4, $5, $6) on conflict do nothing`,
				p.Provider, p.Ref, id, p.AmountMinor, p.Currency, p.PaidAt); err != nil {
				return pgutil.Invalid(err, "payment "+p.Ref)
			}
		}
		if ch.State == "" {
			return nil
		}
		return upsert(ctx, tx, id, ch)
	})
	return applied, err
}

func upsert(ctx context.Context, tx pgx.Tx, id int64, ch *billing.Change) error {
	now := ch.Now
	if now.IsZero() {
		now = time.Now()
	}
	_, err := tx.Exec(ctx, `insert into tenant_billing as b (tenant_id, state, provider, customer_id, subscription_id, paid_until, past_due_since, updated_at)
		values ($1, $2, $3, $4, $5, $6, case when $2 = 'past_due' then $7::timestamptz end, $7)
		on conflict (tenant_id) do update set
			state = excluded.state,
			provider = excluded.provider,
			customer_id = case when excluded.customer_id <> '' then excluded.customer_id else b.customer_id end,
			subscription_id = case when excluded.subscription_id <> '' then excluded.subscription_id else b.subscription_id end,
			paid_until = coalesce(excluded.paid_until, b.paid_until),
			past_due_since = case when excluded.state <> 'past_due' then null
				when b.state = 'past_due' then b.past_due_since else excluded.past_due_since end,
			updated_at = excluded.updated_at`,
		id, string(ch.State), ch.Provider, ch.CustomerID, ch.SubscriptionID, ch.PaidUntil, now)
	if err != nil {
		return pgutil.Invalid(err, fmt.Sprintf("billing change for tenant %d", id))
	}
	return nil
}

// Account returns a tenant's billing record, or errs.NotFound.
func (s *Store) Account(ctx context.Context, tenantID int64) (*billing.Account, error) {
	var a billing.Account
	var state string
	err := s.db.QueryRow(ctx, `select tenant_id, state, provider, customer_id, subscription_id, paid_until,
		past_due_since, billing_suspended, updated_at from tenant_billing where tenant_id = $1`, tenantID).
		Scan(&a.TenantID, &state, &a.Provider, &a.CustomerID, &a.SubscriptionID, &a.PaidUntil,
			&a.PastDueSince, &a.BillingSuspended, &a.UpdatedAt)
	if err != nil {
		return nil, pgutil.NotFound(err, fmt.Sprintf("no billing record for tenant %d", tenantID))
	}
	a.State = billing.State(state)
	return &a, nil
}

// Overdue lists the tenants past due since before cutoff and not yet
// suspended by billing.
func (s *Store) Overdue(ctx context.Context, cutoff time.Time) ([]int64, error) {
	rows, err := s.db.Query(ctx, `select tenant_id from tenant_billing
		where state = 'past_due' and past_due_since < $1 and not billing_suspended order by tenant_id`, cutoff)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// Recovered lists the tenants suspended by billing that pay again.
func (s *Store) Recovered(ctx context.Context) ([]int64, error) {
	rows, err := s.db.Query(ctx, `select tenant_id from tenant_billing
		where billing_suspended and state in ('trialing', 'active', 'comped') order by tenant_id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// SetBillingSuspended records that billing suspended or released a tenant.
func (s *Store) SetBillingSuspended(ctx context.Context, tenantID int64, suspended bool) error {
	_, err := s.db.Exec(ctx, `update tenant_billing set billing_suspended = $2 where tenant_id = $1`, tenantID, suspended)
	return err
}

// ExpireManual moves manually paid tenants whose paid_until passed to
// past due from paid_until.
func (s *Store) ExpireManual(ctx context.Context, now time.Time) (int64, error) {
	tag, err := s.db.Exec(ctx, `update tenant_billing set state = 'past_due', past_due_since = paid_until, updated_at = $1
		where provider = 'manual' and state = 'active' and paid_until < $1`, now)
	return tag.RowsAffected(), err
}
