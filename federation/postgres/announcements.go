package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pgutil"
)

// Announcements (migrations/035): the operator's (tenant_id null) are
// read on every tenant, a tenant's on that tenant alone; reactions are
// kept with the reader's tenant and counted per tenant.

var _ federation.AnnouncementStore = (*Store)(nil)

// maxActiveAnnouncements bounds what one reader's list returns.
const maxActiveAnnouncements = 100

const announcementColumns = `a.id, coalesce(a.tenant_id, 0), a.text, a.content, a.starts_at, a.ends_at, a.all_day,
	a.published_at, a.created_at, a.updated_at`

func scanAnnouncement(r pgx.Row, extra ...any) (federation.Announcement, error) {
	var a federation.Announcement
	err := r.Scan(append([]any{&a.ID, &a.TenantID, &a.Text, &a.Content, &a.StartsAt, &a.EndsAt, &a.AllDay,
		&a.PublishedAt, &a.CreatedAt, &a.UpdatedAt}, extra...)...)
	return a, err
}

// shownTo is the condition of an announcement (alias a) a reader of
// tenant $1 sees at $3: published for that tenant or the instance, not
// ended.
const shownTo = `(a.tenant_id is null or a.tenant_id = $1) and a.published_at is not null
	and a.published_at <= $3 and (a.ends_at is null or a.ends_at > $3)`

// ActiveAnnouncements lists what a reader of tenantID sees now, with
// whether they read each and their tenant's reactions.
func (s *Store) ActiveAnnouncements(ctx context.Context, tenantID, accountID int64, now time.Time, withDismissed bool) ([]federation.AnnouncementView, error) {
	rows, err := s.db.Query(ctx, `select `+announcementColumns+`,
			exists (select 1 from announcement_dismissals d where d.announcement_id = a.id and d.account_id = $2)
		from announcements a where `+shownTo+`
		and ($4 or not exists (select 1 from announcement_dismissals d where d.announcement_id = a.id and d.account_id = $2))
		order by coalesce(a.starts_at, a.published_at), a.id limit $5`, tenantID, accountID, now, withDismissed, maxActiveAnnouncements)
	if err != nil {
		return nil, fmt.Errorf("announcements: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (federation.AnnouncementView, error) {
		var v federation.AnnouncementView
		a, err := scanAnnouncement(r, &v.Read)
		v.Announcement = a
		return v, err
	})
	if err != nil || len(out) == 0 {
		return out, err
	}
	return out, s.addReactions(ctx, tenantID, accountID, out)
}

// addReactions fills each view's reactions by tenantID's people.
func (s *Store) addReactions(ctx context.Context, tenantID, accountID int64, views []federation.AnnouncementView) error {
	ids := make([]int64, len(views))
	at := map[int64]int{}
	for i, v := range views {
		ids[i], at[v.ID] = v.ID, i
	}
	rows, err := s.db.Query(ctx, `select announcement_id, name, count(*), bool_or(account_id = $2)
		from announcement_reactions where tenant_id = $1 and announcement_id = any($3)
		group by announcement_id, name order by announcement_id, min(created_at), name`, tenantID, accountID, ids)
	if err != nil {
		return fmt.Errorf("announcement reactions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var r federation.AnnouncementReaction
		if err := rows.Scan(&id, &r.Name, &r.Count, &r.Me); err != nil {
			return fmt.Errorf("announcement reactions: %w", err)
		}
		views[at[id]].Reactions = append(views[at[id]].Reactions, r)
	}
	return rows.Err()
}

// shown checks, in tx, that a reader of tenantID sees announcement id
// now, locking it so reactions to it are counted one at a time.
func shown(ctx context.Context, tx pgx.Tx, tenantID, id int64, now time.Time) error {
	var found int64
	err := tx.QueryRow(ctx, `select a.id from announcements a where `+shownTo+` and a.id = $2 for share`,
		tenantID, id, now).Scan(&found)
	if err != nil {
		return pgutil.NotFound(err, "Record not found")
	}
	return nil
}

// DismissAnnouncement marks an announcement the reader sees as read.
func (s *Store) DismissAnnouncement(ctx context.Context, tenantID, accountID, id int64, now time.Time) error {
	return pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if err := shown(ctx, tx, tenantID, id, now); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `insert into announcement_dismissals (announcement_id, account_id) values ($1, $2)
			on conflict do nothing`, id, accountID)
		if err != nil {
			return fmt.Errorf("dismiss announcement: %w", err)
		}
		return nil
	})
}

