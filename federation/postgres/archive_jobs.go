package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation/portability/archive"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pgutil"
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
		return `id, tenant_id, account_id, state, progress, total, path, 0::bigint, publish, left(result, ` + maxResult + `),
			left(coalesce(error, ''), ` + maxJobError + `), created_at, finished_at, null::timestamptz,
			follows_queued::bigint, follows_sent::bigint, follows_failed::bigint`
	}
	return `id, tenant_id, account_id, state, progress, 0::bigint, coalesce(path, ''), coalesce(size, 0), false, '',
		left(coalesce(error, ''), ` + maxJobError + `), created_at, finished_at, expires_at, 0::bigint, 0::bigint, 0::bigint`
}

func scanJob(kind archive.JobKind, row pgx.Row) (*archive.Job, error) {
	j := &archive.Job{Kind: kind}
	err := row.Scan(&j.ID, &j.TenantID, &j.AccountID, &j.State, &j.Progress, &j.Total, &j.Path, &j.Size, &j.Publish,
		&j.Result, &j.Error, &j.CreatedAt, &j.FinishedAt, &j.ExpiresAt, &j.FollowsQueued, &j.FollowsSent, &j.FollowsFailed)
	if err == pgx.ErrNoRows {
		return nil, errs.E(errs.NotFound, "no such %s", kind)
	}
	return j, err
}

// The bounds of a job's result and error, in characters (migration 027).
const (
	maxResult   = "8000"
	maxJobError = "2000"
)

// RequestExport queues an export, unless the account has one queued,
// running, or built within the last day: that one is returned instead, so
// asking again and again builds (and keeps on disk) one archive, not many.
// The account's row is locked, so concurrent requests queue one.
func (s *Store) RequestExport(ctx context.Context, tenantID, accountID int64) (*archive.Job, error) {
	var j *archive.Job
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `select 1 from accounts where id = $1 and tenant_id = $2 for no key update`, accountID, tenantID); err != nil {
			return err
		}
		var err error
		j, err = scanJob(archive.ExportJob, tx.QueryRow(ctx, `select `+jobColumns(archive.ExportJob)+` from archive_exports
			where account_id = $1 and tenant_id = $2 and (state in ('pending', 'running')
				or (state = 'done' and path is not null and created_at > now() - interval '1 day'))
			order by id desc limit 1`, accountID, tenantID))
		if errs.CodeOf(err) != errs.NotFound {
			return err
		}
		j, err = scanJob(archive.ExportJob, tx.QueryRow(ctx, `insert into archive_exports (tenant_id, account_id)
			select tenant_id, id from accounts where id = $2 and tenant_id = $1 returning `+jobColumns(archive.ExportJob), tenantID, accountID))
		return err
	})
	return j, err
}

// RequestImport queues an import of the archive at path; while another
// import of the account is queued or running it is refused
// (errs.Conflict): each waits on disk.
func (s *Store) RequestImport(ctx context.Context, tenantID, accountID int64, path string, publish bool) (*archive.Job, error) {
	j, err := scanJob(archive.ImportJob, s.db.QueryRow(ctx, `insert into archive_imports (tenant_id, account_id, path, publish)
		select tenant_id, id, $3, $4 from accounts where id = $2 and tenant_id = $1 returning `+jobColumns(archive.ImportJob),
		tenantID, accountID, path, publish))
	if pgutil.IsUniqueViolation(err) {
		return nil, errs.E(errs.Conflict, "an import of this account is already queued or running: wait until it is done")
	}
	return j, err
}

// StartImport records an import run at once by its caller (roost account
// import), not queued: it is claimed already. An earlier run of the
// command that was stopped left its job running: running again is how the
// operator resumes it, so that one ends; a queued upload still conflicts.
func (s *Store) StartImport(ctx context.Context, tenantID, accountID int64, path string, publish bool) (*archive.Job, error) {
	var j *archive.Job
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `update archive_imports set state = 'failed', finished_at = now(),
			error = 'stopped before the end; run again (imports resume where they stopped)'
			where account_id = $1 and state = 'running' and path = ''`, accountID); err != nil {
			return err
		}
		var err error
		j, err = scanJob(archive.ImportJob, tx.QueryRow(ctx, `insert into archive_imports (tenant_id, account_id, path, publish, state, claimed_at)
			select tenant_id, id, $3, $4, 'running', now() from accounts where id = $2 and tenant_id = $1 returning `+jobColumns(archive.ImportJob),
			tenantID, accountID, path, publish))
		return err
	})
	if pgutil.IsUniqueViolation(err) {
		return nil, errs.E(errs.Conflict, "an import of this account is already queued or running: wait until it is done")
	}
	return j, err
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

// ReleaseJob sets a job its worker claimed but will not run back to
// pending (only while it is still running: never undoes an end).
func (s *Store) ReleaseJob(ctx context.Context, kind archive.JobKind, id int64) error {
	_, err := s.db.Exec(ctx, `update `+jobTable(kind)+` set state = 'pending' where id = $1 and state = 'running'`, id)
	return err
}

// TouchJob keeps a running job's claim fresh (its worker's heartbeat).
func (s *Store) TouchJob(ctx context.Context, kind archive.JobKind, id int64) error {
	_, err := s.db.Exec(ctx, `update `+jobTable(kind)+` set claimed_at = now() where id = $1 and state = 'running'`, id)
	return err
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
		_, err = s.db.Exec(ctx, `update archive_exports set state = $2, path = nullif($3, ''), size = $4, error = nullif(left($5, `+maxJobError+`), ''),
			finished_at = now(), expires_at = now() + interval '7 days' where id = $1`, id, state, path, size, failure)
	} else {
		// The summary is bounded already; the cut is a second line.
		_, err = s.db.Exec(ctx, `update archive_imports set state = $2, result = left($3, `+maxResult+`),
			error = nullif(left($4, `+maxJobError+`), ''), finished_at = now()
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
