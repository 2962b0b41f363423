package postgres

import (
	"context"
	"fmt"
	"github.com/roost-social/roost/internal/text"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pgutil"
	"github.com/roost-social/roost/tenant"
)

// AdminStore is the operator dashboard's storage (api/admin): operator
// sessions, instance numbers, tenants, reports and the audit log. Every
// action writes its audit entry in the same transaction as the change.
// It reads the social core's tables (accounts, statuses, follows,
// deliveries, media, inbox items) by SQL join as read models only; the
// writes it makes to them are the allowances in internal/archtest
// tables_test.go.
type AdminStore struct {
	db *pgxpool.Pool
}

// NewAdminStore returns an AdminStore on db.
func NewAdminStore(db *pgxpool.Pool) *AdminStore { return &AdminStore{db: db} }

// userRole is the select list of a login with its role on tenant $T
// (the query names the tenant parameter).
const userRoleSelect = `u.id, u.email, u.is_operator, coalesce(r.role, ''), coalesce(r.perms, 0), u.totp_secret is not null`

func scanUser(u *tenant.DashboardUser) []any {
	return []any{&u.ID, &u.Email, &u.IsOperator, &u.Role, &u.Perms, &u.TOTPEnabled}
}

// UserByEmail returns a login with its role on tenantID (0: none, the
// operator host) and its password hash, or errs.NotFound.
func (s *AdminStore) UserByEmail(ctx context.Context, email string, tenantID int64) (*tenant.DashboardUser, string, error) {
	var u tenant.DashboardUser
	var hash string
	err := s.db.QueryRow(ctx, `select `+userRoleSelect+`, u.password_hash from users u
		left join admin_roles r on r.user_id = u.id and r.tenant_id = $2
		where lower(u.email) = lower($1)`, email, tenantID).
		Scan(append(scanUser(&u), &hash)...)
	if err != nil {
		return nil, "", pgutil.NotFound(err, "no such login")
	}
	return &u, hash, nil
}

// GrantOperator makes the login with email an instance operator.
func (s *AdminStore) GrantOperator(ctx context.Context, email string, grant bool) (*tenant.DashboardUser, error) {
	var u tenant.DashboardUser
	err := s.db.QueryRow(ctx, `update users set is_operator = $2 where lower(email) = lower($1) returning id, email, is_operator`,
		email, grant).Scan(&u.ID, &u.Email, &u.IsOperator)
	if err != nil {
		return nil, pgutil.NotFound(err, fmt.Sprintf("no login with email %s", email))
	}
	action := "operator.grant"
	if !grant {
		action = "operator.revoke"
	}
	return &u, record(ctx, s.db, tenant.CommandLine, action, u.Email, nil, "command line")
}

func nullTenant(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

// CreateSession stores a dashboard session by its token's hash, valid on
// tenantID's /admin only (0: the operator host); pending sessions wait
// for the second factor.
func (s *AdminStore) CreateSession(ctx context.Context, userID, tenantID int64, tokenHash []byte, expires time.Time, pending bool) error {
	_, err := s.db.Exec(ctx, `
		with gone as (delete from admin_sessions where user_id = $1 and expires_at < now())
		insert into admin_sessions (token_hash, user_id, expires_at, tenant_id, factor_pending) values ($2, $1, $3, $4, $5)`,
		userID, tokenHash, expires, nullTenant(tenantID), pending)
	return err
}

// SessionUser returns the login of an unexpired session made for
// tenantID, with its role there, or errs.NotFound.
func (s *AdminStore) SessionUser(ctx context.Context, tokenHash []byte, tenantID int64, now time.Time) (*tenant.DashboardSession, error) {
	var ses tenant.DashboardSession
	err := s.db.QueryRow(ctx, `select `+userRoleSelect+`, a.factor_pending from admin_sessions a join users u on u.id = a.user_id
		left join admin_roles r on r.user_id = u.id and r.tenant_id = $3
		where a.token_hash = $1 and a.expires_at > $2 and coalesce(a.tenant_id, 0) = $3`, tokenHash, now, tenantID).
		Scan(append(scanUser(&ses.User), &ses.Pending)...)
	if err != nil {
		return nil, pgutil.NotFound(err, "no such session")
	}
	return &ses, nil
}

// CompleteSession marks a pending session's second factor given.
func (s *AdminStore) CompleteSession(ctx context.Context, tokenHash []byte, expires time.Time) error {
	_, err := s.db.Exec(ctx, `update admin_sessions set factor_pending = false, expires_at = $2 where token_hash = $1`, tokenHash, expires)
	return err
}

// DeleteSession ends a session.
func (s *AdminStore) DeleteSession(ctx context.Context, tokenHash []byte) error {
	_, err := s.db.Exec(ctx, `delete from admin_sessions where token_hash = $1`, tokenHash)
	return err
}

// Record writes an audit entry on its own (sign-in, sign-out).
func (s *AdminStore) Record(ctx context.Context, a tenant.Actor, action, target string, tenantID *int64, detail string) error {
	return record(ctx, s.db, a, action, target, tenantID, detail)
}

// execer is a pool or a transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func record(ctx context.Context, db execer, a tenant.Actor, action, target string, tenantID *int64, detail string) error {
	var uid *int64
	if a.UserID != 0 {
		uid = &a.UserID
	}
	_, err := db.Exec(ctx, `insert into audit_log (user_id, user_email, action, target, tenant_id, detail)
		values ($1, $2, $3, $4, $5, $6)`, uid, a.Email, action, target, tenantID, text.Cut(detail, 2000))
	return err
}

