package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pgutil"
)

// DescribeMedia changes an attachment of the account that is unattached
// or on statusID (a status edit's media_attributes).
func (s *Store) DescribeMedia(ctx context.Context, accountID, statusID, id int64, description string, focusX, focusY float64) error {
	tag, err := s.db.Exec(ctx, `update media_attachments set description = $4, focus_x = $5, focus_y = $6
		where id = $1 and account_id = $2 and (status_id is null or status_id = $3)`,
		id, accountID, statusID, description, focusX, focusY)
	if err != nil {
		return pgutil.Invalid(fmt.Errorf("describe media: %w", err), "the description or focus is not valid")
	}
	if tag.RowsAffected() == 0 {
		return errs.E(errs.NotFound, "Record not found")
	}
	return nil
}

// DeleteMedia removes an unattached attachment of the account.
func (s *Store) DeleteMedia(ctx context.Context, accountID, id int64) ([]string, error) {
	var file string
	var thumb *string
	// An upload a scheduled post reserves is in use as much as an attached one.
	err := s.db.QueryRow(ctx, `delete from media_attachments m where id = $1 and account_id = $2 and status_id is null
		and not exists (select 1 from scheduled_statuses s where s.account_id = $2 and m.id = any(s.media_ids))
		returning file_key, thumb_key`, id, accountID).Scan(&file, &thumb)
	if errors.Is(err, pgx.ErrNoRows) {
		var attached bool
		if s.db.QueryRow(ctx, `select m.status_id is not null or exists (select 1 from scheduled_statuses s
				where s.account_id = $2 and m.id = any(s.media_ids))
			from media_attachments m where m.id = $1 and m.account_id = $2`,
			id, accountID).Scan(&attached) == nil && attached {
			return nil, errs.E(errs.Invalid, "Media attachment is currently used by a status")
		}
		return nil, errs.E(errs.NotFound, "Record not found")
	}
	if err != nil {
		return nil, fmt.Errorf("delete media: %w", err)
	}
	keys := []string{file}
	if thumb != nil {
		keys = append(keys, *thumb)
	}
	return keys, nil
}
