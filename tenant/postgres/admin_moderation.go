package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pgutil"
	"github.com/roost-social/roost/tenant"
)

// inScope is the SQL condition that account a is visible to the dashboard
// of tenant $n (0: the instance, every account): the tenant's own local
// accounts, the remote accounts its accounts follow or are followed by,
// and any account reported on it. Another tenant's local account is in
// scope only when reported there, so the tenant's moderators can limit it
// on their own timelines and undo that; they see of it what the tenant
// could see anyway (seenBy), never its logins.
func inScope(n int) string {
	return fmt.Sprintf(`($%[1]d = 0 or a.tenant_id = $%[1]d
		or exists (select 1 from reports rp where rp.tenant_id = $%[1]d and rp.target_account_id = a.id)
		or (a.tenant_id is null and (
		exists (select 1 from follows f join accounts m on m.id = f.follower_id where f.followee_id = a.id and m.tenant_id = $%[1]d)
		or exists (select 1 from follows f join accounts m on m.id = f.followee_id where f.follower_id = a.id and m.tenant_id = $%[1]d))))`, n)
}

// limitsOf is the moderation of account a as tenant $n sees it: the
// instance's and the tenant's own (for the instance: the account's own
// tenant's too, so an operator sees what a tenant admin did).
func limitsOf(n int) string {
	return fmt.Sprintf(`(select max(l.silenced_at) from account_limits l where l.account_id = a.id and (l.tenant_id is null or l.tenant_id = coalesce(nullif($%[1]d, 0), a.tenant_id))),
		(select max(l.suspended_at) from account_limits l where l.account_id = a.id and (l.tenant_id is null or l.tenant_id = coalesce(nullif($%[1]d, 0), a.tenant_id))),
		(select max(l.sensitized_at) from account_limits l where l.account_id = a.id and (l.tenant_id is null or l.tenant_id = coalesce(nullif($%[1]d, 0), a.tenant_id)))`, n)
}

const accountRowSelect = `a.id, coalesce(a.uri, ''), a.username, a.domain, a.display_name, coalesce(a.url, ''), a.tenant_id is not null,
	a.tenant_id, a.created_at, `

func scanAccountRow(r pgx.Row, extra ...any) (tenant.AccountRow, error) {
	var x tenant.AccountRow
	err := r.Scan(append([]any{&x.ID, &x.URI, &x.Username, &x.Domain, &x.DisplayName, &x.URL, &x.Local,
		&x.TenantID, &x.CreatedAt, &x.SilencedAt, &x.SuspendedAt, &x.SensitizedAt}, extra...)...)
	return x, err
}

func likePattern(q string) string {
	return "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(q)) + "%"
}

// Accounts searches the accounts in f.TenantID's scope by username,
// domain or display name, newest first.
func (s *AdminStore) Accounts(ctx context.Context, f tenant.AccountFilter) ([]tenant.AccountRow, error) {
	if f.Limit <= 0 || f.Limit > 200 {
		f.Limit = 100
	}
	q := strings.TrimPrefix(strings.TrimSpace(f.Query), "@")
	rows, err := s.db.Query(ctx, `select `+accountRowSelect+limitsOf(1)+` from accounts a
		where `+inScope(1)+`
		  and ($2 = '' or lower(a.username || '@' || a.domain) like $3 or lower(a.display_name) like $3)
		  and ($4 = '' or ($4 = 'local') = (a.tenant_id is not null))
		order by a.id desc limit $5`, f.TenantID, q, likePattern(q), f.Origin, f.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (tenant.AccountRow, error) { return scanAccountRow(r) })
}

