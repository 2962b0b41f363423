package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pgutil"
)

var _ federation.TagStore = (*Store)(nil)

// timelineWhere narrows a tenant timeline t by f: local or remote posts
// and posts with media, in the query (before the LIMIT).
func timelineWhere(f federation.TimelineFilter) string {
	cond := ""
	switch {
	case f.Local && !f.Remote:
		cond = " and t.local"
	case f.Remote && !f.Local:
		cond = " and not t.local"
	}
	if f.OnlyMedia {
		cond += ` and exists (select 1 from statuses ms where ms.id = t.status_id
			and jsonb_array_length(ms.attachments) > 0)`
	}
	return cond
}

// viewerHides leaves out of a timeline t the posts by accounts the
// viewer ($1) blocks or mutes, and remote (or other tenants') posts from
// domains the viewer hides, as Mastodon's public feeds do, before the
// LIMIT (the render-time lens would leave a short page).
const viewerHides = ` and not exists (select 1 from statuses hs where hs.id = t.status_id and (
		exists (select 1 from blocks b where b.account_id = $1 and b.target_id = hs.account_id)
		or exists (select 1 from mutes u where u.account_id = $1 and u.target_id = hs.account_id
			and (u.expires_at is null or u.expires_at > now()))
		or (not t.local and exists (select 1 from accounts ha join account_domain_blocks d on d.account_id = $1
			and (ha.domain = d.domain or right(ha.domain, length(d.domain) + 1) = '.' || d.domain)
			where ha.id = hs.account_id))))`

// publicWhere is everything the public and hashtag timelines leave out
// of a tenant's ($2) timeline t for viewer $1: f's narrowing, the
// tenant's moderation and the viewer's blocks, mutes and hidden domains.
func publicWhere(f federation.TimelineFilter) string {
	return timelineWhere(f) + publicModeration + viewerHides
}

// TagTimeline pages a tenant's public statuses carrying tag (or one of
// f.Any), all of f.All and none of f.None, that the viewer may see, with
// the public timeline's moderation, all before the LIMIT.
func (s *Store) TagTimeline(ctx context.Context, tenantID, viewerID int64, tag string, f federation.TimelineFilter, p federation.Page) ([]int64, error) {
	args := []any{viewerID, tenantID, append([]string{tag}, f.Any...)}
	cond := publicWhere(f)
	if len(f.All) > 0 {
		args = append(args, f.All)
		cond += " and s.tags @> $" + strconv.Itoa(len(args)) + "::text[]"
	}
	if len(f.None) > 0 {
		args = append(args, f.None)
		cond += " and not s.tags && $" + strconv.Itoa(len(args)) + "::text[]"
	}
	q, args := pageSQL("t.status_id", p, len(args)+1, args)
	return s.ids(ctx, p, `select t.status_id from tenant_timeline t join statuses s on s.id = t.status_id
		where t.tenant_id = $2 and s.tags && $3::text[] and `+visible+cond+q, args...)
}

// TagStates reads each name's id and the viewer's follow and feature.
func (s *Store) TagStates(ctx context.Context, viewerID int64, names []string) ([]federation.TagState, error) {
	rows, err := s.db.Query(ctx, `select n.name, coalesce(t.id, 0),
		exists (select 1 from tag_follows f where f.account_id = $1 and f.tag_id = t.id),
		exists (select 1 from featured_tags f where f.account_id = $1 and f.tag_id = t.id)
		from unnest($2::text[]) with ordinality as n(name, ord) left join tags t on t.name = n.name
		order by n.ord`, viewerID, names)
	if err != nil {
		return nil, fmt.Errorf("tag states: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (federation.TagState, error) {
		var t federation.TagState
		err := r.Scan(&t.Name, &t.ID, &t.Following, &t.Featuring)
		return t, err
	})
}

// tagID finds or creates a hashtag's row.
func tagID(ctx context.Context, tx pgx.Tx, name string) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `with ins as (insert into tags (name) values ($1) on conflict do nothing returning id)
		select id from ins union all select id from tags where name = $1 limit 1`, name).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("tag %q: %w", name, err)
	}
	return id, nil
}

// lockTagOwner serialises an account's tag changes (the limits count rows).
func lockTagOwner(ctx context.Context, tx pgx.Tx, accountID int64) error {
	var one int
	err := tx.QueryRow(ctx, `select 1 from accounts where id = $1 and tenant_id is not null for update`, accountID).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return errs.E(errs.NotFound, "Record not found")
	}
	return err
}