// ReactToAnnouncement adds or removes a reaction of the reader.
func (s *Store) ReactToAnnouncement(ctx context.Context, tenantID, accountID, id int64, name string, on bool, now time.Time, maxNames int) error {
	return pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if err := shown(ctx, tx, tenantID, id, now); err != nil {
			return err
		}
		if !on {
			_, err := tx.Exec(ctx, `delete from announcement_reactions where announcement_id = $1 and account_id = $2 and name = $3`,
				id, accountID, name)
			if err != nil {
				return fmt.Errorf("remove reaction: %w", err)
			}
			return nil
		}
		// One tenant's reactions to one announcement at a time, so two
		// new names cannot both pass the bound.
		if _, err := tx.Exec(ctx, `select pg_advisory_xact_lock(hashtextextended(format('announcement_reactions %s %s', $1::bigint, $2::bigint), 0))`,
			id, tenantID); err != nil {
			return fmt.Errorf("lock reactions: %w", err)
		}
		var others int
		if err := tx.QueryRow(ctx, `select count(distinct name) from announcement_reactions
			where announcement_id = $1 and tenant_id = $2 and name <> $3`, id, tenantID, name).Scan(&others); err != nil {
			return fmt.Errorf("count reactions: %w", err)
		}
		if others >= maxNames {
			return errs.E(errs.Invalid, "Validation failed: Name has reached the limit of %d different reactions", maxNames)
		}
		_, err := tx.Exec(ctx, `insert into announcement_reactions (announcement_id, account_id, tenant_id, name)
			values ($1, $2, $3, $4) on conflict do nothing`, id, accountID, tenantID, name)
		if err != nil {
			return fmt.Errorf("add reaction: %w", err)
		}
		return nil
	})
}

// ownBy is the condition of an announcement (alias a) being scope $1's.
const ownBy = `a.tenant_id is not distinct from nullif($1::bigint, 0)`

// AuthoredAnnouncements lists scope's own announcements, newest first.
func (s *Store) AuthoredAnnouncements(ctx context.Context, scope int64) ([]federation.Announcement, error) {
	rows, err := s.db.Query(ctx, `select `+announcementColumns+` from announcements a where `+ownBy+`
		order by a.id desc limit 200`, scope)
	if err != nil {
		return nil, fmt.Errorf("authored announcements: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (federation.Announcement, error) { return scanAnnouncement(r) })
}

// AuthoredAnnouncement finds one of scope's own announcements.
func (s *Store) AuthoredAnnouncement(ctx context.Context, scope, id int64) (*federation.Announcement, error) {
	a, err := scanAnnouncement(s.db.QueryRow(ctx, `select `+announcementColumns+` from announcements a
		where `+ownBy+` and a.id = $2`, scope, id))
	if err != nil {
		return nil, pgutil.NotFound(err, "no such announcement")
	}
	return &a, nil
}

// SaveAnnouncement creates or replaces one of scope's own announcements.
func (s *Store) SaveAnnouncement(ctx context.Context, scope int64, a federation.Announcement) (*federation.Announcement, error) {
	var row pgx.Row
	if a.ID == 0 {
		row = s.db.QueryRow(ctx, `insert into announcements as a (tenant_id, text, content, starts_at, ends_at, all_day, published_at)
			values (nullif($1::bigint, 0), $2, $3, $4, $5, $6, $7) returning `+announcementColumns,
			scope, a.Text, a.Content, a.StartsAt, a.EndsAt, a.AllDay, a.PublishedAt)
	} else {
		row = s.db.QueryRow(ctx, `update announcements a set text = $3, content = $4, starts_at = $5, ends_at = $6,
			all_day = $7, published_at = $8, updated_at = now()
			where `+ownBy+` and a.id = $2 returning `+announcementColumns,
			scope, a.ID, a.Text, a.Content, a.StartsAt, a.EndsAt, a.AllDay, a.PublishedAt)
	}
	out, err := scanAnnouncement(row)
	if err != nil {
		return nil, pgutil.Invalid(pgutil.NotFound(err, "no such announcement"), "the announcement is not valid")
	}
	return &out, nil
}

// DeleteAnnouncement deletes one of scope's own announcements.
func (s *Store) DeleteAnnouncement(ctx context.Context, scope, id int64) (*federation.Announcement, error) {
	a, err := scanAnnouncement(s.db.QueryRow(ctx, `delete from announcements a where `+ownBy+` and a.id = $2
		returning `+announcementColumns, scope, id))
	if err != nil {
		return nil, pgutil.NotFound(err, "no such announcement")
	}
	return &a, nil
}