// Stats reads the dashboard's numbers at now: the instance's when
// tenantID is 0, otherwise that tenant's alone (its accounts, posts,
// deliveries sent by its accounts, inbox, reports and certificates; the
// remote accounts its accounts follow or are followed by). No query reads
// every tenant: the instance's counts are kept by triggers
// (migrations/050_instance_counts.sql), a tenant's come from indexes.
func (s *AdminStore) Stats(ctx context.Context, tenantID int64, now time.Time) (*tenant.Stats, error) {
	st := &tenant.Stats{TenantsByStatus: map[string]int64{}}
	if tenantID == 0 {
		if err := s.instanceCounts(ctx, st, now); err != nil {
			return nil, err
		}
	} else if err := s.tenantCounts(ctx, st, tenantID, now); err != nil {
		return nil, err
	}
	if err := s.queueCounts(ctx, st, tenantID, now); err != nil {
		return nil, err
	}
	return st, s.certStats(ctx, st, tenantID)
}

// instanceCounts reads the instance's numbers from instance_counts (one
// row per counter, day and writing backend; rows of ended backends are
// folded first) and the active accounts from account_stats' index.
func (s *AdminStore) instanceCounts(ctx context.Context, st *tenant.Stats, now time.Time) error {
	if _, err := s.db.Exec(ctx, `select instance_counts_fold()`); err != nil {
		return fmt.Errorf("fold instance counts: %w", err)
	}
	rows, err := s.db.Query(ctx, `select name, day, sum(n)::bigint from instance_counts group by name, day`)
	if err != nil {
		return fmt.Errorf("instance counts: %w", err)
	}
	day := now.UTC().Truncate(24 * time.Hour)
	perDay := map[time.Time]int64{}
	for rows.Next() {
		var name string
		var d time.Time
		var n int64
		if err := rows.Scan(&name, &d, &n); err != nil {
			rows.Close()
			return err
		}
		switch {
		case strings.HasPrefix(name, "tenants:"):
			if n != 0 {
				st.TenantsByStatus[strings.TrimPrefix(name, "tenants:")] = n
			}
		case name == "local_accounts":
			st.Accounts = n
		case name == "remote_accounts":
			st.RemoteAccounts = n
		case name == "media_bytes":
			st.StorageBytes = n
		case name == "certificates":
			st.Certificates = n
		case name == "posts":
			st.Posts += n
			perDay[d.UTC()] += n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for i := 29; i >= 0; i-- {
		d := day.AddDate(0, 0, -i)
		st.PostsPerDay = append(st.PostsPerDay, tenant.DayCount{Day: d, N: perDay[d]})
	}
	err = s.db.QueryRow(ctx, `select
		count(*) filter (where s.last_status_at > $1::timestamptz - interval '1 day'),
		count(*) filter (where s.last_status_at > $1::timestamptz - interval '7 days'),
		count(*)
		from account_stats s join accounts a on a.id = s.account_id
		where s.last_status_at > $1::timestamptz - interval '30 days' and a.tenant_id is not null`, now).
		Scan(&st.ActiveDay, &st.ActiveWeek, &st.ActiveMonth)
	if err != nil {
		return fmt.Errorf("active accounts: %w", err)
	}
	return nil
}

// tenantCounts reads one tenant's numbers through its indexes.
func (s *AdminStore) tenantCounts(ctx context.Context, st *tenant.Stats, tenantID int64, now time.Time) error {
	var status string
	err := s.db.QueryRow(ctx, `select status from tenants where id = $1`, tenantID).Scan(&status)
	if err != nil && err != pgx.ErrNoRows {
		return err
	}
	if status != "" {
		st.TenantsByStatus[status] = 1
	}
	err = s.db.QueryRow(ctx, `with
		mine as (select id from accounts where tenant_id = $2)
		select
		(select count(*) from mine),
		(select count(*) from mine a join account_stats s on s.account_id = a.id
			where s.last_status_at > $1::timestamptz - interval '1 day'),
		(select count(*) from mine a join account_stats s on s.account_id = a.id
			where s.last_status_at > $1::timestamptz - interval '7 days'),
		(select count(*) from mine a join account_stats s on s.account_id = a.id
			where s.last_status_at > $1::timestamptz - interval '30 days'),
		(select count(*) from statuses where tenant_id = $2),
		(select count(distinct r.id) from accounts r join follows f on r.id in (f.follower_id, f.followee_id)
			where r.tenant_id is null and (f.follower_id in (select id from mine) or f.followee_id in (select id from mine))),
		(select coalesce(sum(file_size), 0) from media_attachments where tenant_id = $2)`, now, tenantID).Scan(
		&st.Accounts, &st.ActiveDay, &st.ActiveWeek, &st.ActiveMonth, &st.Posts, &st.RemoteAccounts, &st.StorageBytes)
	if err != nil {
		return fmt.Errorf("tenant stats: %w", err)
	}
	day := now.UTC().Truncate(24 * time.Hour)
	rows, err := s.db.Query(ctx, `
		select d.day, count(s.id)
		from generate_series($1::timestamptz - interval '29 days', $1::timestamptz, interval '1 day') as d(day)
		left join statuses s on s.tenant_id = $2
			and s.published_at >= d.day and s.published_at < d.day + interval '1 day'
		group by d.day order by d.day`, day, tenantID)
	if err != nil {
		return err
	}
	st.PostsPerDay, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (tenant.DayCount, error) {
		var dc tenant.DayCount
		err := r.Scan(&dc.Day, &dc.N)
		return dc, err
	})
	return err
}

// queueCounts reads the delivery, inbox, signup and report numbers, the
// instance's when tenantID is 0.
func (s *AdminStore) queueCounts(ctx context.Context, st *tenant.Stats, tenantID int64, now time.Time) error {
	err := s.db.QueryRow(ctx, `with
		mine as (select id from accounts where tenant_id = $2)
		select
		(select count(*) from deliveries where state = 'delivered' and delivered_at > $1::timestamptz - interval '1 hour'
			and ($2 = 0 or sender_id in (select id from mine))),
		-- a delivery given up keeps next_attempt_at from its last try
		(select count(*) from deliveries where state = 'failed' and next_attempt_at > $1::timestamptz - interval '1 hour'
			and ($2 = 0 or sender_id in (select id from mine))),
		(select count(*) from deliveries where state = 'pending' and ($2 = 0 or sender_id in (select id from mine))),
		(select min(created_at) from deliveries where state = 'pending' and ($2 = 0 or sender_id in (select id from mine))),
		(select count(*) from inbox_items where processed_at is null and ($2 = 0 or tenant_id = $2)),
		(select count(*) from signups g join tenants t on t.id = g.tenant_id where t.status = 'pending' and $2 = 0),
		(select count(*) from reports where resolved_at is null and ($2 = 0 or tenant_id = $2)),
		(select count(*) from deliveries where state = 'delivered' and delivered_at > $1::timestamptz - interval '1 minute'
			and ($2 = 0 or sender_id in (select id from mine))),
		(select count(*) from deliveries where state = 'failed' and next_attempt_at > $1::timestamptz - interval '1 minute'
			and ($2 = 0 or sender_id in (select id from mine))),
		(select count(*) from inbox_items where received_at > $1::timestamptz - interval '1 minute' and ($2 = 0 or tenant_id = $2))`,
		now, tenantID).Scan(
		&st.DeliveredHour, &st.FailedHour, &st.DeliveriesPending, &st.OldestPending,
		&st.InboxPending, &st.SignupsPending, &st.OpenReports,
		&st.DeliveredMinute, &st.FailedMinute, &st.InboxMinute)
	if err != nil {
		return fmt.Errorf("queue stats: %w", err)
	}
	return nil
}

// certStats finds the next certificate to expire (and, for a tenant, how
// many of its host names have one) in cert_expiries, which triggers keep
// from the status document stored beside each certificate
// (migrations/050_instance_counts.sql). A tenant's names match their own
// certificate or a wildcard one level up (*.ROOST_BASE_DOMAIN).
func (s *AdminStore) certStats(ctx context.Context, st *tenant.Stats, tenantID int64) error {
	var next *time.Time
	var name *string
	var err error
	if tenantID == 0 {
		err = s.db.QueryRow(ctx, `select not_after, name from cert_expiries where not_after is not null
			order by not_after limit 1`).Scan(&next, &name)
	} else {
		err = s.db.QueryRow(ctx, `with names as (
			select h.name as host from hostnames h join domains d on d.domain = h.domain where d.tenant_id = $1),
		certs as (
			select e.name, e.not_after from names n join cert_expiries e
				on e.name in (n.host, '*.' || substr(n.host, strpos(n.host, '.') + 1))
			where e.not_after is not null)
		select (select count(distinct name) from certs), min(not_after), (array_agg(name order by not_after))[1] from certs`, tenantID).
			Scan(&st.Certificates, &next, &name)
	}
	if err != nil && err != pgx.ErrNoRows {
		return fmt.Errorf("certificate stats: %w", err)
	}
	st.NextCertExpiry = next
	if name != nil {
		st.NextCertName = *name
	}
	return nil
}

const tenantRowSelect = `select t.id, t.name, t.status, t.created_at,
	coalesce((select array_agg(d.domain order by d.created_at) from domains d where d.tenant_id = t.id), '{}'),
	(select count(*) from accounts a where a.tenant_id = t.id)
	from tenants t`

func scanTenantRow(r pgx.Row) (tenant.TenantRow, error) {
	var t tenant.TenantRow
	err := r.Scan(&t.ID, &t.Name, &t.Status, &t.CreatedAt, &t.Domains, &t.Accounts)
	return t, err
}

// Tenants lists tenants matching f, newest first, f.Limit at a time
// (keyset paging: f.Before is the last id of the previous page). Every
// variant is answered from an index (no read of every tenant): the id
// order from the primary key, a status from tenants_status_id, and a
// query of three or more characters from the trigram indexes on names
// and host names; a shorter query matches a host name exactly.
func (s *AdminStore) Tenants(ctx context.Context, f tenant.TenantFilter) ([]tenant.TenantRow, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 200
	}
	q := strings.ToLower(strings.TrimSpace(f.Query))
	args := []any{f.Limit}
	where := []string{}
	if f.Before > 0 {
		args = append(args, f.Before)
		where = append(where, fmt.Sprintf("t.id < $%d", len(args)))
	}
	if f.Status != "" {
		args = append(args, f.Status)
		where = append(where, fmt.Sprintf("t.status = $%d", len(args)))
	}
	switch {
	case q == "":
	case utf8.RuneCountInString(q) < 3:
		args = append(args, q)
		where = append(where, fmt.Sprintf(`t.id in (select d.tenant_id from hostnames h join domains d on d.domain = h.domain
			where h.name = $%d)`, len(args)))
	default:
		args = append(args, "%"+strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q)+"%")
		where = append(where, fmt.Sprintf(`t.id in (select id from tenants where lower(name) like $%[1]d
			union select d.tenant_id from hostnames h join domains d on d.domain = h.domain where h.name like $%[1]d)`, len(args)))
	}
	sql := tenantRowSelect
	if len(where) > 0 {
		sql += " where " + strings.Join(where, " and ")
	}
	rows, err := s.db.Query(ctx, sql+" order by t.id desc limit $1", args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (tenant.TenantRow, error) { return scanTenantRow(r) })
}