// Account returns one account in tenantID's scope with its recent posts
// (those the tenant may see: seenBy), reports against it, moderation
// history and owning logins, or errs.NotFound (also for an account
// outside the scope).
func (s *AdminStore) Account(ctx context.Context, tenantID, id int64) (*tenant.AccountDetail, error) {
	var d tenant.AccountDetail
	var err error
	d.AccountRow, err = scanAccountRow(s.db.QueryRow(ctx, `select `+accountRowSelect+limitsOf(1)+`, a.note,
		(select count(*) from follows where followee_id = a.id and state = 'accepted'),
		(select count(*) from follows where follower_id = a.id and state = 'accepted'),
		(select count(*) from statuses s where s.account_id = a.id and `+seenBy("$1")+`)
		from accounts a where a.id = $2 and `+inScope(1), tenantID, id), &d.Note, &d.Followers, &d.Following, &d.StatusCount)
	if err != nil {
		return nil, pgutil.NotFound(err, fmt.Sprintf("no account %d here", id))
	}
	rows, err := s.db.Query(ctx, `select s.id, coalesce(s.uri, ''), s.content, s.summary, s.published_at, `+hiddenFor("$2")+`
		from statuses s where s.account_id = $1 and `+seenBy("$2")+` order by s.published_at desc limit 20`, id, tenantID)
	if err != nil {
		return nil, err
	}
	if d.Posts, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (tenant.Post, error) {
		var p tenant.Post
		err := r.Scan(&p.ID, &p.URI, &p.Content, &p.Summary, &p.PublishedAt, &p.Hidden)
		return p, err
	}); err != nil {
		return nil, err
	}
	rows, err = s.db.Query(ctx, `select r.id, r.tenant_id, t.name, r.comment, r.category, r.created_at, r.resolved_at, r.action_taken
		from reports r join tenants t on t.id = r.tenant_id
		where r.target_account_id = $1 and ($2 = 0 or r.tenant_id = $2) order by r.id desc limit 50`, id, tenantID)
	if err != nil {
		return nil, err
	}
	if d.Reports, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (tenant.Report, error) {
		var x tenant.Report
		err := r.Scan(&x.ID, &x.TenantID, &x.TenantName, &x.Comment, &x.Category, &x.CreatedAt, &x.ResolvedAt, &x.ActionTaken)
		return x, err
	}); err != nil {
		return nil, err
	}
	rows, err = s.db.Query(ctx, `select action, user_email, detail, created_at from audit_log
		where action like 'account.%' and target = $1 and ($2 = 0 or tenant_id = $2) order by id desc limit 50`,
		handle(d.Username, d.Domain), tenantID)
	if err != nil {
		return nil, err
	}
	if d.Actions, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (tenant.AccountAction, error) {
		var x tenant.AccountAction
		err := r.Scan(&x.Action, &x.UserEmail, &x.Detail, &x.CreatedAt)
		return x, err
	}); err != nil {
		return nil, err
	}
	// Logins only of the tenant's own accounts: another tenant's users are
	// not its to know.
	rows, err = s.db.Query(ctx, `select u.id, u.email, u.is_operator, u.totp_secret is not null from users u
		join user_accounts ua on ua.user_id = u.id join accounts a on a.id = ua.account_id
		where ua.account_id = $1 and ($2 = 0 or a.tenant_id = $2) order by u.id`, id, tenantID)
	if err != nil {
		return nil, err
	}
	d.Logins, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (tenant.Login, error) {
		var x tenant.Login
		err := r.Scan(&x.ID, &x.Email, &x.IsOperator, &x.TOTPEnabled)
		return x, err
	})
	return &d, err
}

func handle(username, domain string) string { return "@" + username + "@" + domain }

// AccountActions are what ModerateAccount does.
var AccountActions = []string{"silence", "unsilence", "suspend", "unsuspend", "sensitive", "unsensitive"}

// ModerateAccount applies action to an account in tenantID's scope, at
// that scope (0: instance-wide), and records it.
func (s *AdminStore) ModerateAccount(ctx context.Context, a tenant.Actor, tenantID, accountID int64, action, why string) error {
	return pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var ok bool
		if err := tx.QueryRow(ctx, `select true from accounts a where a.id = $2 and `+inScope(1), tenantID, accountID).Scan(&ok); err != nil {
			return pgutil.NotFound(err, fmt.Sprintf("no account %d here", accountID))
		}
		return moderate(ctx, tx, a, tenantID, accountID, action, why)
	})
}

// moderate sets or clears one limit of an account at scope tenantID (0:
// the instance). Suspending a local account at its own tenant's or the
// instance's scope also revokes its OAuth tokens, so apps lose access at
// once rather than at their next sign-in.
func moderate(ctx context.Context, tx pgx.Tx, a tenant.Actor, tenantID, accountID int64, action, why string) error {
	var set string
	switch action {
	case "silence", "unsilence":
		set = "silenced_at"
	case "suspend", "unsuspend":
		set = "suspended_at"
	case "sensitive", "unsensitive":
		set = "sensitized_at"
	default:
		return errs.E(errs.Invalid, "unknown account action %q", action)
	}
	value := "now()"
	if strings.HasPrefix(action, "un") {
		value = "null"
	}
	if _, err := tx.Exec(ctx, `insert into account_limits (account_id, tenant_id, `+set+`) values ($1, $2, `+value+`)
		on conflict (account_id, coalesce(tenant_id, 0)) do update set `+set+` = `+value+`, updated_at = now()`,
		accountID, nullTenant(tenantID)); err != nil {
		return err
	}
	var username, domain string
	var own *int64
	if err := tx.QueryRow(ctx, `select username, domain, tenant_id from accounts where id = $1`, accountID).Scan(&username, &domain, &own); err != nil {
		return err
	}
	// Effects beyond the limit row, where the scope covers the account
	// for everyone: its own tenant's (local accounts) or the instance's.
	// Remote posts are shared by every tenant, so a tenant's "sensitive"
	// on a remote account only marks it in that tenant's dashboard.
	if whole := tenantID == 0 || (own != nil && tenantID == *own); whole {
		switch action {
		case "suspend":
			if own != nil {
				if _, err := tx.Exec(ctx, `update oauth_tokens set revoked_at = now() where account_id = $1 and revoked_at is null`, accountID); err != nil {
					return err
				}
			}
		case "sensitive": // as Mastodon: its posts show behind a warning
			if _, err := tx.Exec(ctx, `update statuses set sensitive = true where account_id = $1 and not sensitive`, accountID); err != nil {
				return err
			}
		}
	}
	detail := fmt.Sprintf("account %d", accountID)
	if why != "" {
		detail += "; " + why
	}
	return record(ctx, tx, a, "account."+action, handle(username, domain), nullTenant(tenantID), detail)
}

