package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pgutil"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/verify"
)

// SignupStore implements verify.SignupStore and verify.Store: portal
// signups, sessions, invites and domain claims. Claims, checks and
// sessions are timed by the caller's clock (injected in tests), not the
// database's now().
type SignupStore struct {
	db *pgxpool.Pool
}

var (
	_ verify.SignupStore = (*SignupStore)(nil)
	_ verify.Store       = (*SignupStore)(nil)
)

// NewSignupStore returns a SignupStore on db.
func NewSignupStore(db *pgxpool.Pool) *SignupStore { return &SignupStore{db: db} }

// CreateSignup creates or finds the login, tenant and signup in one
// transaction. Concurrent submissions with one email serialise on the
// login row (the insert waits for the other's commit, the select locks
// it), so the second finds the first's signup instead of making a tenant.
func (s *SignupStore) CreateSignup(ctx context.Context, n verify.NewSignup) (*verify.Signup, error) {
	var userID int64
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `insert into users (email, password_hash, created_at) values ($1, $2, $3)
			on conflict ((lower(email))) do nothing returning id`, n.Email, n.PasswordHash, n.Now).Scan(&userID)
		if errors.Is(err, pgx.ErrNoRows) {
			var hash string
			err := tx.QueryRow(ctx, `select id, password_hash from users where lower(email) = lower($1) for update`, n.Email).
				Scan(&userID, &hash)
			if err != nil {
				return fmt.Errorf("find login: %w", err)
			}
			if !tenant.CheckPassword(hash, n.Password) {
				return verify.FieldErrors{"email": "A login with this email exists and the password does not match it. Sign in instead, or use another email."}
			}
			var exists bool
			if err := tx.QueryRow(ctx, `select exists (select 1 from signups where user_id = $1)`, userID).Scan(&exists); err != nil {
				return err
			}
			if exists {
				return nil // submitted before: nothing to create
			}
		} else if err != nil {
			return pgutil.Invalid(fmt.Errorf("insert login: %w", err), "the email address is not valid")
		}
		var tenantID int64
		if err := tx.QueryRow(ctx, `insert into tenants (name, status, created_at) values ($1, $2, $3) returning id`,
			n.Name, string(n.Status), n.Now).Scan(&tenantID); err != nil {
			return fmt.Errorf("insert tenant: %w", err)
		}
		if n.InviteHash != nil {
			tag, err := tx.Exec(ctx, `update invite_codes set used_at = $2, used_by_tenant_id = $3
				where code_hash = $1 and used_at is null and (expires_at is null or expires_at > $2)`, n.InviteHash, n.Now, tenantID)
			if err != nil {
				return fmt.Errorf("use invite: %w", err)
			}
			if tag.RowsAffected() == 0 {
				return verify.FieldErrors{"invite": "This invite code is not valid, has expired or was used already."}
			}
		}
		_, err = tx.Exec(ctx, `insert into signups (user_id, tenant_id, rules_accepted_at, created_at) values ($1, $2, $3, $3)`,
			userID, tenantID, n.Now)
		if pgutil.IsUniqueViolation(err) {
			return errs.E(errs.Conflict, "this signup was submitted twice at once; reload the page")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.Signup(ctx, userID)
}

// Signup returns the login's signup with its claim and first account.
func (s *SignupStore) Signup(ctx context.Context, userID int64) (*verify.Signup, error) {
	sg := &verify.Signup{}
	err := s.db.QueryRow(ctx, `
		select s.id, s.user_id, s.tenant_id, u.email, t.name, t.status, s.notice, s.created_at
		from signups s join users u on u.id = s.user_id join tenants t on t.id = s.tenant_id
		where s.user_id = $1`, userID).
		Scan(&sg.ID, &sg.UserID, &sg.TenantID, &sg.Email, &sg.TenantName, &sg.TenantStatus, &sg.Notice, &sg.CreatedAt)
	if err != nil {
		return nil, pgutil.NotFound(err, "no signup for this login")
	}
	c, err := scanClaim(s.db.QueryRow(ctx, claimSelect+` where d.tenant_id = $1 order by c.created_at desc limit 1`, sg.TenantID))
	switch {
	case err == nil:
		sg.Claim = c
	case !errs.Is(err, errs.NotFound):
		return nil, err
	}
	err = s.db.QueryRow(ctx, `
		select a.username || '@' || a.domain from accounts a join user_accounts ua on ua.account_id = a.id
		where a.tenant_id = $1 and ua.user_id = $2 order by a.id limit 1`, sg.TenantID, sg.UserID).Scan(&sg.Account)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("first account: %w", err)
	}
	return sg, nil
}