// Tenant returns one tenant with its domains and usage, or errs.NotFound.
func (s *AdminStore) Tenant(ctx context.Context, id int64) (*tenant.TenantDetail, error) {
	row, err := scanTenantRow(s.db.QueryRow(ctx, tenantRowSelect+` where t.id = $1`, id))
	if err != nil {
		return nil, pgutil.NotFound(err, fmt.Sprintf("no tenant %d", id))
	}
	t := &tenant.TenantDetail{TenantRow: row}
	err = s.db.QueryRow(ctx, `select
		(select count(*) from statuses where tenant_id = $1),
		(select count(*) from follows f join accounts a on a.id = f.followee_id where a.tenant_id = $1 and f.state = 'accepted'),
		(select count(*) from reports where tenant_id = $1 and resolved_at is null),
		(select count(*) from media_attachments where tenant_id = $1),
		(select max(published_at) from statuses where tenant_id = $1),
		coalesce((select u.email from signups g join users u on u.id = g.user_id where g.tenant_id = $1), '')`, id).
		Scan(&t.Posts, &t.Followers, &t.OpenReports, &t.Media, &t.LastPostAt, &t.SignupEmail)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `select d.domain, coalesce(d.service_domain, ''), d.verified_at,
		coalesce(c.kind, ''), coalesce(c.state, ''), c.flagged_at
		from domains d left join domain_claims c on c.domain = d.domain where d.tenant_id = $1 order by d.created_at`, id)
	if err != nil {
		return nil, err
	}
	t.DomainList, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (tenant.DomainState, error) {
		var d tenant.DomainState
		err := r.Scan(&d.Domain, &d.ServiceDomain, &d.VerifiedAt, &d.ClaimKind, &d.ClaimState, &d.FlaggedAt)
		return d, err
	})
	return t, err
}

