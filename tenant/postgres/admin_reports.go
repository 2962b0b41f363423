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

// OpenReports lists unresolved reports, newest first, with the reported
// account and posts: tenantID 0 lists every tenant's, otherwise that
// tenant's only, with only the reported posts the tenant may see (seenBy).
func (s *AdminStore) OpenReports(ctx context.Context, tenantID int64, limit int) ([]tenant.Report, error) {
	if limit <= 0 || limit > 200 {
		limit = 100
	}
	rows, err := s.db.Query(ctx, `select r.id, r.tenant_id, t.name, r.comment, r.category, coalesce(r.uri, ''), r.created_at,
		ta.id, ta.username, ta.domain, ta.display_name, coalesce(ta.url, ''), ta.tenant_id is not null,
		ra.id, coalesce(ra.username, ''), coalesce(ra.domain, ''), coalesce(ra.display_name, ''), coalesce(ra.url, ''), ra.tenant_id is not null,
		r.status_uris, r.status_ids, coalesce(au.email, ''), coalesce(ta.uri, '')
		from reports r join tenants t on t.id = r.tenant_id
		join accounts ta on ta.id = r.target_account_id
		left join accounts ra on ra.id = r.reporter_id
		left join users au on au.id = r.assigned_user_id
		where r.resolved_at is null and ($2 = 0 or r.tenant_id = $2) order by r.id desc limit $1`, limit, tenantID)
	if err != nil {
		return nil, err
	}
	type raw struct {
		tenant.Report
		uris []string
		ids  []int64
	}
	var out []raw
	for rows.Next() {
		var r raw
		var rid *int64
		var rep tenant.Account
		var repLocal *bool
		if err := rows.Scan(&r.ID, &r.TenantID, &r.TenantName, &r.Comment, &r.Category, &r.URI, &r.CreatedAt,
			&r.Target.ID, &r.Target.Username, &r.Target.Domain, &r.Target.DisplayName, &r.Target.URL, &r.Target.Local,
			&rid, &rep.Username, &rep.Domain, &rep.DisplayName, &rep.URL, &repLocal, &r.uris, &r.ids,
			&r.AssignedTo, &r.Target.URI); err != nil {
			rows.Close()
			return nil, err
		}
		if rid != nil {
			rep.ID, rep.Local = *rid, repLocal != nil && *repLocal
			r.Reporter = &rep
		}
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	reports := make([]tenant.Report, 0, len(out))
	for _, r := range out {
		if r.Posts, err = s.reportedPosts(ctx, tenantID, r.TenantID, r.Target.ID, r.uris, r.ids); err != nil {
			return nil, err
		}
		reports = append(reports, r.Report)
	}
	return reports, nil
}

// reportedPosts are the posts of a report (of tenant reportTenant) that
// the dashboard of tenantID (0: the instance) may show: the target's
// own, and among them only those the tenant may see.
func (s *AdminStore) reportedPosts(ctx context.Context, tenantID, reportTenant, target int64, uris []string, ids []int64) ([]tenant.Post, error) {
	rows, err := s.db.Query(ctx, `select s.id, s.uri, s.content, s.summary, s.published_at, `+hiddenFor("$5")+`
		from statuses s where s.account_id = $1 and (s.uri = any($2) or s.id = any($3)) and `+seenBy("$4")+`
		order by s.published_at desc limit 20`, target, uris, ids, tenantID, reportTenant)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (tenant.Post, error) {
		var p tenant.Post
		err := row.Scan(&p.ID, &p.URI, &p.Content, &p.Summary, &p.PublishedAt, &p.Hidden)
		return p, err
	})
}

// reportActions are what resolving a report may do.
var reportActions = map[string]bool{"none": true, "silence": true, "suspend": true, "delete": true}

// closedReport is a report ResolveReports closed.
type closedReport struct {
	id, tenant, target int64
	uris               []string
	sids               []int64
}

