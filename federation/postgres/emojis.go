package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pgutil"
)

var _ federation.EmojiStore = (*Store)(nil)

const emojiColumns = `id, tenant_id, shortcode, content_type, visible_in_picker, coalesce(category, ''), created_at`

func scanEmoji(r pgx.Row, extra ...any) (federation.CustomEmoji, error) {
	var e federation.CustomEmoji
	err := r.Scan(append([]any{&e.ID, &e.TenantID, &e.Shortcode, &e.ContentType, &e.VisibleInPicker, &e.Category, &e.CreatedAt}, extra...)...)
	return e, err
}

func (s *Store) emojis(ctx context.Context, query string, args ...any) ([]federation.CustomEmoji, error) {
	rows, err := s.db.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (federation.CustomEmoji, error) { return scanEmoji(r) })
}

// CustomEmojis lists a tenant's emojis by shortcode.
func (s *Store) CustomEmojis(ctx context.Context, tenantID int64) ([]federation.CustomEmoji, error) {
	return s.emojis(ctx, `select `+emojiColumns+` from custom_emojis where tenant_id = $1 order by shortcode`, tenantID)
}

// EmojisByShortcode finds the given tenants' emojis with these shortcodes.
func (s *Store) EmojisByShortcode(ctx context.Context, tenantIDs []int64, shortcodes []string) ([]federation.CustomEmoji, error) {
	if len(tenantIDs) == 0 || len(shortcodes) == 0 {
		return nil, nil
	}
	return s.emojis(ctx, `select `+emojiColumns+` from custom_emojis where tenant_id = any($1) and shortcode = any($2)`,
		tenantIDs, shortcodes)
}

// EmojiImage loads one of a tenant's emojis with its image.
func (s *Store) EmojiImage(ctx context.Context, tenantID int64, shortcode string) (*federation.CustomEmoji, error) {
	var img []byte
	e, err := scanEmoji(s.db.QueryRow(ctx, `select `+emojiColumns+`, image from custom_emojis
		where tenant_id = $1 and shortcode = $2`, tenantID, shortcode), &img)
	if err != nil {
		return nil, pgutil.NotFound(err, "no such emoji")
	}
	e.Image = img
	return &e, nil
}

// AddCustomEmoji adds a tenant's emoji, replacing one with its shortcode.
func (s *Store) AddCustomEmoji(ctx context.Context, e federation.CustomEmoji) (*federation.CustomEmoji, error) {
	if !federation.ValidShortcode(e.Shortcode) {
		return nil, errs.E(errs.Invalid, "a shortcode is 2 to 64 letters, digits or underscores")
	}
	out, err := scanEmoji(s.db.QueryRow(ctx, `insert into custom_emojis (tenant_id, shortcode, content_type, image, visible_in_picker, category)
		values ($1, $2, $3, $4, $5, nullif($6, ''))
		on conflict (tenant_id, shortcode) do update set content_type = excluded.content_type, image = excluded.image,
			visible_in_picker = excluded.visible_in_picker, category = excluded.category, created_at = now()
		returning `+emojiColumns, e.TenantID, e.Shortcode, e.ContentType, e.Image, e.VisibleInPicker, e.Category))
	if err != nil {
		return nil, pgutil.Invalid(err, "the emoji is not valid (PNG, GIF or WebP, at most 256 KiB)")
	}
	return &out, nil
}
