package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/pgutil"
)

// cardColumns are a card's shown fields, of link_cards c.
const cardColumns = `c.id, c.url, c.title, c.description, c.type, c.author_name, c.author_url, c.provider_name,
	c.provider_url, c.html, c.width, c.height, c.image_key, c.image_content_type, c.image_description, c.embed_url,
	c.blurhash, c.language, c.published_at`

// shownCard is the condition of a card worth showing: fetched with
// something to show at least once (a refetch in progress keeps it).
const shownCard = `(c.title <> '' or c.html <> '')`

func cardScanArgs(c *federation.Card) []any {
	return []any{&c.ID, &c.URL, &c.Title, &c.Description, &c.Type, &c.AuthorName, &c.AuthorURL, &c.ProviderName,
		&c.ProviderURL, &c.HTML, &c.Width, &c.Height, &c.ImageKey, &c.ImageContentType, &c.ImageDescription,
		&c.EmbedURL, &c.Blurhash, &c.Language, &c.PublishedAt}
}

// CardsOfStatuses returns the shown cards of statusIDs, in one query.
func (s *Store) CardsOfStatuses(ctx context.Context, statusIDs []int64) (map[int64]*federation.Card, error) {
	out := map[int64]*federation.Card{}
	if len(statusIDs) == 0 {
		return out, nil
	}
	rows, err := s.db.Query(ctx, cardsOfStatusesSQL(`$1::bigint[]`), statusIDs)
	if err != nil {
		return nil, fmt.Errorf("cards of statuses: %w", err)
	}
	return scanCardsOfStatuses(rows)
}

// cardsOfStatusesSQL reads the shown cards of the statuses in the bigint[]
// expression ids (never input).
func cardsOfStatusesSQL(ids string) string {
	return `select sc.status_id, ` + cardColumns + `
		from status_cards sc join link_cards c on c.id = sc.card_id
		where sc.status_id = any(` + ids + `) and ` + shownCard
}

// scanCardsOfStatuses reads cardsOfStatusesSQL's rows, by status id.
func scanCardsOfStatuses(rows pgx.Rows) (map[int64]*federation.Card, error) {
	defer rows.Close()
	out := map[int64]*federation.Card{}
	for rows.Next() {
		var id int64
		c := &federation.Card{}
		if err := rows.Scan(append([]any{&id}, cardScanArgs(c)...)...); err != nil {
			return nil, fmt.Errorf("cards of statuses: %w", err)
		}
		out[id] = c
	}
	return out, rows.Err()
}

// linkShares are the tenant's ($1) public, unhidden posts linking a card
// in the week before $2, from its timeline's newest rows (as trends
// read: a busy tenant's costs the same as a quiet one's). Only what
// reached the tenant's timeline counts: never another tenant's
// followers-only or direct posts.
const linkShares = `select s.account_id, s.published_at, sc.card_id
	from (select status_id from tenant_timeline where tenant_id = $1 order by status_id desc limit 20000) t
	join statuses s on s.id = t.status_id
	join status_cards sc on sc.status_id = s.id
	where s.visibility = 'public' and s.reblog_of_id is null
		and s.published_at > $2::timestamptz - interval '7 days' and s.published_at <= $2::timestamptz + interval '5 minutes'
		and not exists (select 1 from tenant_hidden_statuses th where th.status_id = s.id and th.tenant_id = $1)`

// TrendingLinks ranks the week's shown cards on the tenant by distinct
// accounts sharing them, then by posts, with each one's daily history.
func (s *Store) TrendingLinks(ctx context.Context, tenantID int64, now time.Time, limit, offset int) ([]federation.LinkTrend, error) {
	rows, err := s.db.Query(ctx, `with shares as (`+linkShares+`),
		top as (select r.card_id, row_number() over (order by count(distinct r.account_id) desc, count(*) desc, r.card_id desc) as rank
			from shares r join link_cards c on c.id = r.card_id where `+shownCard+`
			group by r.card_id order by rank limit $3 offset $4)
		select top.rank, `+cardColumns+`, date_trunc('day', r.published_at at time zone 'UTC') as share_day, count(*), count(distinct r.account_id)
		from top join shares r using (card_id) join link_cards c on c.id = top.card_id
		group by top.rank, c.id, share_day order by top.rank, share_day desc`, tenantID, now, max(limit, 1), max(offset, 0))
	if err != nil {
		return nil, fmt.Errorf("trending links: %w", err)
	}
	defer rows.Close()
	today := now.UTC().Truncate(24 * time.Hour)
	var out []federation.LinkTrend
	for rows.Next() {
		var rank, uses, accounts int64
		var day time.Time
		c := &federation.Card{}
		if err := rows.Scan(append(append([]any{&rank}, cardScanArgs(c)...), &day, &uses, &accounts)...); err != nil {
			return nil, fmt.Errorf("trending links: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].Card.ID != c.ID {
			out = append(out, federation.LinkTrend{Card: c, History: week(today)})
		}
		if d := int(today.Sub(day.UTC().Truncate(24*time.Hour)) / (24 * time.Hour)); d >= 0 && d < 7 {
			out[len(out)-1].History[d].Uses, out[len(out)-1].History[d].Accounts = uses, accounts
		}
	}
	return out, rows.Err()
}

// week is seven empty days ending with today, newest first.
func week(today time.Time) []federation.TagDay {
	out := make([]federation.TagDay, 7)
	for d := range out {
		out[d].Day = today.AddDate(0, 0, -d)
	}
	return out
}

// LinkTimeline pages the tenant's ($2) public posts linking url's card
// that the viewer ($1) may see.
func (s *Store) LinkTimeline(ctx context.Context, tenantID, viewerID int64, url string, p federation.Page) ([]int64, error) {
	q, args := pageSQL("t.status_id", p, 4, []any{viewerID, tenantID, url})
	ids, err := s.ids(ctx, p, `select t.status_id from tenant_timeline t
		join status_cards sc on sc.status_id = t.status_id
		join link_cards c on c.id = sc.card_id
		join statuses s on s.id = t.status_id
		where t.tenant_id = $2 and c.url = $3 and s.visibility = 'public' and `+visible+hiddenOnTimeline+viewerHides+q, args...) // viewerHides: tags.go
	if err != nil {
		return nil, fmt.Errorf("link timeline: %w", err)
	}
	return ids, nil
}

// CardImage returns the content type of a card thumbnail.
func (s *Store) CardImage(ctx context.Context, key string) (string, error) {
	var ct string
	err := s.db.QueryRow(ctx, `select image_content_type from link_cards where image_key = $1 and image_key <> '' limit 1`,
		key).Scan(&ct)
	if err != nil {
		return "", pgutil.NotFound(err, "no such file")
	}
	return ct, nil
}