// ResolveReports resolves the open reports among ids that tenantID may
// see (0: any) with action: "none", "silence" or "suspend" the reported
// account (at the report's tenant's scope: for another tenant's account
// or a remote one, that tenant's timelines only), or "delete" the
// reported posts within the acting scope's authority (takeDown). All in
// one transaction, one audit entry per report.
func (s *AdminStore) ResolveReports(ctx context.Context, a tenant.Actor, tenantID int64, ids []int64, action string) (*tenant.Resolution, error) {
	if !reportActions[action] {
		return nil, errs.E(errs.Invalid, "unknown report action %q", action)
	}
	res := &tenant.Resolution{}
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `update reports set resolved_at = now(), action_taken = $3
			where id = any($1) and resolved_at is null and ($2 = 0 or tenant_id = $2)
			returning id, tenant_id, target_account_id, status_uris, status_ids`, ids, tenantID, action)
		if err != nil {
			return err
		}
		done, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (closedReport, error) {
			var x closedReport
			err := r.Scan(&x.id, &x.tenant, &x.target, &x.uris, &x.sids)
			return x, err
		})
		if err != nil {
			return err
		}
		for _, d := range done {
			detail := "action " + action
			switch action {
			case "silence", "suspend":
				err = moderate(ctx, tx, a, d.tenant, d.target, action, fmt.Sprintf("report %d", d.id))
			case "delete":
				var what string
				what, err = takeDown(ctx, tx, tenantID, d, res)
				detail += ": " + what
			}
			if err != nil {
				return err
			}
			if err := record(ctx, tx, a, "report.resolve", fmt.Sprintf("report %d", d.id), &d.tenant, detail); err != nil {
				return err
			}
		}
		res.Resolved = len(done)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// takeDown acts on a closed report's posts (the target's own, and only
// those scope may see) within scope's authority, adding to res, and
// describes what it did for the audit log. The instance (scope 0) deletes
// remote posts here and returns every local one for the outbox. A tenant
// deletes its own accounts' posts (through the outbox), hides remote ones
// from its own viewers (tenant_hidden_statuses: the rows are every
// tenant's) and leaves other tenants' posts alone (Kept): their own
// moderators or an operator decide on them.
func takeDown(ctx context.Context, tx pgx.Tx, scope int64, d closedReport, res *tenant.Resolution) (string, error) {
	rows, err := tx.Query(ctx, `select s.id, s.account_id, s.uri, coalesce(s.tenant_id, 0) from statuses s
		where s.account_id = $1 and (s.uri = any($2) or s.id = any($3)) and `+seenBy("$4")+` order by s.id`,
		d.target, d.uris, d.sids, scope)
	if err != nil {
		return "", err
	}
	var remote []int64
	var local []tenant.PostRef
	kept := 0
	for rows.Next() {
		var id, account, owner int64
		var uri string
		if err := rows.Scan(&id, &account, &uri, &owner); err != nil {
			rows.Close()
			return "", err
		}
		switch {
		case owner == 0:
			remote = append(remote, id)
		case scope == 0 || owner == scope:
			local = append(local, tenant.PostRef{AccountID: account, URI: uri})
		default:
			kept++
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", err
	}
	var parts []string
	if scope == 0 {
		tag, err := tx.Exec(ctx, `delete from statuses where id = any($1) and tenant_id is null`, remote)
		if err != nil {
			return "", err
		}
		res.Deleted += int(tag.RowsAffected())
		parts = append(parts, fmt.Sprintf("%d remote post(s) deleted", tag.RowsAffected()))
	} else {
		tag, err := tx.Exec(ctx, `insert into tenant_hidden_statuses (status_id, tenant_id, report_id)
			select unnest($1::bigint[]), $2, $3 on conflict do nothing`, remote, scope, d.id)
		if err != nil {
			return "", err
		}
		res.Hidden += len(remote)
		parts = append(parts, fmt.Sprintf("%d remote post(s) hidden here (%d newly)", len(remote), tag.RowsAffected()))
	}
	res.Delete = append(res.Delete, local...)
	res.Kept += kept
	parts = append(parts, fmt.Sprintf("%d local post(s) deleted", len(local)))
	if kept > 0 {
		parts = append(parts, fmt.Sprintf("%d post(s) of another tenant left alone", kept))
	}
	return strings.Join(parts, ", "), nil
}

// AssignReport gives an open report of tenantID (0: any) to the login
// with email, which must be an operator or hold a role on the report's
// tenant; an empty email unassigns it.
func (s *AdminStore) AssignReport(ctx context.Context, a tenant.Actor, tenantID, reportID int64, email string) error {
	return pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var rt int64
		err := tx.QueryRow(ctx, `select tenant_id from reports where id = $1 and resolved_at is null and ($2 = 0 or tenant_id = $2) for update`,
			reportID, tenantID).Scan(&rt)
		if err != nil {
			return pgutil.NotFound(err, fmt.Sprintf("no open report %d", reportID))
		}
		var uid *int64
		if email != "" {
			var id int64
			err := tx.QueryRow(ctx, `select u.id from users u where lower(u.email) = lower($1)
				and (u.is_operator or exists (select 1 from admin_roles r where r.user_id = u.id and r.tenant_id = $2))`, email, rt).Scan(&id)
			if err != nil {
				return pgutil.NotFound(err, fmt.Sprintf("%s is not a moderator of this tenant", email))
			}
			uid = &id
		}
		if _, err := tx.Exec(ctx, `update reports set assigned_user_id = $2 where id = $1`, reportID, uid); err != nil {
			return err
		}
		return record(ctx, tx, a, "report.assign", fmt.Sprintf("report %d", reportID), &rt, "to "+email)
	})
}