// Login returns the login with email.
func (s *SignupStore) Login(ctx context.Context, email string) (int64, string, error) {
	var id int64
	var hash string
	err := s.db.QueryRow(ctx, `select id, password_hash from users where lower(email) = lower($1)`, email).Scan(&id, &hash)
	if err != nil {
		return 0, "", pgutil.NotFound(err, "no such login")
	}
	return id, hash, nil
}

const claimSelect = `
	select d.domain, coalesce(d.service_domain, ''), d.tenant_id, c.kind, c.state, d.verification_token, c.attempts,
	       c.expires_at, c.next_check_at, c.checked_at, c.flagged_at, c.created_at, c.checks
	from domain_claims c join domains d on d.domain = c.domain`

func scanClaim(row pgx.Row) (*verify.Claim, error) {
	c := &verify.Claim{}
	var expires *time.Time
	var checks []byte
	err := row.Scan(&c.Domain, &c.ServiceDomain, &c.TenantID, &c.Kind, &c.State, &c.Token, &c.Attempts,
		&expires, &c.NextCheckAt, &c.CheckedAt, &c.FlaggedAt, &c.CreatedAt, &checks)
	if err != nil {
		return nil, pgutil.NotFound(err, "no such domain claim")
	}
	if expires != nil {
		c.ExpiresAt = *expires
	}
	if err := json.Unmarshal(checks, &c.Checks); err != nil {
		return nil, fmt.Errorf("claim %s checks: %w", c.Domain, err)
	}
	return c, nil
}

// claimField is the portal form field a name of a claim was typed in.
func claimField(n verify.NewClaim, name string) string {
	switch {
	case n.Kind == verify.Subdomain:
		return "label"
	case n.Kind == verify.Split && name == n.ServiceDomain:
		return "service"
	case n.Kind == verify.Split:
		return "handle"
	}
	return "domain"
}

// ClaimDomain claims n's names for the tenant. The tenant row is locked
// first, so one tenant's concurrent claims run one after the other (the
// second finds the first's); the hostnames primary key refuses a name
// another tenant holds, claimed or verified.
func (s *SignupStore) ClaimDomain(ctx context.Context, tenantID int64, n verify.NewClaim) (*verify.Claim, error) {
	var out *verify.Claim
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var status string
		if err := tx.QueryRow(ctx, `select status from tenants where id = $1 for update`, tenantID).Scan(&status); err != nil {
			return pgutil.NotFound(err, "no such tenant")
		}
		existing, err := scanClaim(tx.QueryRow(ctx, claimSelect+` where d.tenant_id = $1 order by c.created_at desc limit 1`, tenantID))
		if err == nil {
			if existing.Kind == n.Kind && existing.Domain == n.Domain && existing.ServiceDomain == n.ServiceDomain {
				out = existing // the same form again
				return nil
			}
			return verify.FieldErrors{claimField(n, n.Domain): fmt.Sprintf(
				"Your site already has the domain %s; give it up first to choose another.", existing.Domain)}
		}
		if !errs.Is(err, errs.NotFound) {
			return err
		}
		names := []string{n.Domain}
		if n.ServiceDomain != "" {
			names = append(names, n.ServiceDomain)
		}
		// A deleted tenant's names are free, but only through a new claim,
		// proven anew (SECURITY 23).
		if _, err := tx.Exec(ctx, `delete from domains d using tenants t
			where t.id = d.tenant_id and t.status = 'deleted'
			  and d.domain in (select h.domain from hostnames h where h.name = any($1))`, names); err != nil {
			return fmt.Errorf("free deleted tenant's domain: %w", err)
		}
		verified := n.Kind == verify.Subdomain
		_, err = tx.Exec(ctx, `
			insert into domains (domain, tenant_id, service_domain, verification_token, verified_at, created_at)
			values ($1, $2, nullif($3, ''), $4, case when $5 then $6::timestamptz end, $6)`,
			n.Domain, tenantID, n.ServiceDomain, newToken(), verified, n.Now)
		if pe := pgutil.UniqueViolation(err); pe != nil {
			name := takenName(pe, tenant.NewDomain{Domain: n.Domain, ServiceDomain: n.ServiceDomain})
			return verify.FieldErrors{claimField(n, name): fmt.Sprintf("%s is already used by another site.", name)}
		}
		if err != nil {
			return pgutil.Invalid(fmt.Errorf("insert domain %s: %w", n.Domain, err), "the domain name is not valid")
		}
		state, expires, next := verify.Verified, (*time.Time)(nil), (*time.Time)(nil)
		if !verified {
			e := n.Now.Add(verify.ClaimLifetime)
			state, expires, next = verify.Pending, &e, &n.Now
		}
		if _, err := tx.Exec(ctx, `insert into domain_claims (domain, kind, state, expires_at, next_check_at, created_at)
			values ($1, $2, $3, $4, $5, $6)`, n.Domain, string(n.Kind), string(state), expires, next, n.Now); err != nil {
			return fmt.Errorf("insert claim: %w", err)
		}
		if _, err := tx.Exec(ctx, `update signups set notice = '' where tenant_id = $1`, tenantID); err != nil {
			return err
		}
		out, err = scanClaim(tx.QueryRow(ctx, claimSelect+` where c.domain = $1`, n.Domain))
		return err
	})
	return out, err
}

