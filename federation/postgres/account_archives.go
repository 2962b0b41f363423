package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation/portability/archive"
)

// AccountJobs lists an account's newest exports or imports (the web
// app's export and import pages), at most limit, scoped by tenant and
// account like Job.
func (s *Store) AccountJobs(ctx context.Context, kind archive.JobKind, tenantID, accountID int64, limit int) ([]*archive.Job, error) {
	rows, err := s.db.Query(ctx, `select `+jobColumns(kind)+` from `+jobTable(kind)+`
		where tenant_id = $1 and account_id = $2 order by id desc limit $3`, tenantID, accountID, limit)
	if err != nil {
		return nil, fmt.Errorf("account %s jobs: %w", kind, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*archive.Job, error) { return scanJob(kind, r) })
}
