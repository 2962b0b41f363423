package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/internal/errs"
)

// errNoStatus answers for a status that does not exist and for one the
// account may not see, alike: answering them differently would tell
// anyone that a hidden post exists (issue 14, finding 3). The API answers
// a missing status with the same code and message.
var errNoStatus = errs.E(errs.NotFound, "Record not found")

// rowQuerier is the pool or a write's transaction.
type rowQuerier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// canSee applies the one visibility rule (visible, views.go) to one status
// on q; a status that does not exist is not seen.
func canSee(ctx context.Context, q rowQuerier, viewerID, statusID int64) (bool, error) {
	var ok bool
	err := q.QueryRow(ctx, `select exists (select 1 from statuses s where s.id = $2 and `+visible+`)`,
		viewerID, statusID).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("visibility: %w", err)
	}
	return ok, nil
}

// mustSee is canSee for writes that link an account to a status
// (favourite, boost, bookmark, vote, filter, report, reply): errNoStatus
// unless the account may see it. Called inside the write's transaction,
// so no caller of the store can skip it.
func mustSee(ctx context.Context, q rowQuerier, accountID, statusID int64) error {
	ok, err := canSee(ctx, q, accountID, statusID)
	if err != nil {
		return err
	}
	if !ok {
		return errNoStatus
	}
	return nil
}

// mustSeeURI is mustSee for a status named by URI; it returns the id.
func mustSeeURI(ctx context.Context, q rowQuerier, accountID int64, uri string) (int64, error) {
	var id int64
	err := q.QueryRow(ctx, `select s.id from statuses s where s.uri = $2 and `+visible, accountID, uri).Scan(&id)
	if err == pgx.ErrNoRows {
		return 0, errNoStatus
	}
	if err != nil {
		return 0, fmt.Errorf("visibility: %w", err)
	}
	return id, nil
}

// CanSee reports whether viewerID (0: anonymous) may see status statusID
// by the one rule every query uses; false for a status that does not
// exist, so a caller answers both alike. Code that links an account to a
// status through its own SQL (archive import) must ask this first, or
// use VisibleStatusIDs for a batch.
func (s *Store) CanSee(ctx context.Context, viewerID, statusID int64) (bool, error) {
	return canSee(ctx, s.db, viewerID, statusID)
}

// VisibleStatusIDs keeps, in their order, the ids viewerID may see; ids
// of statuses that do not exist are dropped like hidden ones.
func (s *Store) VisibleStatusIDs(ctx context.Context, viewerID int64, ids []int64) ([]int64, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := s.db.Query(ctx, `select s.id from unnest($2::bigint[]) with ordinality as q(qid, ord)
		join statuses s on s.id = q.qid where `+visible+` order by q.ord`, viewerID, ids)
	if err != nil {
		return nil, fmt.Errorf("visible statuses: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// visibleStatus is a condition on a status id column (col, never input):
// the status exists and viewer $1 may see it. Paged queries put it before
// their LIMIT, so a page never spends a row on what is then hidden. The
// "offset 0" keeps it a lookup by primary key per row of the list being
// paged: made a join, the planner may walk statuses from the newest down
// to a quiet feed's entries (every status newer than them).
func visibleStatus(col string) string {
	return `exists (select 1 from statuses s where s.id = ` + col + ` and ` + visible + ` offset 0)`
}
