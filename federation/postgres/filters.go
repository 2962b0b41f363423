package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pgutil"
)

var _ federation.FilterStore = (*Store)(nil)

var errNoFilter = errs.E(errs.NotFound, "Record not found")

// filterSelect reads filters with their keywords and statuses in one
// query; callers add the conditions on f.
const filterSelect = `select f.id, f.account_id, f.title, f.context, f.filter_action, f.expires_at,
	coalesce((select jsonb_agg(jsonb_build_object('id', k.id, 'keyword', k.keyword, 'whole_word', k.whole_word) order by k.id)
		from filter_keywords k where k.filter_id = f.id), '[]'),
	coalesce((select jsonb_agg(jsonb_build_object('id', x.id, 'status_id', x.status_id) order by x.id)
		from filter_statuses x where x.filter_id = f.id), '[]')
	from filters f `

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func readFilters(ctx context.Context, q querier, where string, args ...any) ([]*federation.Filter, error) {
	rows, err := q.Query(ctx, filterSelect+where, args...)
	if err != nil {
		return nil, fmt.Errorf("filters: %w", err)
	}
	return collectFilters(rows)
}

// ownFiltersWhere narrows filterSelect to owner $1's filters, oldest first.
const ownFiltersWhere = `where f.account_id = $1 order by f.id`

// collectFilters reads filterSelect's rows.
func collectFilters(rows pgx.Rows) ([]*federation.Filter, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*federation.Filter, error) {
		f := &federation.Filter{}
		var kws, sts []byte
		if err := r.Scan(&f.ID, &f.AccountID, &f.Title, &f.Context, &f.Action, &f.ExpiresAt, &kws, &sts); err != nil {
			return nil, err
		}
		var ks []struct {
			ID        int64  `json:"id"`
			Keyword   string `json:"keyword"`
			WholeWord bool   `json:"whole_word"`
		}
		var ss []struct {
			ID       int64 `json:"id"`
			StatusID int64 `json:"status_id"`
		}
		if err := json.Unmarshal(kws, &ks); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(sts, &ss); err != nil {
			return nil, err
		}
		for _, k := range ks {
			f.Keywords = append(f.Keywords, federation.FilterKeyword{ID: k.ID, FilterID: f.ID, Keyword: k.Keyword, WholeWord: k.WholeWord})
		}
		for _, s := range ss {
			f.Statuses = append(f.Statuses, federation.FilterStatus{ID: s.ID, FilterID: f.ID, StatusID: s.StatusID})
		}
		return f, nil
	})
}

func oneFilter(fs []*federation.Filter, err error) (*federation.Filter, error) {
	if err != nil {
		return nil, err
	}
	if len(fs) == 0 {
		return nil, errNoFilter
	}
	return fs[0], nil
}

// Filters lists the owner's filters, oldest first.
func (s *Store) Filters(ctx context.Context, ownerID int64) ([]*federation.Filter, error) {
	return readFilters(ctx, s.db, ownFiltersWhere, ownerID)
}

// Filter loads one of the owner's filters.
func (s *Store) Filter(ctx context.Context, ownerID, id int64) (*federation.Filter, error) {
	return oneFilter(readFilters(ctx, s.db, `where f.id = $1 and f.account_id = $2`, id, ownerID))
}

// FilterOfKeyword finds the owner's filter holding a keyword.
func (s *Store) FilterOfKeyword(ctx context.Context, ownerID, keywordID int64) (*federation.Filter, error) {
	return oneFilter(readFilters(ctx, s.db, `where f.account_id = $2
		and f.id = (select filter_id from filter_keywords where id = $1)`, keywordID, ownerID))
}

// FilterOfStatus finds the owner's filter holding a filtered status.
func (s *Store) FilterOfStatus(ctx context.Context, ownerID, filterStatusID int64) (*federation.Filter, error) {
	return oneFilter(readFilters(ctx, s.db, `where f.account_id = $2
		and f.id = (select filter_id from filter_statuses where id = $1)`, filterStatusID, ownerID))
}

