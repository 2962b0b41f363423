package postgres

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pgutil"
)

var (
	_ federation.DomainBlockStore = (*Store)(nil)
	_ federation.ReportStore      = (*Store)(nil)
)

// DomainBlocks pages the account's blocked domains, newest first.
func (s *Store) DomainBlocks(ctx context.Context, accountID int64, p federation.Page) ([]string, []int64, error) {
	q, args := pageSQL("id", p, 2, []any{accountID})
	rows, err := s.db.Query(ctx, `select domain, id from account_domain_blocks where account_id = $1`+q, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var domains []string
	var cursors []int64
	for rows.Next() {
		var d string
		var c int64
		if err := rows.Scan(&d, &c); err != nil {
			return nil, nil, err
		}
		domains, cursors = append(domains, d), append(cursors, c)
	}
	if p.MinID > 0 {
		slices.Reverse(domains)
		slices.Reverse(cursors)
	}
	return domains, cursors, rows.Err()
}

// BlockDomain hides a domain from the account (idempotent).
func (s *Store) BlockDomain(ctx context.Context, accountID int64, domain string) error {
	_, err := s.db.Exec(ctx, `insert into account_domain_blocks (account_id, domain)
		select $1, $2 where (select count(*) from account_domain_blocks where account_id = $1) < $3
		on conflict (account_id, domain) do nothing`, accountID, domain, federation.MaxDomainBlocks)
	return pgutil.Invalid(err, "Validation failed: domain is not a valid domain name")
}

// UnblockDomain lifts a domain block (idempotent).
func (s *Store) UnblockDomain(ctx context.Context, accountID int64, domain string) error {
	_, err := s.db.Exec(ctx, `delete from account_domain_blocks where account_id = $1 and domain = $2`, accountID, domain)
	return err
}

// Hidden reads the account's blocked domains and exclusive list members
// in one round trip.
func (s *Store) Hidden(ctx context.Context, accountID int64) ([]string, []int64, error) {
	var domains []string
	var exclusive []int64
	err := s.db.QueryRow(ctx, hiddenSQL, accountID).Scan(&domains, &exclusive)
	return domains, exclusive, err
}

// hiddenSQL reads account $1's blocked domains and exclusive list members.
const hiddenSQL = `select
		array(select domain from account_domain_blocks where account_id = $1),
		array(select distinct la.account_id from list_accounts la join lists l on l.id = la.list_id
			where l.account_id = $1 and l.exclusive)`

// FollowersOn lists the account's remote followers and follow requests
// on domain or its subdomains.
func (s *Store) FollowersOn(ctx context.Context, accountID int64, domain string) ([]int64, error) {
	rows, err := s.db.Query(ctx, `select f.follower_id from follows f join accounts a on a.id = f.follower_id
		where f.followee_id = $1 and a.tenant_id is null and (a.domain = $2 or a.domain like '%.' || $2)`, accountID, domain)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// FileReport stores a report for the reported account's tenant and, when
// that is not the reporter's, a copy for the reporter's tenant. The
// other tenant's copy leaves the reporter out, as a forwarded report
// does between servers.
func (s *Store) FileReport(ctx context.Context, r *federation.UserReport) error {
	return pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var ids []int64
		var uris []string
		// Only the target's statuses the reporter may see can be attached.
		rows, err := tx.Query(ctx, `select s.id, s.uri from statuses s where s.id = any($2) and s.account_id = $3
			and `+visible+` order by s.id`, r.ReporterID, r.StatusIDs, r.TargetID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			var uri string
			if err := rows.Scan(&id, &uri); err != nil {
				return err
			}
			ids, uris = append(ids, id), append(uris, uri)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		r.StatusIDs = ids
		insert := func(tenantID, reporterID int64, forwarded bool) (int64, error) {
			var id int64
			err := tx.QueryRow(ctx, `insert into reports (tenant_id, reporter_id, target_account_id, status_uris, comment,
				category, forwarded, rule_ids, status_ids) values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning id, created_at`,
				tenantID, nullInt(reporterID), r.TargetID, strs(uris), r.Comment, r.Category, forwarded,
				nonNilIDs(r.RuleIDs), nonNilIDs(ids)).Scan(&id, &r.CreatedAt)
			return id, pgutil.Invalid(err, "Validation failed: the report is not valid")
		}
		if r.ID, err = insert(r.ReporterTenantID, r.ReporterID, r.Forwarded); err != nil {
			return err
		}
		if r.TargetTenantID != r.ReporterTenantID && r.TargetTenantID != 0 {
			if _, err = insert(r.TargetTenantID, 0, false); err != nil {
				return err
			}
		}
		return queueForward(ctx, tx, r)
	})
}

// queueForward writes a forwarded report's Flag as a delivery from the
// reporter, signed by its site's instance actor (acting_host), in the
// report's transaction: the delivery workers send it, after a restart too.
func queueForward(ctx context.Context, tx pgx.Tx, r *federation.UserReport) error {
	f := r.Forward
	if f == nil || !r.Forwarded {
		return nil
	}
	if f.ActingHost == "" || f.Inbox == "" {
		return errs.E(errs.Invalid, "a forwarded report needs a site and an inbox")
	}
	ids, err := insertDeliveries(ctx, tx, r.ReporterID, f.ActingHost, f.ActivityID, f.Body, []string{f.Inbox}, true)
	if err != nil {
		return fmt.Errorf("queue report forward: %w", err)
	}
	if len(ids) > 0 {
		f.DeliveryID = ids[0]
	}
	return nil
}

func nonNilIDs(ids []int64) []int64 {
	if ids == nil {
		return []int64{}
	}
	return ids
}