// ReleaseClaim deletes the tenant's claimed domain while no account lives
// on it.
func (s *SignupStore) ReleaseClaim(ctx context.Context, tenantID int64, domain string) (*verify.Claim, error) {
	var out *verify.Claim
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		c, err := scanClaim(tx.QueryRow(ctx, claimSelect+` where c.domain = $1 and d.tenant_id = $2 for update of d`, domain, tenantID))
		if err != nil {
			return err
		}
		var accounts bool
		if err := tx.QueryRow(ctx, `select exists (select 1 from accounts where domain = $1 and tenant_id = $2)`,
			domain, tenantID).Scan(&accounts); err != nil {
			return err
		}
		if accounts {
			return errs.E(errs.Conflict, "accounts live on %s; it cannot be given up here", domain)
		}
		if _, err := tx.Exec(ctx, `delete from domains where domain = $1 and tenant_id = $2`, domain, tenantID); err != nil {
			return fmt.Errorf("delete domain: %w", err)
		}
		out = c
		return nil
	})
	return out, err
}

// CreateSession stores a session, clearing the login's expired ones.
func (s *SignupStore) CreateSession(ctx context.Context, userID int64, tokenHash []byte, expires time.Time) error {
	_, err := s.db.Exec(ctx, `
		with gone as (delete from portal_sessions where user_id = $1 and expires_at < now())
		insert into portal_sessions (token_hash, user_id, expires_at) values ($2, $1, $3)`, userID, tokenHash, expires)
	if err != nil {
		return fmt.Errorf("insert session: %w", err)
	}
	return nil
}

// SessionUser returns the login of an unexpired session.
func (s *SignupStore) SessionUser(ctx context.Context, tokenHash []byte, now time.Time) (int64, error) {
	var id int64
	err := s.db.QueryRow(ctx, `select user_id from portal_sessions where token_hash = $1 and expires_at > $2`, tokenHash, now).Scan(&id)
	if err != nil {
		return 0, pgutil.NotFound(err, "no such session")
	}
	return id, nil
}

// DeleteSession ends a session.
func (s *SignupStore) DeleteSession(ctx context.Context, tokenHash []byte) error {
	_, err := s.db.Exec(ctx, `delete from portal_sessions where token_hash = $1`, tokenHash)
	return err
}

// Claim returns the claim on domain.
func (s *SignupStore) Claim(ctx context.Context, domain string) (*verify.Claim, error) {
	return scanClaim(s.db.QueryRow(ctx, claimSelect+` where c.domain = $1`, domain))
}

