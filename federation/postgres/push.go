package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/pgutil"
)

var _ federation.PushStore = (*Store)(nil)

const pushSubscriptionColumns = `id, tenant_id, account_id, token_id, endpoint, p256dh, auth, alerts, policy,
	sealed_token, created_at`

func scanPushSubscription(row pgx.Row) (*federation.PushSubscription, error) {
	var p federation.PushSubscription
	err := row.Scan(&p.ID, &p.TenantID, &p.AccountID, &p.TokenID, &p.Endpoint, &p.P256DH, &p.Auth, &p.Alerts,
		&p.Policy, &p.SealedToken, &p.CreatedAt)
	return &p, err
}

// PushSubscription is the subscription of token tokenID on tenantID.
func (s *Store) PushSubscription(ctx context.Context, tenantID, tokenID int64) (*federation.PushSubscription, error) {
	p, err := scanPushSubscription(s.db.QueryRow(ctx, `select `+pushSubscriptionColumns+`
		from push_subscriptions where tenant_id = $1 and token_id = $2`, tenantID, tokenID))
	if err != nil {
		return nil, pgutil.NotFound(err, "Record not found")
	}
	return p, nil
}

// SavePushSubscription replaces the token's subscription with p. The
// token must be a live token of p.AccountID on p.TenantID; the old
// subscription's pending pushes go with it (they were encrypted for keys
// the app no longer holds).
func (s *Store) SavePushSubscription(ctx context.Context, p *federation.PushSubscription) error {
	return pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `delete from push_subscriptions where tenant_id = $1 and token_id = $2`,
			p.TenantID, p.TokenID); err != nil {
			return fmt.Errorf("replace push subscription: %w", err)
		}
		err := tx.QueryRow(ctx, `insert into push_subscriptions
				(tenant_id, account_id, token_id, endpoint, p256dh, auth, alerts, policy, sealed_token)
			select t.tenant_id, t.account_id, t.id, $4, $5, $6, $7, $8, $9 from oauth_tokens t
			where t.id = $3 and t.tenant_id = $1 and t.account_id = $2 and t.revoked_at is null
			returning id, created_at`,
			p.TenantID, p.AccountID, p.TokenID, p.Endpoint, p.P256DH, p.Auth, p.Alerts, p.Policy, p.SealedToken).
			Scan(&p.ID, &p.CreatedAt)
		if err != nil {
			return pgutil.Invalid(pgutil.NotFound(err, "Record not found"), "the push subscription is invalid")
		}
		return nil
	})
}

// UpdatePushAlerts changes the alerts and policy of the token's
// subscription.
func (s *Store) UpdatePushAlerts(ctx context.Context, tenantID, tokenID int64, alerts []string, policy string) (*federation.PushSubscription, error) {
	p, err := scanPushSubscription(s.db.QueryRow(ctx, `update push_subscriptions
		set alerts = $3, policy = $4, updated_at = now()
		where tenant_id = $1 and token_id = $2 returning `+pushSubscriptionColumns, tenantID, tokenID, alerts, policy))
	if err != nil {
		return nil, pgutil.Invalid(pgutil.NotFound(err, "Record not found"), "the push alerts are invalid")
	}
	return p, nil
}

// DeletePushSubscription removes the token's subscription, if any.
func (s *Store) DeletePushSubscription(ctx context.Context, tenantID, tokenID int64) error {
	if _, err := s.db.Exec(ctx, `delete from push_subscriptions where tenant_id = $1 and token_id = $2`,
		tenantID, tokenID); err != nil {
		return fmt.Errorf("delete push subscription: %w", err)
	}
	return nil
}

// VAPIDKeys returns the instance's VAPID keys.
func (s *Store) VAPIDKeys(ctx context.Context) (federation.VAPIDKeys, error) {
	var k federation.VAPIDKeys
	err := s.db.QueryRow(ctx, `select public_key, private_key from vapid_keys`).Scan(&k.Public, &k.Private)
	if err != nil {
		return k, pgutil.NotFound(err, "no VAPID keys yet")
	}
	return k, nil
}

// CreateVAPIDKeys stores k unless keys exist, and returns those in force:
// nodes racing to make the first keys all end with the same pair.
func (s *Store) CreateVAPIDKeys(ctx context.Context, k federation.VAPIDKeys) (federation.VAPIDKeys, error) {
	if _, err := s.db.Exec(ctx, `insert into vapid_keys (public_key, private_key) values ($1, $2)
		on conflict do nothing`, k.Public, k.Private); err != nil {
		return k, pgutil.Invalid(err, "the VAPID keys are malformed")
	}
	return s.VAPIDKeys(ctx)
}

