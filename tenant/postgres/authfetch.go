package postgres

import (
	"context"

	"github.com/roost-social/roost/internal/errs"
)

// SetAuthorizedFetch sets a tenant's own authorized-fetch setting (issue
// 16): true or false overrides the instance's ROOST_AUTHORIZED_FETCH, nil
// follows it again. It returns the host names the tenant answers on, whose cached Sites the caller must invalidate.
func (s *Store) SetAuthorizedFetch(ctx context.Context, tenantID int64, on *bool) ([]string, error) {
	tag, err := s.db.Exec(ctx, `update tenants set authorized_fetch = $2 where id = $1 and status <> 'deleted'`, tenantID, on)
	if err != nil {
		return nil, err
	}
	if tag.RowsAffected() == 0 {
		return nil, errs.E(errs.NotFound, "no such tenant")
	}
	rows, err := s.db.Query(ctx, `
		select h.name from hostnames h join domains d on d.domain = h.domain where d.tenant_id = $1`, tenantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var hosts []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, err
		}
		hosts = append(hosts, h)
	}
	return hosts, rows.Err()
}
