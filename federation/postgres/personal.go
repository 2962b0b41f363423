package postgres

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pgutil"
)

// Personal state: what one account keeps for itself and does not
// federate (bookmarks, pins, mutes, follow options, notifications
// dismissed, markers, profile and posting defaults, idempotency keys),
// behind federation.ClientStore.
var _ federation.ClientStore = (*Store)(nil)

// SetBookmark adds or removes a bookmark (idempotent). Only a status the
// account may see can be bookmarked; any other, existing or not, is
// errs.NotFound alike. Removing one's own bookmark needs no check.
func (s *Store) SetBookmark(ctx context.Context, accountID, statusID int64, on bool) error {
	if !on {
		_, err := s.db.Exec(ctx, `delete from bookmarks where account_id = $1 and status_id = $2`, accountID, statusID)
		return err
	}
	return pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if err := mustSee(ctx, tx, accountID, statusID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `insert into bookmarks (account_id, status_id) values ($1, $2) on conflict do nothing`,
			accountID, statusID)
		return err
	})
}

// SetPin pins or unpins one of the account's own statuses. Only public and
// unlisted posts (not boosts) may be pinned, at most MaxPins.
func (s *Store) SetPin(ctx context.Context, accountID, statusID int64, on bool) error {
	if !on {
		_, err := s.db.Exec(ctx, `delete from pins where account_id = $1 and status_id = $2`, accountID, statusID)
		return err
	}
	return pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var vis string
		var reblog *int64
		err := tx.QueryRow(ctx, `select visibility, reblog_of_id from statuses where id = $1 and account_id = $2 for update`,
			statusID, accountID).Scan(&vis, &reblog)
		if err != nil {
			return pgutil.NotFound(err, "only your own posts can be pinned")
		}
		if reblog != nil || (vis != "public" && vis != "unlisted") {
			return errs.E(errs.Invalid, "only public and unlisted posts can be pinned")
		}
		// Serialise pins of one account so the limit holds under races.
		if _, err := tx.Exec(ctx, `select pg_advisory_xact_lock(hashtextextended('pins', $1))`, accountID); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `select count(*) from pins where account_id = $1 and status_id <> $2`, accountID, statusID).Scan(&n); err != nil {
			return err
		}
		if n >= federation.MaxPins {
			return errs.E(errs.Invalid, "you can pin at most %d posts", federation.MaxPins)
		}
		_, err = tx.Exec(ctx, `insert into pins (account_id, status_id) values ($1, $2) on conflict do nothing`, accountID, statusID)
		return err
	})
}

// SetFollowOptions sets a follow's notify and show-reblogs options.
func (s *Store) SetFollowOptions(ctx context.Context, followerID, followeeID int64, showReblogs, notify bool) error {
	_, err := s.db.Exec(ctx, `update follows set show_reblogs = $3, notify = $4 where follower_id = $1 and followee_id = $2`,
		followerID, followeeID, showReblogs, notify)
	return err
}

// Mute mutes an account (updating an existing mute's options).
func (s *Store) Mute(ctx context.Context, accountID, targetID int64, notifications bool, until *time.Time) error {
	if accountID == targetID {
		return errs.E(errs.Invalid, "you cannot mute yourself")
	}
	_, err := s.db.Exec(ctx, `insert into mutes (account_id, target_id, notifications, expires_at) values ($1, $2, $3, $4)
		on conflict (account_id, target_id) do update set notifications = excluded.notifications, expires_at = excluded.expires_at`,
		accountID, targetID, notifications, until)
	return err
}

// Unmute lifts a mute.
func (s *Store) Unmute(ctx context.Context, accountID, targetID int64) error {
	_, err := s.db.Exec(ctx, `delete from mutes where account_id = $1 and target_id = $2`, accountID, targetID)
	return err
}