// Roles lists the roles granted on tenantID (0: every tenant's).
func (s *AdminStore) Roles(ctx context.Context, tenantID int64) ([]tenant.RoleGrant, error) {
	rows, err := s.db.Query(ctx, `select r.user_id, u.email, r.tenant_id, t.name, r.role, r.perms, r.granted_by, r.created_at
		from admin_roles r join users u on u.id = r.user_id join tenants t on t.id = r.tenant_id
		where $1 = 0 or r.tenant_id = $1 order by t.name, u.email`, tenantID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (tenant.RoleGrant, error) {
		var g tenant.RoleGrant
		err := r.Scan(&g.UserID, &g.Email, &g.TenantID, &g.TenantName, &g.Role, &g.Perms, &g.GrantedBy, &g.CreatedAt)
		return g, err
	})
}

// RoleOn returns the role of a login on a tenant, or errs.NotFound.
func (s *AdminStore) RoleOn(ctx context.Context, userID, tenantID int64) (*tenant.RoleGrant, error) {
	var g tenant.RoleGrant
	err := s.db.QueryRow(ctx, `select r.user_id, u.email, r.tenant_id, r.role, r.perms from admin_roles r join users u on u.id = r.user_id
		where r.user_id = $1 and r.tenant_id = $2`, userID, tenantID).Scan(&g.UserID, &g.Email, &g.TenantID, &g.Role, &g.Perms)
	if err != nil {
		return nil, pgutil.NotFound(err, "no such role")
	}
	return &g, nil
}

// GrantRole gives the login with email role (with its permission set
// perms) on tenantID, replacing any role it had there. The caller has
// checked the granter may (api/admin CanGrant).
func (s *AdminStore) GrantRole(ctx context.Context, a tenant.Actor, email string, tenantID int64, role string, perms uint32) (*tenant.RoleGrant, error) {
	var g tenant.RoleGrant
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `insert into admin_roles (user_id, tenant_id, role, perms, granted_by)
			select u.id, t.id, $3, $4, $5 from users u, tenants t where lower(u.email) = lower($1) and t.id = $2
			on conflict (user_id, tenant_id) do update set role = excluded.role, perms = excluded.perms,
				granted_by = excluded.granted_by, created_at = now()
			returning user_id, tenant_id, role, perms`, email, tenantID, role, int64(perms), a.Email).
			Scan(&g.UserID, &g.TenantID, &g.Role, &g.Perms)
		if err != nil {
			return pgutil.NotFound(err, fmt.Sprintf("no login with email %s (or no tenant %d)", email, tenantID))
		}
		g.Email = email
		return record(ctx, tx, a, "role.grant", email, &tenantID, role)
	})
	if err != nil {
		return nil, err
	}
	return &g, nil
}

// RevokeRole takes a login's role on a tenant away and ends its sessions
// there.
func (s *AdminStore) RevokeRole(ctx context.Context, a tenant.Actor, userID, tenantID int64) error {
	return pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var email, role string
		err := tx.QueryRow(ctx, `delete from admin_roles r using users u where u.id = r.user_id and r.user_id = $1 and r.tenant_id = $2
			returning u.email, r.role`, userID, tenantID).Scan(&email, &role)
		if err != nil {
			return pgutil.NotFound(err, "no such role")
		}
		if _, err := tx.Exec(ctx, `delete from admin_sessions where user_id = $1 and tenant_id = $2`, userID, tenantID); err != nil {
			return err
		}
		return record(ctx, tx, a, "role.revoke", email, &tenantID, role)
	})
}