// tenantHosts lists every host name of a tenant's domains.
func tenantHosts(ctx context.Context, tx pgx.Tx, id int64) ([]string, error) {
	rows, err := tx.Query(ctx, `select h.name from hostnames h join domains d on d.domain = h.domain where d.tenant_id = $1 order by h.name`, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// SetTenantStatus moves a tenant from one status to another (pending to
// active: approve; active to suspended and back) and records it, returning
// the tenant's host names so every node's host cache can be told. A
// tenant not in from is refused with errs.Invalid.
func (s *AdminStore) SetTenantStatus(ctx context.Context, a tenant.Actor, id int64, from, to, action string) ([]string, error) {
	var hosts []string
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var status string
		if err := tx.QueryRow(ctx, `select status from tenants where id = $1 for update`, id).Scan(&status); err != nil {
			return pgutil.NotFound(err, fmt.Sprintf("no tenant %d", id))
		}
		if status != from {
			return errs.E(errs.Invalid, "tenant %d is %s, not %s", id, status, from)
		}
		if _, err := tx.Exec(ctx, `update tenants set status = $2 where id = $1`, id, to); err != nil {
			return err
		}
		var err error
		if hosts, err = tenantHosts(ctx, tx, id); err != nil {
			return err
		}
		return record(ctx, tx, a, action, fmt.Sprintf("tenant %d", id), &id, strings.Join(hosts, ", "))
	})
	return hosts, err
}

