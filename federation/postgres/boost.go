package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pgutil"
)

var (
	_ federation.BoostFinder   = (*Store)(nil)
	_ federation.OwnActivities = (*Store)(nil)
)

// BoostByURI finds a boost by its Announce id with the status it boosts.
func (s *Store) BoostByURI(ctx context.Context, uri string) (*federation.Status, *federation.Status, error) {
	var ofID int64
	boost, err := scanStatusPlus(s.db.QueryRow(ctx, `select `+statusColumns+`, reblog_of_id from statuses
		where uri = $1 and reblog_of_id is not null`, uri), &ofID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, errs.E(errs.NotFound, "no such boost")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("boost by uri: %w", err)
	}
	of, err := scanStatus(s.db.QueryRow(ctx, `select `+statusColumns+` from statuses where id = $1`, ofID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, errs.E(errs.NotFound, "no such boost")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("boosted status: %w", err)
	}
	return boost, of, nil
}

// BoostBy is the account's boost of status ofID, or errs.NotFound.
func (s *Store) BoostBy(ctx context.Context, accountID, ofID int64) (*federation.Status, error) {
	st, err := boostBy(ctx, s.db, accountID, ofID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "no such boost")
	}
	return st, err
}

func boostBy(ctx context.Context, q rowQuerier, accountID, ofID int64) (*federation.Status, error) {
	return scanStatus(q.QueryRow(ctx, `select `+statusColumns+` from statuses
		where account_id = $1 and reblog_of_id = $2 order by id limit 1`, accountID, ofID))
}

// LocalBoost records a local account's boost once: the transaction holds
// a lock on (account, status), so two boosts at once make one row, and
// the new row's URI is made from its own id (never a post's).
func (s *Store) LocalBoost(ctx context.Context, r *federation.Status, ofID int64, uriFor func(int64) string) (*federation.Status, bool, error) {
	var out *federation.Status
	created := false
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if err := mustSee(ctx, tx, r.AccountID, ofID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `select pg_advisory_xact_lock(hashtextextended('boost:' || $1::bigint || ':' || $2::bigint, 0))`,
			r.AccountID, ofID); err != nil {
			return err
		}
		had, err := boostBy(ctx, tx, r.AccountID, ofID)
		if err == nil {
			out = had
			return nil
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		var id int64
		if err := tx.QueryRow(ctx, `select nextval(pg_get_serial_sequence('statuses', 'id'))`).Scan(&id); err != nil {
			return err
		}
		row := *r
		row.URI = uriFor(id)
		args, err := statusArgs(&row)
		if err != nil {
			return err
		}
		// reblog_of_id is set by the insert itself: triggers count and
		// notify on insert.
		out, err = scanStatus(tx.QueryRow(ctx, insertReblog+` returning `+statusColumns,
			append(append([]any{id}, args...), nullInt(r.TenantID), ofID)...))
		created = err == nil
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("boost: %w", err)
	}
	return out, created, nil
}

// LikeURI is the id the account's like of a status was sent with.
func (s *Store) LikeURI(ctx context.Context, accountID, statusID int64) (string, error) {
	return s.activityURI(ctx, `select coalesce(uri, '') from favourites where account_id = $1 and status_id = $2`, accountID, statusID)
}

// BlockURI is the id the account's block of another was sent with.
func (s *Store) BlockURI(ctx context.Context, accountID, targetID int64) (string, error) {
	return s.activityURI(ctx, `select coalesce(uri, '') from blocks where account_id = $1 and target_id = $2`, accountID, targetID)
}

func (s *Store) activityURI(ctx context.Context, query string, a, b int64) (string, error) {
	var uri string
	err := s.db.QueryRow(ctx, query, a, b).Scan(&uri)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("activity uri: %w", err)
	}
	return uri, nil
}