// instanceOnly refuses recovering a login (password, second factor) for
// a tenant's dashboard. Logins are instance-wide: one may own accounts on
// several tenants and hold roles or be an operator, so a tenant's
// moderators resetting one would take over what it holds elsewhere. The
// handler never offers it to a tenant; the store refuses it too.
func instanceOnly(tenantID int64) error {
	if tenantID != 0 {
		return errs.E(errs.Forbidden, "logins span tenants: only an operator, on the operator host, recovers them")
	}
	return nil
}

// Login returns the login userID owning account accountID, for the
// dashboard of tenantID (0 only: instanceOnly), or errs.NotFound.
func (s *AdminStore) Login(ctx context.Context, tenantID, userID, accountID int64) (*tenant.Login, error) {
	if err := instanceOnly(tenantID); err != nil {
		return nil, err
	}
	var l tenant.Login
	err := s.db.QueryRow(ctx, `select u.id, u.email, u.is_operator, u.totp_secret is not null from users u
		where u.id = $1 and exists (select 1 from user_accounts ua where ua.user_id = u.id and ua.account_id = $2)`, userID, accountID).
		Scan(&l.ID, &l.Email, &l.IsOperator, &l.TOTPEnabled)
	if err != nil {
		return nil, pgutil.NotFound(err, fmt.Sprintf("no login %d of account %d", userID, accountID))
	}
	return &l, nil
}

// ResetPassword replaces a login's password hash, ends its dashboard
// sessions and revokes the OAuth tokens of its accounts: whoever knew the
// old password is signed out everywhere. For the instance only
// (instanceOnly).
func (s *AdminStore) ResetPassword(ctx context.Context, a tenant.Actor, tenantID, userID int64, hash string) error {
	if err := instanceOnly(tenantID); err != nil {
		return err
	}
	return pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var email string
		if err := tx.QueryRow(ctx, `update users set password_hash = $2 where id = $1 returning email`, userID, hash).Scan(&email); err != nil {
			return pgutil.NotFound(err, fmt.Sprintf("no login %d", userID))
		}
		if _, err := tx.Exec(ctx, `delete from admin_sessions where user_id = $1`, userID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `update oauth_tokens set revoked_at = now() where revoked_at is null
			and account_id in (select account_id from user_accounts where user_id = $1)`, userID); err != nil {
			return err
		}
		return record(ctx, tx, a, "login.reset_password", email, nil, "")
	})
}

// DisableTOTP turns a login's second factor off (its owner lost it); for
// the instance only (instanceOnly).
func (s *AdminStore) DisableTOTP(ctx context.Context, a tenant.Actor, tenantID, userID int64) error {
	if err := instanceOnly(tenantID); err != nil {
		return err
	}
	return pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var email string
		if err := tx.QueryRow(ctx, `update users set totp_secret = null, totp_pending_secret = null where id = $1 returning email`, userID).
			Scan(&email); err != nil {
			return pgutil.NotFound(err, fmt.Sprintf("no login %d", userID))
		}
		return record(ctx, tx, a, "login.disable_totp", email, nil, "")
	})
}

// TOTP returns a login's active and pending TOTP secrets ("" when none).
func (s *AdminStore) TOTP(ctx context.Context, userID int64) (secret, pending string, err error) {
	err = s.db.QueryRow(ctx, `select coalesce(totp_secret, ''), coalesce(totp_pending_secret, '') from users where id = $1`, userID).
		Scan(&secret, &pending)
	if err != nil {
		return "", "", pgutil.NotFound(err, "no such login")
	}
	return secret, pending, nil
}

// SetPendingTOTP stores a secret being enrolled; a code confirms it.
func (s *AdminStore) SetPendingTOTP(ctx context.Context, userID int64, secret string) error {
	_, err := s.db.Exec(ctx, `update users set totp_pending_secret = $2 where id = $1`, userID, secret)
	return err
}

// UseTOTPStep spends time step step of a login's codes: false when that
// step or a later one was already used (a replayed code). With confirm,
// the pending secret becomes the active one in the same update.
func (s *AdminStore) UseTOTPStep(ctx context.Context, a tenant.Actor, userID, step int64, confirm bool) (bool, error) {
	q := `update users set totp_last_step = $2 where id = $1 and totp_last_step < $2`
	if confirm {
		q = `update users set totp_last_step = $2, totp_secret = totp_pending_secret, totp_pending_secret = null
			where id = $1 and totp_last_step < $2 and totp_pending_secret is not null`
	}
	tag, err := s.db.Exec(ctx, q, userID, step)
	if err != nil || tag.RowsAffected() == 0 {
		return false, err
	}
	if confirm {
		return true, record(ctx, s.db, a, "login.enable_totp", a.Email, nil, "")
	}
	return true, nil
}
