package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/pgutil"
)

var (
	_ federation.SearchStore = (*Store)(nil)
	_ federation.TrendStore  = (*Store)(nil)
	_ federation.FieldStore  = (*Store)(nil)
)

// likePrefix is a LIKE pattern matching strings that start with s.
func likePrefix(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s) + "%"
}

// SearchAccounts finds accounts by username or display name prefix: the
// exact username first, then those the viewer follows, then the most
// followed.
func (s *Store) SearchAccounts(ctx context.Context, q federation.AccountQuery) ([]int64, error) {
	text := strings.ToLower(strings.TrimSpace(q.Text))
	args := []any{likePrefix(text), text, q.ViewerID}
	cond := `(lower(a.username) like $1 or lower(a.display_name) like $1)`
	if q.Domain != "" {
		args = append(args, likePrefix(strings.ToLower(q.Domain)))
		cond += ` and a.domain like $` + strconv.Itoa(len(args))
	}
	if q.Following {
		cond += ` and exists (select 1 from follows f where f.follower_id = $3 and f.followee_id = a.id and f.state = 'accepted')`
	}
	args = append(args, max(q.Limit, 1), max(q.Offset, 0))
	rows, err := s.db.Query(ctx, `select a.id from accounts a left join account_stats x on x.account_id = a.id
		where `+cond+`
		order by lower(a.username) = $2 desc,
			exists (select 1 from follows f where f.follower_id = $3 and f.followee_id = a.id and f.state = 'accepted') desc,
			coalesce(x.followers_count, 0) desc, a.id
		limit $`+strconv.Itoa(len(args)-1)+` offset $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("search accounts: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// SearchStatuses searches, by full text (the statuses_search index), the
// statuses the viewer wrote, favourited, bookmarked or was mentioned in
// and may see. Visibility is decided before the page is cut: a hidden
// status never takes a place in it, so neither the page's contents nor
// its size tell whether a hidden status matched (issue 14, finding 3).
func (s *Store) SearchStatuses(ctx context.Context, q federation.StatusQuery) ([]int64, error) {
	if q.ViewerID == 0 {
		return nil, nil
	}
	args := []any{q.ViewerID, q.Text}
	cond := ""
	if q.AccountID != 0 {
		args = append(args, q.AccountID)
		cond += ` and s.account_id = $` + strconv.Itoa(len(args))
	}
	if q.MaxID != 0 {
		args = append(args, q.MaxID)
		cond += ` and s.id < $` + strconv.Itoa(len(args))
	}
	if q.MinID != 0 {
		args = append(args, q.MinID)
		cond += ` and s.id > $` + strconv.Itoa(len(args))
	}
	args = append(args, max(q.Limit, 1), max(q.Offset, 0))
	rows, err := s.db.Query(ctx, `with mine as (
			select id from statuses where account_id = $1
			union select status_id from favourites where account_id = $1
			union select status_id from bookmarks where account_id = $1
			union select status_id from status_mentions where account_id = $1)
		select s.id from statuses s
		where s.id in (select id from mine) and s.reblog_of_id is null
			and to_tsvector('simple', s.summary || ' ' || s.content) @@ websearch_to_tsquery('simple', $2)
			and `+visible+cond+`
		order by s.id desc limit $`+strconv.Itoa(len(args)-1)+` offset $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("search statuses: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// SearchTags lists the tenant's hashtags starting with prefix, shortest
// first.
func (s *Store) SearchTags(ctx context.Context, tenantID int64, prefix string, limit, offset int) ([]string, error) {
	prefix = strings.ToLower(prefix)
	rows, err := s.db.Query(ctx, `select name from tenant_tags where tenant_id = $1 and name like $2
		order by length(name), name limit $3 offset $4`, tenantID, likePrefix(prefix), max(limit, 1), max(offset, 0))
	if err != nil {
		return nil, fmt.Errorf("search tags: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// FamiliarFollowers lists accounts the viewer follows that follow
// accountID, most recent follows first.
func (s *Store) FamiliarFollowers(ctx context.Context, viewerID, accountID int64, limit int) ([]int64, error) {
	rows, err := s.db.Query(ctx, `select f2.follower_id from follows f1
		join follows f2 on f2.follower_id = f1.followee_id and f2.followee_id = $2 and f2.state = 'accepted'
		where f1.follower_id = $1 and f1.state = 'accepted' and f2.follower_id <> $1
		order by f2.id desc limit $3`, viewerID, accountID, max(limit, 1))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// trendWindow bounds the statuses trends look at: the tenant's newest
// public statuses (its timeline's primary key, read backwards) from the
// last week. A busy tenant's trends then cost the same as a quiet one's.
var trendWindow = trendWindowFor("$1")

// trendWindowFor is trendWindow with the tenant id as parameter param.
func trendWindowFor(param string) string {
	return `(select status_id from tenant_timeline where tenant_id = ` + param + ` order by status_id desc limit 20000) t
	join statuses s on s.id = t.status_id
	where s.published_at > now() - interval '7 days' and s.published_at <= now() + interval '5 minutes'`
}

// tagStats runs a per-tag, per-day count query and assembles histories
// in rank order.
func (s *Store) tagStats(ctx context.Context, query string, args ...any) ([]federation.TagStats, error) {
	rows, err := s.db.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("trends: %w", err)
	}
	defer rows.Close()
	today := time.Now().UTC().Truncate(24 * time.Hour)
	var out []federation.TagStats
	index := map[string]int{}
	for rows.Next() {
		var name string
		var day time.Time
		var uses, accounts int64
		if err := rows.Scan(&name, &day, &uses, &accounts); err != nil {
			return nil, err
		}
		i, ok := index[name]
		if !ok {
			i = len(out)
			index[name] = i
			st := federation.TagStats{Name: name}
			for d := 0; d < 7; d++ {
				st.History = append(st.History, federation.TagDay{Day: today.AddDate(0, 0, -d)})
			}
			out = append(out, st)
		}
		if d := int(today.Sub(day.UTC().Truncate(24*time.Hour)) / (24 * time.Hour)); d >= 0 && d < 7 {
			out[i].History[d].Uses, out[i].History[d].Accounts = uses, accounts
		}
	}
	return out, rows.Err()
}

// TrendingTags ranks the week's hashtags on the tenant by distinct
// authors, then uses.
func (s *Store) TrendingTags(ctx context.Context, tenantID int64, limit, offset int) ([]federation.TagStats, error) {
	return s.tagStats(ctx, `with recent as (
			select s.account_id, s.tags, s.published_at from `+trendWindow+` and cardinality(s.tags) > 0),
		uses as (
			select tag, r.account_id, date_trunc('day', r.published_at at time zone 'UTC') as day
			from recent r, unnest(r.tags) tag),
		top as (
			select tag, row_number() over (order by count(distinct account_id) desc, count(*) desc, tag) as rank
			from uses group by tag order by rank limit $2 offset $3)
		select top.tag, u.day, count(*), count(distinct u.account_id) from top join uses u using (tag)
		group by top.tag, top.rank, u.day order by top.rank, u.day desc`, tenantID, max(limit, 1), max(offset, 0))
}

// TagHistory is one hashtag's week on the tenant.
func (s *Store) TagHistory(ctx context.Context, tenantID int64, name string) (federation.TagStats, error) {
	name = strings.ToLower(name)
	out, err := s.tagStats(ctx, `select $2::text, date_trunc('day', s.published_at at time zone 'UTC') as day,
			count(*), count(distinct s.account_id)
		from `+trendWindow+` and s.tags @> array[$2::text] group by 2 order by 2 desc`, tenantID, name)
	if err != nil || len(out) == 0 {
		st := federation.TagStats{Name: name}
		today := time.Now().UTC().Truncate(24 * time.Hour)
		for d := 0; d < 7; d++ {
			st.History = append(st.History, federation.TagDay{Day: today.AddDate(0, 0, -d)})
		}
		return st, err
	}
	return out[0], nil
}

// TrendingStatuses ranks the week's public statuses on the tenant by
// boosts and favourites, those the viewer may see; statuses nobody
// interacted with do not trend.
func (s *Store) TrendingStatuses(ctx context.Context, tenantID, viewerID int64, limit, offset int) ([]int64, error) {
	rows, err := s.db.Query(ctx, `select s.id from `+trendWindowFor("$2")+`
			and s.visibility = 'public' and s.reblog_of_id is null and `+visible+`
			and exists (select 1 from status_stats st where st.status_id = s.id and st.reblogs_count + st.favourites_count > 0)
		order by (select st.reblogs_count + st.favourites_count from status_stats st where st.status_id = s.id) desc, s.id desc
		limit $3 offset $4`, viewerID, tenantID, max(limit, 1), max(offset, 0))
	if err != nil {
		return nil, fmt.Errorf("trending statuses: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// LocalFields reads a local account's profile fields.
func (s *Store) LocalFields(ctx context.Context, accountID int64) ([]federation.Field, error) {
	var fields []federation.Field
	err := s.db.QueryRow(ctx, `select fields from accounts where id = $1 and tenant_id is not null`, accountID).Scan(&fields)
	if err != nil {
		return nil, pgutil.NotFound(err, "no such local account")
	}
	return fields, nil
}

// MarkFieldVerified stamps the fields whose value is still value and not
// yet verified.
func (s *Store) MarkFieldVerified(ctx context.Context, accountID int64, value string, at time.Time) (bool, error) {
	tag, err := s.db.Exec(ctx, `update accounts set fields = (
			select coalesce(jsonb_agg(case when f->>'value' = $2 and f->>'verified_at' is null
				then f || jsonb_build_object('verified_at', $3::text) else f end order by ord), '[]'::jsonb)
			from jsonb_array_elements(fields) with ordinality as x(f, ord))
		where id = $1 and tenant_id is not null
			and exists (select 1 from jsonb_array_elements(fields) f where f->>'value' = $2 and f->>'verified_at' is null)`,
		accountID, value, at.UTC().Format(time.RFC3339Nano))
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() > 0, nil
}
