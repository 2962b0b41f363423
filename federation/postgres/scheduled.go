package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pgutil"
)

// Scheduled posts (migrations/035): each account's apart; publishing
// consumes the row in the status's own transaction (consumeScheduled).

var _ federation.ScheduleStore = (*Store)(nil)

const scheduledColumns = `id, account_id, tenant_id, scheduled_at, params`

func scanScheduled(r pgx.Row) (federation.ScheduledStatus, error) {
	var st federation.ScheduledStatus
	var params []byte
	if err := r.Scan(&st.ID, &st.AccountID, &st.TenantID, &st.ScheduledAt, &params); err != nil {
		return st, err
	}
	if err := json.Unmarshal(params, &st.Params); err != nil {
		return st, fmt.Errorf("scheduled status %d params: %w", st.ID, err)
	}
	return st, nil
}

// Schedule stores a new scheduled post within limits, reserving its media.
func (s *Store) Schedule(ctx context.Context, st federation.ScheduledStatus, limits federation.ScheduleLimits) (*federation.ScheduledStatus, error) {
	params, err := json.Marshal(st.Params)
	if err != nil {
		return nil, err
	}
	var out federation.ScheduledStatus
	err = pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		// The account's row lock serialises its schedulings, so two
		// concurrent requests cannot both pass the limits or take one upload.
		if err := lockAccount(ctx, tx, st.AccountID); err != nil {
			return err
		}
		if key := st.Params.Idempotency; key != "" {
			prev, err := scanScheduled(tx.QueryRow(ctx, `select `+scheduledColumns+` from scheduled_statuses
				where account_id = $1 and idempotency = $2`, st.AccountID, key))
			if err == nil {
				out = prev
				return nil
			}
			if err != pgx.ErrNoRows {
				return fmt.Errorf("scheduled idempotency: %w", err)
			}
		}
		if err := checkScheduleLimits(ctx, tx, st.AccountID, 0, st.ScheduledAt, limits); err != nil {
			return err
		}
		if err := checkReserved(ctx, tx, st.AccountID, st.Params.MediaIDs); err != nil {
			return err
		}
		out, err = scanScheduled(tx.QueryRow(ctx, `insert into scheduled_statuses
			(tenant_id, account_id, scheduled_at, params, media_ids, idempotency)
			values ($1, $2, $3, $4, $5, nullif($6, '')) returning `+scheduledColumns,
			st.TenantID, st.AccountID, st.ScheduledAt, params, nonNilIDs(st.Params.MediaIDs), st.Params.Idempotency))
		if err != nil {
			return fmt.Errorf("insert scheduled status: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func lockAccount(ctx context.Context, tx pgx.Tx, accountID int64) error {
	var id int64
	if err := tx.QueryRow(ctx, `select id from accounts where id = $1 for update`, accountID).Scan(&id); err != nil {
		return pgutil.NotFound(err, "Record not found")
	}
	return nil
}

// checkScheduleLimits refuses a scheduling (of a new post, except = 0,
// or of post except moved to at) past the account's limits.
func checkScheduleLimits(ctx context.Context, tx pgx.Tx, accountID, except int64, at time.Time, limits federation.ScheduleLimits) error {
	var total, day int
	day0 := at.UTC().Truncate(24 * time.Hour)
	err := tx.QueryRow(ctx, `select count(*), count(*) filter (where scheduled_at >= $3 and scheduled_at < $3 + interval '1 day')
		from scheduled_statuses where account_id = $1 and id <> $2`, accountID, except, day0).Scan(&total, &day)
	if err != nil {
		return fmt.Errorf("count scheduled statuses: %w", err)
	}
	if limits.Total > 0 && total >= limits.Total {
		return errs.E(errs.Invalid, "You have exceeded the limit of %d scheduled posts", limits.Total)
	}
	if limits.PerDay > 0 && day >= limits.PerDay {
		return errs.E(errs.Invalid, "You have exceeded the limit of %d scheduled posts for that day", limits.PerDay)
	}
	return nil
}

// checkReserved refuses media another scheduled post of the account holds.
func checkReserved(ctx context.Context, tx pgx.Tx, accountID int64, mediaIDs []int64) error {
	if len(mediaIDs) == 0 {
		return nil
	}
	var taken bool
	err := tx.QueryRow(ctx, `select exists (select 1 from scheduled_statuses
		where account_id = $1 and media_ids && $2::bigint[])`, accountID, mediaIDs).Scan(&taken)
	if err != nil {
		return fmt.Errorf("reserved media: %w", err)
	}
	if taken {
		return errs.E(errs.Invalid, "media is already attached to another scheduled post")
	}
	return nil
}

// ScheduledStatuses pages an account's scheduled posts by id.
func (s *Store) ScheduledStatuses(ctx context.Context, accountID int64, p federation.Page) ([]federation.ScheduledStatus, error) {
	q, args := pageSQL("id", p, 2, []any{accountID})
	rows, err := s.db.Query(ctx, `select `+scheduledColumns+` from scheduled_statuses where account_id = $1`+q, args...)
	if err != nil {
		return nil, fmt.Errorf("scheduled statuses: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (federation.ScheduledStatus, error) { return scanScheduled(r) })
	if err != nil {
		return nil, fmt.Errorf("scheduled statuses: %w", err)
	}
	if p.MinID > 0 {
		slices.Reverse(out)
	}
	return out, nil
}

// ScheduledStatus finds one of the account's scheduled posts.
func (s *Store) ScheduledStatus(ctx context.Context, accountID, id int64) (*federation.ScheduledStatus, error) {
	st, err := scanScheduled(s.db.QueryRow(ctx, `select `+scheduledColumns+` from scheduled_statuses
		where id = $1 and account_id = $2`, id, accountID))
	if err != nil {
		return nil, pgutil.NotFound(err, "Record not found")
	}
	return &st, nil
}

// Reschedule moves one of the account's scheduled posts, within limits.
func (s *Store) Reschedule(ctx context.Context, accountID, id int64, at time.Time, limits federation.ScheduleLimits) (*federation.ScheduledStatus, error) {
	var out federation.ScheduledStatus
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if err := lockAccount(ctx, tx, accountID); err != nil {
			return err
		}
		// A claimed post is being published (it was due): moving it now
		// could not stop that, so it is refused rather than lost.
		var claimed bool
		if err := tx.QueryRow(ctx, `select claimed_until is not null from scheduled_statuses
			where id = $1 and account_id = $2 for update`, id, accountID).Scan(&claimed); err != nil {
			return pgutil.NotFound(err, "Record not found")
		}
		if claimed {
			return errs.E(errs.Invalid, "This post is being published and can no longer be moved")
		}
		if err := checkScheduleLimits(ctx, tx, accountID, id, at, limits); err != nil {
			return err
		}
		var err error
		out, err = scanScheduled(tx.QueryRow(ctx, `update scheduled_statuses set scheduled_at = $3, claimed_until = null
			where id = $1 and account_id = $2 returning `+scheduledColumns, id, accountID, at))
		if err != nil {
			return pgutil.NotFound(err, "Record not found")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// CancelScheduled deletes one of the account's scheduled posts.
func (s *Store) CancelScheduled(ctx context.Context, accountID, id int64) error {
	tag, err := s.db.Exec(ctx, `delete from scheduled_statuses where id = $1 and account_id = $2`, id, accountID)
	if err != nil {
		return fmt.Errorf("cancel scheduled status: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return errs.E(errs.NotFound, "Record not found")
	}
	return nil
}

// ClaimDueScheduled leases due scheduled posts no other worker holds.
// The lease only saves a second worker the attempt: publishing is once
// whatever happens, by consumeScheduled. Posts of a suspended account or
// tenant are held, not claimed: they publish if it is lifted.
func (s *Store) ClaimDueScheduled(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]federation.ScheduledStatus, error) {
	rows, err := s.db.Query(ctx, `with due as (
			select id from scheduled_statuses
			where scheduled_at <= $1 and (claimed_until is null or claimed_until <= $1)
			and exists (select 1 from tenants t where t.id = scheduled_statuses.tenant_id and t.status = 'active')
			and not exists (select 1 from account_limits l where l.account_id = scheduled_statuses.account_id
				and l.suspended_at is not null and (l.tenant_id is null or l.tenant_id = scheduled_statuses.tenant_id))
			order by scheduled_at, id limit $3
			for update skip locked)
		update scheduled_statuses s set claimed_until = $2 from due where s.id = due.id
		returning s.id, s.account_id, s.tenant_id, s.scheduled_at, s.params`, now, now.Add(lease), max(limit, 1))
	if err != nil {
		return nil, fmt.Errorf("claim scheduled statuses: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (federation.ScheduledStatus, error) { return scanScheduled(r) })
	if err != nil {
		return nil, fmt.Errorf("claim scheduled statuses: %w", err)
	}
	slices.SortFunc(out, func(a, b federation.ScheduledStatus) int { return a.ScheduledAt.Compare(b.ScheduledAt) })
	return out, nil
}

// DropScheduled deletes a scheduled post that can never be published.
func (s *Store) DropScheduled(ctx context.Context, id int64) error {
	if _, err := s.db.Exec(ctx, `delete from scheduled_statuses where id = $1`, id); err != nil {
		return fmt.Errorf("drop scheduled status %d: %w", id, err)
	}
	return nil
}

// consumeScheduled deletes the scheduled post a status publishes, in the
// status's transaction: a second publication of it (another worker, or a
// retry after a crash) finds no row and rolls back. The delete waits for
// a concurrent publisher's transaction, so it sees that one's outcome.
func consumeScheduled(ctx context.Context, tx pgx.Tx, st *federation.Status) error {
	if st.ScheduledID == 0 {
		return nil
	}
	tag, err := tx.Exec(ctx, `delete from scheduled_statuses where id = $1 and account_id = $2`, st.ScheduledID, st.AccountID)
	if err != nil {
		return fmt.Errorf("consume scheduled status %d: %w", st.ScheduledID, err)
	}
	if tag.RowsAffected() == 0 {
		return errs.E(errs.Conflict, "scheduled post %d was already published or cancelled", st.ScheduledID)
	}
	return nil
}