// FollowTag follows a hashtag, at most federation.MaxFollowedTags.
func (s *Store) FollowTag(ctx context.Context, accountID int64, name string) error {
	return pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if err := lockTagOwner(ctx, tx, accountID); err != nil {
			return err
		}
		id, err := tagID(ctx, tx, name)
		if err != nil {
			return err
		}
		var n int
		var already bool
		if err := tx.QueryRow(ctx, `select count(*), coalesce(bool_or(tag_id = $2), false) from tag_follows where account_id = $1`,
			accountID, id).Scan(&n, &already); err != nil {
			return err
		}
		if !already && n >= federation.MaxFollowedTags {
			return errs.E(errs.Invalid, "Validation failed: you can follow at most %d hashtags", federation.MaxFollowedTags)
		}
		_, err = tx.Exec(ctx, `insert into tag_follows (account_id, tag_id) values ($1, $2) on conflict do nothing`, accountID, id)
		return err
	})
}

// unmergeWindow bounds how far back unfollowing a hashtag looks in the
// home feed: its newest entries, as Mastodon unmerges from a capped feed.
const unmergeWindow = 2000

// UnfollowTag stops following a hashtag and takes its posts out of the
// newest unmergeWindow entries of the home feed, unless they are there
// for another reason: the account's own, a followed author's, one
// mentioning it, or one carrying another followed tag.
func (s *Store) UnfollowTag(ctx context.Context, accountID int64, name string) error {
	return pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `delete from tag_follows f using tags t
			where f.account_id = $1 and f.tag_id = t.id and t.name = $2`, accountID, name)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		_, err = tx.Exec(ctx, `delete from home_feeds h using statuses s
			where h.account_id = $1 and s.id = h.status_id and s.tags @> array[$2::text] and s.account_id <> $1
			and h.status_id in (select status_id from home_feeds where account_id = $1 order by status_id desc limit $3)
			and not exists (select 1 from follows f where f.follower_id = $1 and f.followee_id = s.account_id and f.state = 'accepted')
			and not exists (select 1 from status_mentions m where m.status_id = s.id and m.account_id = $1)
			and not exists (select 1 from tag_follows f join tags t on t.id = f.tag_id
				where f.account_id = $1 and t.name = any (s.tags))`, accountID, name, unmergeWindow)
		if err != nil {
			return fmt.Errorf("unmerge #%s: %w", name, err)
		}
		return nil
	})
}

// FollowedTags pages the account's followed hashtags, newest first.
func (s *Store) FollowedTags(ctx context.Context, accountID int64, p federation.Page) ([]string, []int64, error) {
	q, args := pageSQL("f.id", p, 2, []any{accountID})
	rows, err := s.db.Query(ctx, `select t.name, f.id from tag_follows f join tags t on t.id = f.tag_id
		where f.account_id = $1`+q, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("followed tags: %w", err)
	}
	defer rows.Close()
	var names []string
	var cursors []int64
	for rows.Next() {
		var n string
		var c int64
		if err := rows.Scan(&n, &c); err != nil {
			return nil, nil, err
		}
		names, cursors = append(names, n), append(cursors, c)
	}
	if p.MinID > 0 {
		slices.Reverse(names)
		slices.Reverse(cursors)
	}
	return names, cursors, rows.Err()
}

// featuredColumns read a featured tag ft (tags t) with the account's
// public and unlisted original posts carrying it.
const featuredColumns = `ft.id, t.name, u.n, u.last from featured_tags ft join tags t on t.id = ft.tag_id,
	lateral (select count(*) as n, max(s.published_at) as last from statuses s
		where s.account_id = ft.account_id and s.tags @> array[t.name] and s.reblog_of_id is null
		and s.visibility in ('public', 'unlisted')) u`

func scanFeatured(r pgx.CollectableRow) (federation.FeaturedTag, error) {
	var f federation.FeaturedTag
	var last *time.Time
	err := r.Scan(&f.ID, &f.Name, &f.StatusesCount, &last)
	f.LastStatusAt = last
	return f, err
}