// SaveFilter creates or updates one of the owner's filters and its
// keywords in one transaction.
func (s *Store) SaveFilter(ctx context.Context, ownerID int64, f *federation.Filter, drop []int64) (*federation.Filter, error) {
	var out *federation.Filter
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		id := f.ID
		if id == 0 {
			// The owner's row serialises creations, so the limit holds.
			if _, err := tx.Exec(ctx, `select 1 from accounts where id = $1 for no key update`, ownerID); err != nil {
				return err
			}
			err := tx.QueryRow(ctx, `insert into filters (account_id, title, context, filter_action, expires_at)
				select $1, $2, $3, $4, $5 where (select count(*) from filters where account_id = $1) < $6 returning id`,
				ownerID, f.Title, f.Context, f.Action, f.ExpiresAt, federation.MaxFilters).Scan(&id)
			if err == pgx.ErrNoRows {
				return errs.E(errs.Invalid, "Validation failed: you can have at most %d filters", federation.MaxFilters)
			}
			if err != nil {
				return err
			}
		} else {
			tag, err := tx.Exec(ctx, `update filters set title = $3, context = $4, filter_action = $5, expires_at = $6
				where id = $1 and account_id = $2`, id, ownerID, f.Title, f.Context, f.Action, f.ExpiresAt)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return errNoFilter
			}
		}
		if len(drop) > 0 {
			if _, err := tx.Exec(ctx, `delete from filter_keywords where filter_id = $1 and id = any($2)`, id, drop); err != nil {
				return err
			}
		}
		for _, k := range f.Keywords {
			if k.ID == 0 {
				if _, err := tx.Exec(ctx, `insert into filter_keywords (filter_id, keyword, whole_word) values ($1, $2, $3)`,
					id, k.Keyword, k.WholeWord); err != nil {
					return err
				}
				continue
			}
			tag, err := tx.Exec(ctx, `update filter_keywords set keyword = $3, whole_word = $4 where id = $1 and filter_id = $2`,
				k.ID, id, k.Keyword, k.WholeWord)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return errNoFilter
			}
		}
		var n int
		if err := tx.QueryRow(ctx, `select count(*) from filter_keywords where filter_id = $1`, id).Scan(&n); err != nil {
			return err
		}
		if n > federation.MaxFilterKeywords {
			return errs.E(errs.Invalid, "Validation failed: a filter has at most %d keywords", federation.MaxFilterKeywords)
		}
		var err error
		out, err = oneFilter(readFilters(ctx, tx, `where f.id = $1`, id))
		return err
	})
	if err != nil {
		return nil, pgutil.Invalid(err, "Validation failed: the filter is not valid")
	}
	return out, nil
}

// DeleteFilter deletes one of the owner's filters.
func (s *Store) DeleteFilter(ctx context.Context, ownerID, id int64) error {
	tag, err := s.db.Exec(ctx, `delete from filters where id = $1 and account_id = $2`, id, ownerID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return errNoFilter
	}
	return nil
}

// DeleteFilterKeyword deletes a keyword of one of the owner's filters.
func (s *Store) DeleteFilterKeyword(ctx context.Context, ownerID, keywordID int64) error {
	tag, err := s.db.Exec(ctx, `delete from filter_keywords k using filters f
		where k.id = $1 and f.id = k.filter_id and f.account_id = $2`, keywordID, ownerID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return errNoFilter
	}
	return nil
}

// AddFilterStatus adds a status the owner may see to one of the owner's
// filters (once); any other status, existing or not, is errs.NotFound.
func (s *Store) AddFilterStatus(ctx context.Context, ownerID, filterID, statusID int64) (*federation.FilterStatus, error) {
	fs := &federation.FilterStatus{FilterID: filterID, StatusID: statusID}
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var n int
		err := tx.QueryRow(ctx, `select (select count(*) from filter_statuses where filter_id = f.id) from filters f
			where f.id = $1 and f.account_id = $2 for update`, filterID, ownerID).Scan(&n)
		if err != nil {
			return pgutil.NotFound(err, "Record not found")
		}
		if err := mustSee(ctx, tx, ownerID, statusID); err != nil {
			return err
		}
		if n >= federation.MaxFilterStatuses {
			return errs.E(errs.Invalid, "Validation failed: a filter has at most %d statuses", federation.MaxFilterStatuses)
		}
		err = tx.QueryRow(ctx, `insert into filter_statuses (filter_id, status_id) values ($1, $2)
			on conflict (filter_id, status_id) do update set status_id = excluded.status_id returning id`,
			filterID, statusID).Scan(&fs.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return fs, nil
}

// DeleteFilterStatus removes a status from one of the owner's filters.
func (s *Store) DeleteFilterStatus(ctx context.Context, ownerID, filterStatusID int64) error {
	tag, err := s.db.Exec(ctx, `delete from filter_statuses x using filters f
		where x.id = $1 and f.id = x.filter_id and f.account_id = $2`, filterStatusID, ownerID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return errNoFilter
	}
	return nil
}