// DueClaims leases the claims due at now (of tenants not deleted).
func (s *SignupStore) DueClaims(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]verify.Claim, error) {
	rows, err := s.db.Query(ctx, `
		with due as (
			select c.domain from domain_claims c join domains d on d.domain = c.domain join tenants t on t.id = d.tenant_id
			where c.next_check_at <= $1 and t.status <> 'deleted'
			order by c.next_check_at limit $3
			for update of c skip locked
		)
		update domain_claims c set next_check_at = $2 from due, domains d
		where c.domain = due.domain and d.domain = c.domain
		returning d.domain, coalesce(d.service_domain, ''), d.tenant_id, c.kind, c.state, d.verification_token, c.attempts,
		          c.expires_at, c.next_check_at, c.checked_at, c.flagged_at, c.created_at, c.checks`,
		now, now.Add(lease), limit)
	if err != nil {
		return nil, fmt.Errorf("due claims: %w", err)
	}
	defer rows.Close()
	var out []verify.Claim
	for rows.Next() {
		c, err := scanClaim(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

// SaveCheck records a check; Pending → Verified also verifies the domain.
func (s *SignupStore) SaveCheck(ctx context.Context, domain string, from verify.State, u verify.Update) (bool, error) {
	checks, err := json.Marshal(u.Checks)
	if err != nil {
		return false, err
	}
	if u.Checks == nil {
		checks = []byte("[]")
	}
	saved := false
	err = pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `update domain_claims
			set state = $3, checks = $4, attempts = $5, checked_at = $6, next_check_at = $7, flagged_at = $8
			where domain = $1 and state = $2`,
			domain, string(from), string(u.State), checks, u.Attempts, u.CheckedAt, u.NextCheckAt, u.FlaggedAt)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		saved = true
		if from == verify.Pending && u.State == verify.Verified {
			_, err = tx.Exec(ctx, `update domains set verified_at = $2 where domain = $1 and verified_at is null`, domain, u.CheckedAt)
		}
		return err
	})
	return saved && err == nil, err
}

// Expire deletes an expired pending claim's domain and tells the signup.
func (s *SignupStore) Expire(ctx context.Context, domain string, now time.Time) (bool, error) {
	expired := false
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var tenantID int64
		err := tx.QueryRow(ctx, `delete from domains d using domain_claims c
			where c.domain = d.domain and d.domain = $1 and c.state = 'pending' and c.expires_at <= $2 and d.verified_at is null
			returning d.tenant_id`, domain, now).Scan(&tenantID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("expire claim: %w", err)
		}
		expired = true
		_, err = tx.Exec(ctx, `update signups set notice = $2 where tenant_id = $1`, tenantID, fmt.Sprintf(
			"Your claim on %s expired: its DNS records were not found within 24 hours, so the name is free again. You can claim it again.", domain))
		return err
	})
	return expired, err
}

// CreateInvite stores an invite code by its hash.
func (s *SignupStore) CreateInvite(ctx context.Context, codeHash []byte, expires *time.Time) error {
	_, err := s.db.Exec(ctx, `insert into invite_codes (code_hash, expires_at) values ($1, $2)`, codeHash, expires)
	return err
}

// ApproveTenant activates a tenant waiting for approval and returns its
// host names (to tell every node).
func (s *SignupStore) ApproveTenant(ctx context.Context, id int64) ([]string, error) {
	var hosts []string
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var status string
		if err := tx.QueryRow(ctx, `select status from tenants where id = $1 for update`, id).Scan(&status); err != nil {
			return pgutil.NotFound(err, fmt.Sprintf("no tenant %d", id))
		}
		if status != string(tenant.Pending) {
			return errs.E(errs.Invalid, "tenant %d is %s, not waiting for approval", id, status)
		}
		if _, err := tx.Exec(ctx, `update tenants set status = 'active' where id = $1`, id); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `select h.name from hostnames h join domains d on d.domain = h.domain where d.tenant_id = $1`, id)
		if err != nil {
			return err
		}
		hosts, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return hosts, err
}

// FlaggedClaims lists verified domains whose TXT proof went missing,
// longest flagged first, for the operator.
func (s *SignupStore) FlaggedClaims(ctx context.Context) ([]verify.Claim, error) {
	rows, err := s.db.Query(ctx, claimSelect+` where c.state = 'flagged' order by c.flagged_at`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []verify.Claim
	for rows.Next() {
		c, err := scanClaim(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}