// FeatureTag features a hashtag on the account's profile (the existing
// row when it already does), at most federation.MaxFeaturedTags.
func (s *Store) FeatureTag(ctx context.Context, accountID int64, name string) (*federation.FeaturedTag, error) {
	var out federation.FeaturedTag
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if err := lockTagOwner(ctx, tx, accountID); err != nil {
			return err
		}
		id, err := tagID(ctx, tx, name)
		if err != nil {
			return err
		}
		var n int
		var already bool
		if err := tx.QueryRow(ctx, `select count(*), coalesce(bool_or(tag_id = $2), false) from featured_tags where account_id = $1`,
			accountID, id).Scan(&n, &already); err != nil {
			return err
		}
		if !already && n >= federation.MaxFeaturedTags {
			return errs.E(errs.Invalid, "Validation failed: you can feature at most %d hashtags", federation.MaxFeaturedTags)
		}
		if _, err := tx.Exec(ctx, `insert into featured_tags (account_id, tag_id) values ($1, $2) on conflict do nothing`,
			accountID, id); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `select `+featuredColumns+` where ft.account_id = $1 and ft.tag_id = $2`, accountID, id)
		if err != nil {
			return err
		}
		out, err = pgx.CollectExactlyOneRow(rows, scanFeatured)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// UnfeatureTag removes one of the account's featured tags by id.
func (s *Store) UnfeatureTag(ctx context.Context, accountID, id int64) error {
	tag, err := s.db.Exec(ctx, `delete from featured_tags where id = $1 and account_id = $2`, id, accountID)
	if err != nil {
		return fmt.Errorf("unfeature tag: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return errs.E(errs.NotFound, "Record not found")
	}
	return nil
}

// UnfeatureTagName stops featuring a hashtag by name (idempotent).
func (s *Store) UnfeatureTagName(ctx context.Context, accountID int64, name string) error {
	_, err := s.db.Exec(ctx, `delete from featured_tags f using tags t
		where f.account_id = $1 and f.tag_id = t.id and t.name = $2`, accountID, name)
	if err != nil {
		return fmt.Errorf("unfeature tag: %w", err)
	}
	return nil
}

// FeaturedTags lists a local account's featured tags, oldest first; a
// remote account has none here.
func (s *Store) FeaturedTags(ctx context.Context, accountID int64) ([]federation.FeaturedTag, error) {
	rows, err := s.db.Query(ctx, `select `+featuredColumns+` where ft.account_id = $1 order by ft.id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("featured tags: %w", err)
	}
	return pgx.CollectRows(rows, scanFeatured)
}

// suggestWindow is how many of an account's newest posts tag
// suggestions count in.
const suggestWindow = 200

// TagSuggestions ranks the hashtags of the account's newest public and
// unlisted posts it does not feature yet, most used first.
func (s *Store) TagSuggestions(ctx context.Context, accountID int64, limit int) ([]string, error) {
	rows, err := s.db.Query(ctx, `select tag from (select s.tags from statuses s
			where s.account_id = $1 and s.reblog_of_id is null and s.visibility in ('public', 'unlisted')
			order by s.id desc limit $3) r, unnest(r.tags) tag
		where length(tag) between 1 and 100 and not exists (select 1 from featured_tags f join tags t on t.id = f.tag_id
			where f.account_id = $1 and t.name = tag)
		group by tag order by count(*) desc, tag limit $2`, accountID, max(limit, 1), suggestWindow)
	if err != nil {
		return nil, fmt.Errorf("tag suggestions: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// TagHistories is each name's last week on the tenant, in the order of
// names (days without use count zero).
func (s *Store) TagHistories(ctx context.Context, tenantID int64, names []string) ([]federation.TagStats, error) {
	if len(names) == 0 {
		return nil, nil
	}
	found, err := s.tagStats(ctx, `with recent as (
			select s.account_id, s.tags, s.published_at from `+trendWindow+` and s.tags && $2::text[])
		select tag, date_trunc('day', r.published_at at time zone 'UTC') as day, count(*), count(distinct r.account_id)
		from recent r, unnest(r.tags) tag where tag = any ($2::text[]) group by 1, 2 order by 1, 2 desc`, tenantID, names)
	if err != nil {
		return nil, err
	}
	byName := make(map[string]federation.TagStats, len(found))
	for _, st := range found {
		byName[st.Name] = st
	}
	today := time.Now().UTC().Truncate(24 * time.Hour)
	out := make([]federation.TagStats, len(names))
	for i, n := range names {
		if st, ok := byName[n]; ok {
			out[i] = st
			continue
		}
		out[i] = federation.TagStats{Name: n}
		for d := 0; d < 7; d++ {
			out[i].History = append(out[i].History, federation.TagDay{Day: today.AddDate(0, 0, -d)})
		}
	}
	return out, nil
}
