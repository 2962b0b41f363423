// Package postgres keeps media records (media_attachments) in PostgreSQL.
// Every query is scoped by the owning account or tenant.
package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/federation/social/media"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pgutil"
)

// Store implements media.Store on a pgx pool.
type Store struct {
	db *pgxpool.Pool
}

var _ media.Store = (*Store)(nil)

// New returns a Store on db.
func New(db *pgxpool.Pool) *Store { return &Store{db: db} }

const columns = `id, tenant_id, account_id, coalesce(status_id, 0), type, content_type, file_key, file_size,
	coalesce(width, 0), coalesce(height, 0), coalesce(thumb_key, ''), coalesce(thumb_content_type, ''),
	coalesce(thumb_width, 0), coalesce(thumb_height, 0), coalesce(blurhash, ''), focus_x, focus_y, description,
	state, created_at`

func scan(row pgx.Row) (*media.Attachment, error) {
	a := &media.Attachment{}
	var fx, fy float32
	err := row.Scan(&a.ID, &a.TenantID, &a.AccountID, &a.StatusID, &a.Kind, &a.ContentType, &a.FileKey, &a.Size,
		&a.Width, &a.Height, &a.ThumbKey, &a.ThumbContentType, &a.ThumbWidth, &a.ThumbHeight, &a.Blurhash,
		&fx, &fy, &a.Description, &a.State, &a.CreatedAt)
	a.FocusX, a.FocusY = float64(fx), float64(fy)
	return a, err
}

func nullable[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

// CreateMedia stores a new attachment. The database checks again that
// the account is on the tenant.
func (s *Store) CreateMedia(ctx context.Context, a *media.Attachment) (*media.Attachment, error) {
	out, err := scan(s.db.QueryRow(ctx, `insert into media_attachments (tenant_id, account_id, type, content_type,
		file_key, file_size, width, height, thumb_key, thumb_content_type, thumb_width, thumb_height, blurhash,
		focus_x, focus_y, description, state)
		values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
		returning `+columns,
		a.TenantID, a.AccountID, string(a.Kind), a.ContentType, a.FileKey, a.Size, nullable(a.Width), nullable(a.Height),
		nullable(a.ThumbKey), nullable(a.ThumbContentType), nullable(a.ThumbWidth), nullable(a.ThumbHeight),
		nullable(a.Blurhash), a.FocusX, a.FocusY, a.Description, string(a.State)))
	if err != nil {
		return nil, pgutil.Invalid(fmt.Errorf("create media: %w", err), "the upload is not valid")
	}
	return out, nil
}

// MediaByIDs returns the account's attachments among ids.
func (s *Store) MediaByIDs(ctx context.Context, accountID int64, ids []int64) ([]*media.Attachment, error) {
	rows, err := s.db.Query(ctx, `select `+columns+` from media_attachments
		where account_id = $1 and id = any($2::bigint[])`, accountID, ids)
	if err != nil {
		return nil, fmt.Errorf("media by ids: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*media.Attachment, error) { return scan(r) })
}

// UpdateMedia changes an unattached attachment of the account.
func (s *Store) UpdateMedia(ctx context.Context, accountID, id int64, description string, focusX, focusY float64) (*media.Attachment, error) {
	out, err := scan(s.db.QueryRow(ctx, `update media_attachments set description = $3, focus_x = $4, focus_y = $5
		where id = $1 and account_id = $2 and status_id is null returning `+columns,
		id, accountID, description, focusX, focusY))
	if errors.Is(err, pgx.ErrNoRows) {
		var attached bool
		if s.db.QueryRow(ctx, `select status_id is not null from media_attachments where id = $1 and account_id = $2`,
			id, accountID).Scan(&attached) == nil && attached {
			return nil, errs.E(errs.Invalid, "the media is attached to a post already: edit the post instead")
		}
		return nil, errs.E(errs.NotFound, "Record not found")
	}
	if err != nil {
		return nil, pgutil.Invalid(fmt.Errorf("update media: %w", err), "the description or focus is not valid")
	}
	return out, nil
}

// MediaFile returns the content type of one of the tenant's files.
func (s *Store) MediaFile(ctx context.Context, tenantID int64, key string) (string, error) {
	var ct string
	err := s.db.QueryRow(ctx, `select case when file_key = $2 then content_type else thumb_content_type end
		from media_attachments where tenant_id = $1 and (file_key = $2 or thumb_key = $2) and state = 'ready'`,
		tenantID, key).Scan(&ct)
	if err != nil {
		return "", pgutil.NotFound(err, "no such file")
	}
	return ct, nil
}
