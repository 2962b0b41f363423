// Package postgres stores tenants, domains and users in PostgreSQL.
package postgres

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pgutil"
	"github.com/roost-social/roost/tenant"
)

// Store implements tenant.Store on a pgx pool.
type Store struct {
	db *pgxpool.Pool
}

var _ tenant.Store = (*Store)(nil)

// New returns a Store on db.
func New(db *pgxpool.Pool) *Store { return &Store{db: db} }

// CreateTenant creates a tenant and its first domain in one transaction.
func (s *Store) CreateTenant(ctx context.Context, name string, d tenant.NewDomain) (*tenant.Tenant, error) {
	t := &tenant.Tenant{Name: name}
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `insert into tenants (name) values ($1) returning id, status, created_at`, name).
			Scan(&t.ID, &t.Status, &t.CreatedAt)
		if err != nil {
			return fmt.Errorf("insert tenant: %w", err)
		}
		dom, err := insertDomain(ctx, tx, t.ID, d)
		if err != nil {
			return err
		}
		t.Domains = []tenant.Domain{*dom}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

func insertDomain(ctx context.Context, tx pgx.Tx, tenantID int64, d tenant.NewDomain) (*tenant.Domain, error) {
	dom := &tenant.Domain{Domain: d.Domain, ServiceDomain: d.ServiceDomain, TenantID: tenantID, VerificationToken: newToken()}
	err := tx.QueryRow(ctx, `
		insert into domains (domain, tenant_id, service_domain, verification_token, verified_at)
		values ($1, $2, nullif($3, ''), $4, case when $5 then now() end)
		returning verified_at, created_at`,
		d.Domain, tenantID, d.ServiceDomain, dom.VerificationToken, d.Verified).Scan(&dom.VerifiedAt, &dom.CreatedAt)
	if pe := pgutil.UniqueViolation(err); pe != nil {
		return nil, errs.E(errs.Conflict, "domain %s is already in use", takenName(pe, d))
	}
	if err != nil {
		return nil, fmt.Errorf("insert domain %s: %w", d.Domain, err)
	}
	return dom, nil
}

// takenName names the hostname a unique violation was about: the
// hostnames trigger puts it in the detail.
func takenName(pe *pgconn.PgError, d tenant.NewDomain) string {
	switch pe.ConstraintName {
	case "hostnames_pkey":
		return pe.Detail
	case "domains_service_domain_key":
		return d.ServiceDomain
	}
	return d.Domain
}

// newToken returns a random verification token for a TXT record.
func newToken() string {
	b := make([]byte, 20)
	rand.Read(b)
	return "roost-" + base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
}

// Tenants lists every tenant with its domains, oldest first.
func (s *Store) Tenants(ctx context.Context) ([]tenant.Tenant, error) {
	rows, err := s.db.Query(ctx, `
		select t.id, t.name, t.status, t.created_at,
		       d.domain, coalesce(d.service_domain, ''), d.verification_token, d.verified_at, d.created_at
		from tenants t left join domains d on d.tenant_id = t.id
		order by t.id, d.created_at, d.domain`)
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	defer rows.Close()
	var out []tenant.Tenant
	for rows.Next() {
		var t tenant.Tenant
		var d tenant.Domain
		var domain, sd, tok *string
		var created *time.Time // null when the tenant has no domain
		if err := rows.Scan(&t.ID, &t.Name, &t.Status, &t.CreatedAt, &domain, &sd, &tok, &d.VerifiedAt, &created); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].ID != t.ID {
			out = append(out, t)
		}
		if domain != nil {
			d.Domain, d.ServiceDomain, d.VerificationToken, d.TenantID, d.CreatedAt = *domain, *sd, *tok, t.ID, *created
			last := &out[len(out)-1]
			last.Domains = append(last.Domains, d)
		}
	}
	return out, rows.Err()
}

// SiteByHost resolves a handle or service domain to its Site.
func (s *Store) SiteByHost(ctx context.Context, host string) (*tenant.Site, error) {
	site := &tenant.Site{}
	err := s.db.QueryRow(ctx, `
		select t.id, t.name, t.status, d.domain, coalesce(d.service_domain, ''), t.authorized_fetch
		from hostnames h
		join domains d on d.domain = h.domain
		join tenants t on t.id = d.tenant_id
		where h.name = $1 and d.verified_at is not null and t.status in ('active', 'suspended')`, host).
		Scan(&site.TenantID, &site.TenantName, &site.Status, &site.Domain, &site.ServiceDomain, &site.AuthorizedFetch)
	if err != nil {
		return nil, pgutil.NotFound(err, "unknown host")
	}
	return site, nil
}
