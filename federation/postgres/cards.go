package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/pgutil"
)

var (
	_ federation.CardQueue = (*Store)(nil)
	_ federation.CardViews = (*Store)(nil)
)

// LinkStatuses takes queued statuses (SKIP LOCKED: workers share the
// queue), links each to its first link's card, creating the card pending
// or marking a stale one pending again, and empties their queue rows —
// all in one transaction, so a crash loses no status.
func (s *Store) LinkStatuses(ctx context.Context, now, staleBefore time.Time, limit int,
	pick func(federation.LinkedStatus) string) (int, error) {
	n := 0
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `select q.status_id, s.content, s.mentions
			from link_card_queue q join statuses s on s.id = q.status_id
			order by q.queued_at, q.status_id limit $1 for update of q skip locked`, max(limit, 1))
		if err != nil {
			return err
		}
		queued, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (federation.LinkedStatus, error) {
			var l federation.LinkedStatus
			return l, r.Scan(&l.StatusID, &l.Content, &l.Mentions)
		})
		if err != nil {
			return err
		}
		ids := make([]int64, 0, len(queued))
		for _, l := range queued {
			if err := linkStatus(ctx, tx, l.StatusID, pick(l), now, staleBefore); err != nil {
				return err
			}
			ids = append(ids, l.StatusID)
		}
		n = len(ids)
		_, err = tx.Exec(ctx, `delete from link_card_queue where status_id = any($1)`, ids)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("link statuses to cards: %w", err)
	}
	return n, nil
}

// linkStatus points a status at url's card, or at none when url is "".
func linkStatus(ctx context.Context, tx pgx.Tx, statusID int64, url string, now, staleBefore time.Time) error {
	if url == "" {
		_, err := tx.Exec(ctx, `delete from status_cards where status_id = $1`, statusID)
		return err
	}
	var cardID int64
	err := tx.QueryRow(ctx, `with up as (
			insert into link_cards (url, next_attempt_at) values ($1, $2)
			on conflict (url) do update set state = 'pending', attempts = 0, next_attempt_at = $2, last_error = ''
			where link_cards.state <> 'pending' and link_cards.fetched_at < $3
			returning id)
		select id from up union all select id from link_cards where url = $1 limit 1`, url, now, staleBefore).Scan(&cardID)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `insert into status_cards (status_id, card_id) values ($1, $2)
		on conflict (status_id) do update set card_id = excluded.card_id`, statusID, cardID)
	return err
}

// ClaimCardFetches fails the cards whose last allowed attempt's lease ran
// out (its worker died), then leases due pending cards, counting the
// attempt.
func (s *Store) ClaimCardFetches(ctx context.Context, now time.Time, lease time.Duration, maxAttempts, limit int) ([]federation.CardFetch, error) {
	var out []federation.CardFetch
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `update link_cards set state = 'failed', lease_until = null, fetched_at = $1,
				last_error = 'no answer after the last attempt'
			where state = 'pending' and attempts >= $2 and (lease_until is null or lease_until <= $1)`,
			now, maxAttempts); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `update link_cards set attempts = attempts + 1, lease_until = $3
			where id in (select id from link_cards
				where state = 'pending' and next_attempt_at <= $1 and attempts < $2 and (lease_until is null or lease_until <= $1)
				order by next_attempt_at, id limit $4 for update skip locked)
			returning id, url, attempts`, now, maxAttempts, now.Add(lease), max(limit, 1))
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (federation.CardFetch, error) {
			var c federation.CardFetch
			return c, r.Scan(&c.ID, &c.URL, &c.Attempts)
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim card fetches: %w", err)
	}
	return out, nil
}

// SaveCard records a fetched card and ends its lease, returning the
// thumbnail key it replaced.
func (s *Store) SaveCard(ctx context.Context, c *federation.Card, now time.Time) (string, error) {
	var old string
	err := s.db.QueryRow(ctx, `update link_cards n set state = 'ready', lease_until = null, fetched_at = $2, last_error = '',
			title = $3, description = $4, type = $5, author_name = $6, author_url = $7, provider_name = $8,
			provider_url = $9, html = $10, width = $11, height = $12, image_key = $13, image_content_type = $14,
			image_description = $15, embed_url = $16, blurhash = $17, language = $18, published_at = $19
		from link_cards o where n.id = $1 and o.id = n.id returning o.image_key`, c.ID, now, c.Title, c.Description,
		c.Type, c.AuthorName, c.AuthorURL, c.ProviderName, c.ProviderURL, c.HTML, c.Width, c.Height, c.ImageKey,
		c.ImageContentType, c.ImageDescription, c.EmbedURL, c.Blurhash, c.Language, c.PublishedAt).Scan(&old)
	if err != nil {
		return "", pgutil.Invalid(fmt.Errorf("save card %d: %w", c.ID, err), "the card is not valid")
	}
	return old, nil
}

// PruneCards deletes cards no status links any more, last fetched before
// before and not leased, returning their thumbnails' keys.
func (s *Store) PruneCards(ctx context.Context, before time.Time, limit int) (int, []string, error) {
	rows, err := s.db.Query(ctx, `delete from link_cards where id in (select c.id from link_cards c
			where coalesce(c.fetched_at, c.created_at) < $1 and (c.lease_until is null or c.lease_until < $1)
				and not exists (select 1 from status_cards sc where sc.card_id = c.id)
			order by c.id limit $2 for update skip locked)
		returning image_key`, before, max(limit, 1))
	if err != nil {
		return 0, nil, fmt.Errorf("prune cards: %w", err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, nil, fmt.Errorf("prune cards: %w", err)
	}
	var images []string
	for _, k := range keys {
		if k != "" {
			images = append(images, k)
		}
	}
	return len(keys), images, nil
}

// FailCardFetch ends a failed attempt: due again at retryAt, or done with
// (failed; a card fetched before keeps showing what it had) when nil.
func (s *Store) FailCardFetch(ctx context.Context, id int64, reason string, now time.Time, retryAt *time.Time) error {
	var err error
	if retryAt != nil {
		_, err = s.db.Exec(ctx, `update link_cards set lease_until = null, next_attempt_at = $2, last_error = $3
			where id = $1`, id, *retryAt, reason)
	} else {
		_, err = s.db.Exec(ctx, `update link_cards set state = 'failed', lease_until = null, fetched_at = $2,
			last_error = $3 where id = $1`, id, now, reason)
	}
	if err != nil {
		return fmt.Errorf("record card %d failure: %w", id, err)
	}
	return nil
}
