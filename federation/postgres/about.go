package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pgutil"
)

// What a tenant's admins write about their server (federation.AboutStore,
// migration 039): server_rules, server_settings, terms_of_service. Every
// statement filters on the tenant, so a call for one tenant never reads
// or changes another's rows.

// lockAbout serialises one tenant's writes of one kind, so that limits
// and the rules' order hold under concurrent saves.
func lockAbout(ctx context.Context, tx pgx.Tx, kind string, tenantID int64) error {
	_, err := tx.Exec(ctx, `select pg_advisory_xact_lock(hashtextextended($1::text || ':' || $2::bigint::text, 0))`, kind, tenantID)
	return err
}

const ruleColumns = `id, tenant_id, position, text, hint`

func scanRule(r pgx.Row) (federation.ServerRule, error) {
	var x federation.ServerRule
	err := r.Scan(&x.ID, &x.TenantID, &x.Position, &x.Text, &x.Hint)
	return x, err
}

// ServerRules lists a tenant's rules in their order.
func (s *Store) ServerRules(ctx context.Context, tenantID int64) ([]federation.ServerRule, error) {
	rows, err := s.db.Query(ctx, `select `+ruleColumns+` from server_rules where tenant_id = $1 order by position, id`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("server rules: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (federation.ServerRule, error) { return scanRule(r) })
}

// ServerRule is one of a tenant's rules, or errs.NotFound.
func (s *Store) ServerRule(ctx context.Context, tenantID, id int64) (*federation.ServerRule, error) {
	x, err := scanRule(s.db.QueryRow(ctx, `select `+ruleColumns+` from server_rules where tenant_id = $1 and id = $2`, tenantID, id))
	if err != nil {
		return nil, pgutil.NotFound(err, "no such rule")
	}
	return &x, nil
}

// SaveServerRule adds a rule last (ID 0) or edits one of the tenant's.
func (s *Store) SaveServerRule(ctx context.Context, r federation.ServerRule, maxRules int) (*federation.ServerRule, error) {
	var out federation.ServerRule
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if err := lockAbout(ctx, tx, "server_rules", r.TenantID); err != nil {
			return err
		}
		var err error
		if r.ID != 0 {
			out, err = scanRule(tx.QueryRow(ctx, `update server_rules set text = $3, hint = $4, updated_at = now()
				where tenant_id = $1 and id = $2 returning `+ruleColumns, r.TenantID, r.ID, r.Text, r.Hint))
			if err != nil {
				return pgutil.Invalid(pgutil.NotFound(err, "no such rule"), "the rule is not valid")
			}
			return nil
		}
		var n int
		if err := tx.QueryRow(ctx, `select count(*) from server_rules where tenant_id = $1`, r.TenantID).Scan(&n); err != nil {
			return err
		}
		if n >= maxRules {
			return errs.E(errs.Invalid, "a server has at most %d rules", maxRules)
		}
		out, err = scanRule(tx.QueryRow(ctx, `insert into server_rules (tenant_id, position, text, hint)
			select $1, coalesce(max(position), 0) + 1, $2, $3 from server_rules where tenant_id = $1
			returning `+ruleColumns, r.TenantID, r.Text, r.Hint))
		if err != nil {
			return pgutil.Invalid(err, "the rule is not valid")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteServerRule deletes one of the tenant's rules.
func (s *Store) DeleteServerRule(ctx context.Context, tenantID, id int64) (*federation.ServerRule, error) {
	x, err := scanRule(s.db.QueryRow(ctx, `delete from server_rules where tenant_id = $1 and id = $2 returning `+ruleColumns, tenantID, id))
	if err != nil {
		return nil, pgutil.NotFound(err, "no such rule")
	}
	return &x, nil
}

// MoveServerRule swaps a rule with its neighbour, renumbering the
// tenant's rules 1..n; the first rule moved up (the last down) stays.
func (s *Store) MoveServerRule(ctx context.Context, tenantID, id int64, up bool) error {
	return pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if err := lockAbout(ctx, tx, "server_rules", tenantID); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `select id from server_rules where tenant_id = $1 order by position, id`, tenantID)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		i := indexOf(ids, id)
		if i < 0 {
			return errs.E(errs.NotFound, "no such rule")
		}
		j := i + 1
		if up {
			j = i - 1
		}
		if j >= 0 && j < len(ids) {
			ids[i], ids[j] = ids[j], ids[i]
		}
		_, err = tx.Exec(ctx, `update server_rules r set position = o.n, updated_at = now()
			from unnest($2::bigint[]) with ordinality as o(id, n)
			where r.tenant_id = $1 and r.id = o.id and r.position is distinct from o.n`, tenantID, ids)
		return err
	})
}

func indexOf(ids []int64, id int64) int {
	for i, x := range ids {
		if x == id {
			return i
		}
	}
	return -1
}

// ServerSettings are the tenant's texts and settings; the defaults when
// it wrote none.
func (s *Store) ServerSettings(ctx context.Context, tenantID int64) (*federation.ServerSettings, error) {
	v := federation.ServerSettings{DomainBlocks: federation.ShowNobody, DomainBlocksRationale: federation.ShowNobody}
	err := s.db.QueryRow(ctx, `select about, about_updated_at, privacy_policy, privacy_policy_updated_at,
		domain_blocks_visibility, domain_blocks_rationale from server_settings where tenant_id = $1`, tenantID).
		Scan(&v.About, &v.AboutUpdatedAt, &v.PrivacyPolicy, &v.PrivacyPolicyUpdated, &v.DomainBlocks, &v.DomainBlocksRationale)
	if errors.Is(err, pgx.ErrNoRows) {
		return &v, nil
	}
	if err != nil {
		return nil, fmt.Errorf("server settings: %w", err)
	}
	return &v, nil
}

// SaveServerSettings stores the tenant's settings; a text's updated time
// moves only when the text changed.
func (s *Store) SaveServerSettings(ctx context.Context, tenantID int64, v federation.ServerSettings, now time.Time) error {
	_, err := s.db.Exec(ctx, `insert into server_settings as x (tenant_id, about, about_updated_at, privacy_policy,
			privacy_policy_updated_at, domain_blocks_visibility, domain_blocks_rationale)
		values ($1, $2, case when $2 <> '' then $6::timestamptz end, $3, case when $3 <> '' then $6::timestamptz end, $4, $5)
		on conflict (tenant_id) do update set about = excluded.about, privacy_policy = excluded.privacy_policy,
			about_updated_at = case when x.about is distinct from excluded.about then $6::timestamptz else x.about_updated_at end,
			privacy_policy_updated_at = case when x.privacy_policy is distinct from excluded.privacy_policy
				then $6::timestamptz else x.privacy_policy_updated_at end,
			domain_blocks_visibility = excluded.domain_blocks_visibility,
			domain_blocks_rationale = excluded.domain_blocks_rationale`,
		tenantID, v.About, v.PrivacyPolicy, v.DomainBlocks, v.DomainBlocksRationale, now)
	if err != nil {
		return pgutil.Invalid(err, "the settings are not valid")
	}
	return nil
}

const termsColumns = `id, tenant_id, effective_date, text, changelog`

func scanTerms(r pgx.Row) (federation.TermsVersion, error) {
	var v federation.TermsVersion
	err := r.Scan(&v.ID, &v.TenantID, &v.EffectiveDate, &v.Text, &v.Changelog)
	v.EffectiveDate = v.EffectiveDate.UTC()
	return v, err
}

// TermsVersions lists the tenant's terms, newest effective date first.
func (s *Store) TermsVersions(ctx context.Context, tenantID int64) ([]federation.TermsVersion, error) {
	rows, err := s.db.Query(ctx, `select `+termsColumns+` from terms_of_service where tenant_id = $1
		order by effective_date desc`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("terms of service: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (federation.TermsVersion, error) { return scanTerms(r) })
}

// TermsVersion is one of the tenant's versions, or errs.NotFound.
func (s *Store) TermsVersion(ctx context.Context, tenantID, id int64) (*federation.TermsVersion, error) {
	v, err := scanTerms(s.db.QueryRow(ctx, `select `+termsColumns+` from terms_of_service where tenant_id = $1 and id = $2`, tenantID, id))
	if err != nil {
		return nil, pgutil.NotFound(err, "no such version of the terms")
	}
	return &v, nil
}

// SaveTermsVersion adds (ID 0) or edits a version of the tenant's terms.
func (s *Store) SaveTermsVersion(ctx context.Context, v federation.TermsVersion, maxVersions int) (*federation.TermsVersion, error) {
	var out federation.TermsVersion
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if err := lockAbout(ctx, tx, "terms_of_service", v.TenantID); err != nil {
			return err
		}
		var err error
		if v.ID != 0 {
			out, err = scanTerms(tx.QueryRow(ctx, `update terms_of_service set effective_date = $3, text = $4, changelog = $5,
				updated_at = now() where tenant_id = $1 and id = $2 returning `+termsColumns,
				v.TenantID, v.ID, v.EffectiveDate, v.Text, v.Changelog))
			if err != nil {
				return termsError(pgutil.NotFound(err, "no such version of the terms"))
			}
			return nil
		}
		var n int
		if err := tx.QueryRow(ctx, `select count(*) from terms_of_service where tenant_id = $1`, v.TenantID).Scan(&n); err != nil {
			return err
		}
		if n >= maxVersions {
			return errs.E(errs.Invalid, "a server keeps at most %d versions of its terms", maxVersions)
		}
		out, err = scanTerms(tx.QueryRow(ctx, `insert into terms_of_service (tenant_id, effective_date, text, changelog)
			values ($1, $2, $3, $4) returning `+termsColumns, v.TenantID, v.EffectiveDate, v.Text, v.Changelog))
		if err != nil {
			return termsError(err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func termsError(err error) error {
	if pgutil.IsUniqueViolation(err) {
		return errs.E(errs.Conflict, "another version takes effect on that date")
	}
	return pgutil.Invalid(err, "the terms are not valid")
}

// DeleteTermsVersion deletes one of the tenant's versions.
func (s *Store) DeleteTermsVersion(ctx context.Context, tenantID, id int64) (*federation.TermsVersion, error) {
	v, err := scanTerms(s.db.QueryRow(ctx, `delete from terms_of_service where tenant_id = $1 and id = $2 returning `+termsColumns, tenantID, id))
	if err != nil {
		return nil, pgutil.NotFound(err, "no such version of the terms")
	}
	return &v, nil
}

// PublicDomainBlocks lists the tenant's own domain blocks that limit
// anything, by domain (a read of domain_blocks, written by the
// domain-block store).
func (s *Store) PublicDomainBlocks(ctx context.Context, tenantID int64) ([]federation.PublicDomainBlock, error) {
	rows, err := s.db.Query(ctx, `select domain, severity, public_comment, obfuscate from domain_blocks
		where tenant_id = $1 and (severity <> 'noop' or reject_media) order by domain`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("public domain blocks: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (federation.PublicDomainBlock, error) {
		var b federation.PublicDomainBlock
		err := r.Scan(&b.Domain, &b.Severity, &b.Comment, &b.Obfuscate)
		return b, err
	})
}