// ReportForForward returns what forwarding an open report of tenantID
// (0: any) to the reported account's server needs, or errs.Invalid when
// the account is local. The Flag is the report's tenant's, so it names
// only the reported posts of the target that tenant may see: a report
// can name any post id, and forwarding must not tell a remote server
// about posts addressed to other tenants' accounts.
func (s *AdminStore) ReportForForward(ctx context.Context, tenantID, reportID int64) (*tenant.ForwardTarget, error) {
	var t tenant.ForwardTarget
	var uri, inbox, shared *string
	err := s.db.QueryRow(ctx, `select r.tenant_id, coalesce((select d.domain from domains d where d.tenant_id = r.tenant_id
				order by d.verified_at is null, d.created_at limit 1), ''),
			ta.uri, ta.inbox_url, ta.shared_inbox_url, r.comment,
			coalesce((select array_agg(s.uri order by s.id) from statuses s where s.account_id = r.target_account_id
				and (s.uri = any(r.status_uris) or s.id = any(r.status_ids)) and `+seenBy("r.tenant_id")+`), '{}')
		from reports r join accounts ta on ta.id = r.target_account_id
		where r.id = $1 and ($2 = 0 or r.tenant_id = $2)`, reportID, tenantID).
		Scan(&t.TenantID, &t.Host, &uri, &inbox, &shared, &t.Comment, &t.StatusURIs)
	if err != nil {
		return nil, pgutil.NotFound(err, fmt.Sprintf("no report %d", reportID))
	}
	if uri == nil || inbox == nil {
		return nil, errs.E(errs.Invalid, "report %d is about a local account: there is no remote server to tell", reportID)
	}
	t.AccountURI, t.Inbox = *uri, *inbox
	if shared != nil {
		t.SharedInbox = *shared
	}
	return &t, nil
}

// MarkForwarded records that a report (of t's tenant) was forwarded.
func (s *AdminStore) MarkForwarded(ctx context.Context, a tenant.Actor, t *tenant.ForwardTarget, reportID int64) error {
	return pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `update reports set forwarded = true where id = $1 and tenant_id = $2`, reportID, t.TenantID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errs.E(errs.NotFound, "no report %d", reportID)
		}
		return record(ctx, tx, a, "report.forward", fmt.Sprintf("report %d", reportID), &t.TenantID, t.AccountURI)
	})
}
