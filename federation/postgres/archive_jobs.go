package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation/archive"
	"github.com/roost-social/roost/internal/errs"
)

var _ archive.Jobs = (*Store)(nil)

func jobTable(kind archive.JobKind) string {
	if kind == archive.ImportJob {
		return "archive_imports"
	}
	return "archive_exports"
}

func jobColumns(kind archive.JobKind) string {
	if kind == archive.ImportJob {
		return `id, tenant_id, account_id, state, progress, total, path, 0::bigint, publish, result, coalesce(error, ''),
			created_at, finished_at, null::timestamptz`
	}
	return `id, tenant_id, account_id, state, progress, 0::bigint, coalesce(path, ''), coalesce(size, 0), false, '',
		coalesce(error, ''), created_at, finished_at, expires_at`
}

func scanJob(kind archive.JobKind, row pgx.Row) (*archive.Job, error) {
	j := &archive.Job{Kind: kind}
	err := row.Scan(&j.ID, &j.TenantID, &j.AccountID, &j.State, &j.Progress, &j.Total, &j.Path, &j.Size, &j.Publish,
		&j.Result, &j.Error, &j.CreatedAt, &j.FinishedAt, &j.ExpiresAt)
	if err == pgx.ErrNoRows {
		return nil, errs.E(errs.NotFound, "no such %s", kind)
	}
	return j, err
}

// RequestExport queues an export.
func (s *Store) RequestExport(ctx context.Context, tenantID, accountID int64) (*archive.Job, error) {
	return scanJob(archive.ExportJob, s.db.QueryRow(ctx, `insert into archive_exports (tenant_id, account_id)
		select tenant_id, id from accounts where id = $2 and tenant_id = $1 returning `+jobColumns(archive.ExportJob), tenantID, accountID))
}

// RequestImport queues an import of the archive at path.
func (s *Store) RequestImport(ctx context.Context, tenantID, accountID int64, path string, publish bool) (*archive.Job, error) {
	return scanJob(archive.ImportJob, s.db.QueryRow(ctx, `insert into archive_imports (tenant_id, account_id, path, publish)
		select tenant_id, id, $3, $4 from accounts where id = $2 and tenant_id = $1 returning `+jobColumns(archive.ImportJob),
		tenantID, accountID, path, publish))
}

// Job finds a job of an account on a tenant.
func (s *Store) Job(ctx context.Context, kind archive.JobKind, tenantID, accountID, id int64) (*archive.Job, error) {
	return scanJob(kind, s.db.QueryRow(ctx, `select `+jobColumns(kind)+` from `+jobTable(kind)+`
		where id = $1 and tenant_id = $2 and account_id = $3`, id, tenantID, accountID))
}

// ClaimJob takes the oldest pending job of a kind, or one a crashed worker
// left running for longer than stale; nil when there is none.
func (s *Store) ClaimJob(ctx context.Context, kind archive.JobKind, stale time.Duration) (*archive.Job, error) {
	t := jobTable(kind)
	j, err := scanJob(kind, s.db.QueryRow(ctx, `update `+t+` set state = 'running', claimed_at = now()
		where id = (select id from `+t+` where state = 'pending' or (state = 'running' and claimed_at < now() - $1::interval)
			order by id limit 1 for update skip locked)
		returning `+jobColumns(kind), fmt.Sprintf("%d seconds", int(stale.Seconds()))))
	if errs.CodeOf(err) == errs.NotFound {
		return nil, nil
	}
	return j, err
}

// JobProgress records progress (and keeps the claim fresh).
func (s *Store) JobProgress(ctx context.Context, kind archive.JobKind, id, progress, total int64) error {
	q := `update archive_exports set progress = $2, claimed_at = now() where id = $1 and $3::bigint >= 0`
	if kind == archive.ImportJob {
		q = `update archive_imports set progress = $2, total = $3, claimed_at = now() where id = $1`
	}
	_, err := s.db.Exec(ctx, q, id, progress, total)
	return err
}

// FinishJob records a job's end: done with its file (exports) or result
// (imports), or failed with a message.
func (s *Store) FinishJob(ctx context.Context, kind archive.JobKind, id int64, path string, size int64, result, failure string) error {
	state := archive.Done
	if failure != "" {
		state = archive.Failed
	}
	var err error
	if kind == archive.ExportJob {
		_, err = s.db.Exec(ctx, `update archive_exports set state = $2, path = nullif($3, ''), size = $4, error = nullif($5, ''),
			finished_at = now(), expires_at = now() + interval '7 days' where id = $1`, id, state, path, size, failure)
	} else {
		_, err = s.db.Exec(ctx, `update archive_imports set state = $2, result = $3, error = nullif($4, ''), finished_at = now()
			where id = $1`, id, state, result, failure)
	}
	return err
}

// ExpiredExports lists the files of exports past their expiry and forgets
// them; the caller removes the files.
func (s *Store) ExpiredExports(ctx context.Context) ([]string, error) {
	rows, err := s.db.Query(ctx, `with old as (select id, path from archive_exports where expires_at < now() and path is not null for update)
		update archive_exports e set path = null from old where e.id = old.id returning old.path`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