// Audit lists the newest audit entries matching f: a tenant sees only
// its own entries; actor matches the email, target domain the end of the
// target ("@troll@remote.test", a host name).
func (s *AdminStore) Audit(ctx context.Context, f tenant.AuditFilter) ([]tenant.AuditEntry, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 200
	}
	esc := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	actor, domain := "", ""
	if f.Actor != "" {
		actor = "%" + esc.Replace(strings.ToLower(f.Actor)) + "%"
	}
	if f.TargetDomain != "" {
		domain = "%" + esc.Replace(strings.ToLower(f.TargetDomain)) + "%"
	}
	rows, err := s.db.Query(ctx, `select id, user_email, action, target, tenant_id, detail, created_at from audit_log
		where ($1 = '' or action = $1) and ($2 = 0 or tenant_id = $2)
		  and ($3 = '' or lower(user_email) like $3) and ($4 = '' or lower(target) like $4 or lower(detail) like $4)
		  and ($5::timestamptz is null or created_at >= $5) and ($6::timestamptz is null or created_at < $6)
		order by id desc limit $7`, f.Action, f.TenantID, actor, domain, f.From, f.To, f.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (tenant.AuditEntry, error) {
		var e tenant.AuditEntry
		err := r.Scan(&e.ID, &e.UserEmail, &e.Action, &e.Target, &e.TenantID, &e.Detail, &e.CreatedAt)
		return e, err
	})
}