// Notification returns one of the account's notifications.
func (s *Store) Notification(ctx context.Context, accountID, id int64) (*federation.Notification, error) {
	n := &federation.Notification{}
	err := s.db.QueryRow(ctx, `select id, type, created_at, from_account_id, coalesce(status_id, 0), coalesce(group_key, '')
		from notifications where id = $1 and account_id = $2`, id, accountID).Scan(&n.ID, &n.Type, &n.CreatedAt, &n.FromAccountID, &n.StatusID, &n.GroupKey)
	if err != nil {
		return nil, pgutil.NotFound(err, "Record not found")
	}
	return n, nil
}

// DismissNotification deletes one of the account's notifications.
func (s *Store) DismissNotification(ctx context.Context, accountID, id int64) error {
	_, err := s.db.Exec(ctx, `delete from notifications where id = $1 and account_id = $2`, id, accountID)
	return err
}

// ClearNotifications deletes all of the account's notifications.
func (s *Store) ClearNotifications(ctx context.Context, accountID int64) error {
	_, err := s.db.Exec(ctx, `delete from notifications where account_id = $1`, accountID)
	return err
}

// pairs runs a paged query returning (item id, cursor) rows.
func (s *Store) pairs(ctx context.Context, p federation.Page, query string, args ...any) ([]int64, []int64, error) {
	rows, err := s.db.Query(ctx, query, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var items, cursors []int64
	for rows.Next() {
		var a, c int64
		if err := rows.Scan(&a, &c); err != nil {
			return nil, nil, err
		}
		items, cursors = append(items, a), append(cursors, c)
	}
	if p.MinID > 0 {
		slices.Reverse(items)
		slices.Reverse(cursors)
	}
	return items, cursors, rows.Err()
}

// Bookmarks pages the account's bookmarks of statuses it may still see,
// newest first.
func (s *Store) Bookmarks(ctx context.Context, accountID int64, p federation.Page) ([]int64, []int64, error) {
	q, args := pageSQL("bm.id", p, 2, []any{accountID})
	return s.pairs(ctx, p, `select bm.status_id, bm.id from bookmarks bm where bm.account_id = $1
		and `+visibleStatus("bm.status_id")+q, args...)
}

// Favourites pages the account's likes of statuses it may still see,
// newest first.
func (s *Store) Favourites(ctx context.Context, accountID int64, p federation.Page) ([]int64, []int64, error) {
	q, args := pageSQL("fv.id", p, 2, []any{accountID})
	return s.pairs(ctx, p, `select fv.status_id, fv.id from favourites fv where fv.account_id = $1
		and `+visibleStatus("fv.status_id")+q, args...)
}

// FollowRequests pages pending follows of the account.
func (s *Store) FollowRequests(ctx context.Context, accountID int64, p federation.Page) ([]int64, []int64, error) {
	q, args := pageSQL("id", p, 2, []any{accountID})
	return s.pairs(ctx, p, `select follower_id, id from follows where followee_id = $1 and state = 'pending'`+q, args...)
}

// FavouritedBy pages who liked a status the viewer may see (none for
// one they may not).
func (s *Store) FavouritedBy(ctx context.Context, viewerID, statusID int64, p federation.Page) ([]int64, []int64, error) {
	q, args := pageSQL("fv.id", p, 3, []any{viewerID, statusID})
	return s.pairs(ctx, p, `select fv.account_id, fv.id from favourites fv where fv.status_id = $2
		and `+visibleStatus("$2")+q, args...)
}

// RebloggedBy pages who boosted a status the viewer may see (publicly
// addressed boosts).
func (s *Store) RebloggedBy(ctx context.Context, viewerID, statusID int64, p federation.Page) ([]int64, []int64, error) {
	q, args := pageSQL("r.id", p, 3, []any{viewerID, statusID})
	return s.pairs(ctx, p, `select r.account_id, r.id from statuses r where r.reblog_of_id = $2
		and r.visibility in ('public', 'unlisted') and `+visibleStatus("$2")+q, args...)
}

// Markers returns the account's reading positions.
func (s *Store) Markers(ctx context.Context, accountID int64) ([]federation.Marker, error) {
	rows, err := s.db.Query(ctx, `select timeline, last_read_id, version, updated_at from markers where account_id = $1`, accountID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (federation.Marker, error) {
		var m federation.Marker
		err := r.Scan(&m.Timeline, &m.LastReadID, &m.Version, &m.UpdatedAt)
		return m, err
	})
}

// SetMarker saves a reading position, bumping its version.
func (s *Store) SetMarker(ctx context.Context, accountID int64, timeline string, lastReadID int64) (*federation.Marker, error) {
	if timeline != "home" && timeline != "notifications" {
		return nil, errs.E(errs.Invalid, "timeline must be home or notifications")
	}
	m := &federation.Marker{}
	err := s.db.QueryRow(ctx, `insert into markers (account_id, timeline, last_read_id) values ($1, $2, $3)
		on conflict (account_id, timeline) do update set last_read_id = excluded.last_read_id,
			version = markers.version + 1, updated_at = now()
		returning timeline, last_read_id, version, updated_at`, accountID, timeline, lastReadID).
		Scan(&m.Timeline, &m.LastReadID, &m.Version, &m.UpdatedAt)
	return m, err
}

// UpdateProfile applies a profile change to a local account.
func (s *Store) UpdateProfile(ctx context.Context, accountID int64, u federation.ProfileUpdate) error {
	var fields []byte
	if u.Fields != nil {
		var err error
		if fields, err = json.Marshal(*u.Fields); err != nil {
			return err
		}
	}
	var privacy *string
	if u.DefaultPrivacy != nil {
		v := string(*u.DefaultPrivacy)
		privacy = &v
	}
	tag, err := s.db.Exec(ctx, `update accounts set
		display_name = coalesce($2, display_name), note = coalesce($3, note), avatar_url = coalesce($4, avatar_url),
		header_url = coalesce($5, header_url), locked = coalesce($6, locked), bot = coalesce($7, bot),
		discoverable = coalesce($8, discoverable), fields = coalesce($9::jsonb, fields),
		default_privacy = coalesce($10, default_privacy), default_sensitive = coalesce($11, default_sensitive),
		default_language = coalesce($12, default_language)
		where id = $1 and tenant_id is not null`,
		accountID, u.DisplayName, u.Note, u.AvatarURL, u.HeaderURL, u.Locked, u.Bot, u.Discoverable, fields,
		privacy, u.DefaultSensitive, u.DefaultLanguage)
	if err != nil {
		return pgutil.Invalid(err, "the profile is not valid")
	}
	if tag.RowsAffected() == 0 {
		return errs.E(errs.NotFound, "no such local account")
	}
	return nil
}

// Preferences reads the account's posting defaults.
func (s *Store) Preferences(ctx context.Context, accountID int64) (federation.Preferences, error) {
	var p federation.Preferences
	err := s.db.QueryRow(ctx, `select default_privacy, default_sensitive, coalesce(default_language, '')
		from accounts where id = $1`, accountID).Scan(&p.Privacy, &p.Sensitive, &p.Language)
	if err != nil {
		return p, pgutil.NotFound(err, "no such account")
	}
	return p, nil
}

// IdempotentStatus finds the status an earlier request with key created.
func (s *Store) IdempotentStatus(ctx context.Context, accountID int64, key string) (int64, error) {
	var id int64
	err := s.db.QueryRow(ctx, `select status_id from status_idempotency
		where account_id = $1 and key = $2 and created_at > now() - interval '1 hour'`, accountID, key).Scan(&id)
	if err == pgx.ErrNoRows {
		return 0, nil
	}
	return id, err
}

// RememberIdempotency records which status a key created.
func (s *Store) RememberIdempotency(ctx context.Context, accountID int64, key string, statusID int64) error {
	_, err := s.db.Exec(ctx, `insert into status_idempotency (account_id, key, status_id) values ($1, $2, $3)
		on conflict (account_id, key) do update set status_id = excluded.status_id, created_at = now()`, accountID, key, statusID)
	return err
}

// StatusByID finds a status by id.
func (s *Store) StatusByID(ctx context.Context, id int64) (*federation.Status, error) {
	st, err := scanStatus(s.db.QueryRow(ctx, `select `+statusColumns+` from statuses where id = $1`, id))
	if err != nil {
		return nil, pgutil.NotFound(err, "Record not found")
	}
	return st, nil
}
