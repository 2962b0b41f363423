// Package postgres stores the social core in PostgreSQL. Every query is
// scoped by tenant.
package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pgutil"
	"github.com/roost-social/roost/tenant"
)

// Store implements federation's store interfaces on a pgx pool.
type Store struct {
	db *pgxpool.Pool
}

var _ federation.AccountStore = (*Store)(nil)

// New returns a Store on db.
func New(db *pgxpool.Pool) *Store { return &Store{db: db} }

const accountColumns = `id, tenant_id, domain, username, display_name, note, avatar_url, header_url,
	locked, discoverable, bot, public_key_pem, private_key_pem, created_at, also_known_as, coalesce(moved_to_uri, ''), fields`

func scanAccount(row pgx.Row) (*federation.Account, error) {
	a := &federation.Account{}
	err := row.Scan(&a.ID, &a.TenantID, &a.Domain, &a.Username, &a.DisplayName, &a.Note, &a.AvatarURL,
		&a.HeaderURL, &a.Locked, &a.Discoverable, &a.Bot, &a.PublicKeyPEM, &a.PrivateKeyPEM, &a.CreatedAt,
		&a.AlsoKnownAs, &a.MovedTo, &a.Fields)
	return a, err
}

// CreateAccount creates the account and links it to its login, creating
// the login when its email is new, all in one transaction.
func (s *Store) CreateAccount(ctx context.Context, n federation.NewAccount) (*federation.Account, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	var acct *federation.Account
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		userID, err := ownerFor(ctx, tx, n)
		if err != nil {
			return err
		}
		acct, err = scanAccount(tx.QueryRow(ctx, `
			insert into accounts (tenant_id, domain, username, display_name, public_key_pem, private_key_pem)
			select $1, d.domain, $3, $4, $5, $6 from domains d where d.domain = $2 and d.tenant_id = $1 and d.verified_at is not null
			returning `+accountColumns,
			n.TenantID, n.Domain, n.Username, n.DisplayName, n.Keys.PublicPEM, n.Keys.PrivatePEM))
		if err == pgx.ErrNoRows {
			return errs.E(errs.NotFound, "domain %s is not one of this tenant's verified domains", n.Domain)
		}
		if pgutil.IsUniqueViolation(err) {
			return errs.E(errs.Conflict, "username %s is taken on %s", n.Username, n.Domain)
		}
		if err != nil {
			return fmt.Errorf("insert account: %w", err)
		}
		_, err = tx.Exec(ctx, `insert into user_accounts (user_id, account_id) values ($1, $2)`, userID, acct.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return acct, nil
}

// ownerFor returns the id of the login with n.Email, checking n.Password
// against it, or creates the login.
func ownerFor(ctx context.Context, tx pgx.Tx, n federation.NewAccount) (int64, error) {
	var id int64
	var hash string
	err := tx.QueryRow(ctx, `select id, password_hash from users where lower(email) = lower($1) for update`, n.Email).Scan(&id, &hash)
	switch {
	case err == nil:
		if !tenant.CheckPassword(hash, n.Password) {
			return 0, errs.E(errs.Forbidden, "a login with this email exists and the password does not match it")
		}
		return id, nil
	case err != pgx.ErrNoRows:
		return 0, fmt.Errorf("find login: %w", err)
	}
	err = tx.QueryRow(ctx, `insert into users (email, password_hash) values ($1, $2) returning id`, n.Email, n.PasswordHash).Scan(&id)
	if pgutil.IsUniqueViolation(err) {
		return 0, errs.E(errs.Conflict, "a login with this email was created concurrently; try again")
	}
	if err != nil {
		return 0, fmt.Errorf("insert login: %w", err)
	}
	return id, nil
}

// AccountByUsername finds an account on one of the tenant's domains. An
// account suspended from the dashboard (account_limits) is not found:
// it is not served (actor, WebFinger, profile) while suspended.
func (s *Store) AccountByUsername(ctx context.Context, tenantID int64, domain, username string) (*federation.Account, error) {
	a, err := scanAccount(s.db.QueryRow(ctx, `select `+accountColumns+` from accounts
		where tenant_id = $1 and domain = $2 and lower(username) = lower($3)
		  and not exists (select 1 from account_limits l where l.account_id = accounts.id
			and l.suspended_at is not null and (l.tenant_id is null or l.tenant_id = accounts.tenant_id))`, tenantID, domain, username))
	if err != nil {
		return nil, pgutil.NotFound(err, "no such account")
	}
	return a, nil
}

// Usage counts the tenant's accounts.
func (s *Store) Usage(ctx context.Context, tenantID int64) (federation.Usage, error) {
	var u federation.Usage
	err := s.db.QueryRow(ctx, `select
		(select count(*) from accounts where tenant_id = $1),
		(select coalesce(sum(x.statuses_count), 0) from accounts a join account_stats x on x.account_id = a.id where a.tenant_id = $1),
		(select count(*) from accounts a join account_stats x on x.account_id = a.id
			where a.tenant_id = $1 and x.last_status_at > now() - interval '30 days'),
		(select count(distinct r.domain) from follows f join accounts l on l.id in (f.follower_id, f.followee_id)
			join accounts r on r.id in (f.follower_id, f.followee_id)
			where l.tenant_id = $1 and r.tenant_id is null)`, tenantID).Scan(&u.Users, &u.Statuses, &u.ActiveMonth, &u.Domains)
	return u, err
}

// SetAliases replaces a local account's alsoKnownAs.
func (s *Store) SetAliases(ctx context.Context, accountID int64, aliases []string) error {
	_, err := s.db.Exec(ctx, `update accounts set also_known_as = $2 where id = $1 and tenant_id is not null`, accountID, strs(aliases))
	return err
}

// SetMovedTo records a local account's move.
func (s *Store) SetMovedTo(ctx context.Context, accountID int64, uri string) error {
	_, err := s.db.Exec(ctx, `update accounts set moved_to_uri = $2 where id = $1 and tenant_id is not null`, accountID, uri)
	return err
}