// ClaimPushes leases up to limit due pushes: FOR UPDATE SKIP LOCKED, so
// concurrent workers take disjoint rows, and next_attempt_at moved past
// the lease in the same statement, so a crashed worker's rows come back.
// Pushes whose token was revoked since are deleted, not sent.
func (s *Store) ClaimPushes(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]federation.PushJob, error) {
	if limit <= 0 {
		limit = 100
	}
	var jobs []federation.PushJob
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `delete from push_deliveries d using push_subscriptions s, oauth_tokens t
			where d.subscription_id = s.id and t.id = s.token_id and t.revoked_at is not null
			  and d.next_attempt_at <= $1`, now); err != nil {
			return fmt.Errorf("drop pushes of revoked tokens: %w", err)
		}
		rows, err := tx.Query(ctx, `with due as (
				select id from push_deliveries where next_attempt_at <= $1::timestamptz
				order by next_attempt_at, id limit $3 for update skip locked),
			claimed as (
				update push_deliveries d set next_attempt_at = $1::timestamptz + $2::interval, attempts = d.attempts + 1
				from due where d.id = due.id
				returning d.id, d.attempts, d.subscription_id, d.notification_id)
			select c.id, c.attempts,
				s.id, s.tenant_id, s.account_id, s.token_id, s.endpoint, s.p256dh, s.auth, s.alerts, s.policy,
				s.sealed_token, s.created_at,
				n.id, n.type, r.domain, coalesce(r.default_language, ''),
				f.username, f.domain, f.display_name, f.avatar_url, f.note, f.tenant_id is not null,
				coalesce(st.content, ''), coalesce(st.summary, '')
			from claimed c
			join push_subscriptions s on s.id = c.subscription_id
			join notifications n on n.id = c.notification_id
			join accounts r on r.id = n.account_id
			join accounts f on f.id = n.from_account_id
			left join statuses st on st.id = n.status_id
			order by c.id`, now, lease, limit)
		if err != nil {
			return fmt.Errorf("claim pushes: %w", err)
		}
		jobs, err = pgx.CollectRows(rows, scanPushJob)
		if err != nil {
			return fmt.Errorf("claim pushes: %w", err)
		}
		return nil
	})
	return jobs, err
}

func scanPushJob(row pgx.CollectableRow) (federation.PushJob, error) {
	var j federation.PushJob
	p, n := &j.Subscription, &j.Notification
	err := row.Scan(&j.ID, &j.Attempts,
		&p.ID, &p.TenantID, &p.AccountID, &p.TokenID, &p.Endpoint, &p.P256DH, &p.Auth, &p.Alerts, &p.Policy,
		&p.SealedToken, &p.CreatedAt,
		&n.ID, &n.Type, &n.Domain, &n.Locale,
		&n.FromUsername, &n.FromDomain, &n.FromDisplayName, &n.FromAvatarURL, &n.FromNote, &n.FromLocal,
		&n.StatusContent, &n.StatusSummary)
	return j, err
}

// PushSent removes a push that was delivered or given up on.
func (s *Store) PushSent(ctx context.Context, id int64) error {
	if _, err := s.db.Exec(ctx, `delete from push_deliveries where id = $1`, id); err != nil {
		return fmt.Errorf("push %d sent: %w", id, err)
	}
	return nil
}

// RetryPush makes a push due again at at.
func (s *Store) RetryPush(ctx context.Context, id int64, at time.Time, reason string) error {
	if _, err := s.db.Exec(ctx, `update push_deliveries set next_attempt_at = $2, last_error = left($3, 400)
		where id = $1`, id, at, reason); err != nil {
		return fmt.Errorf("retry push %d: %w", id, err)
	}
	return nil
}

// DropPushSubscription removes a subscription its push service gave up
// on; its pending pushes cascade.
func (s *Store) DropPushSubscription(ctx context.Context, id int64) error {
	if _, err := s.db.Exec(ctx, `delete from push_subscriptions where id = $1`, id); err != nil {
		return fmt.Errorf("drop push subscription %d: %w", id, err)
	}
	return nil
}
