package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pgutil"
)

var _ federation.QuoteStore = (*Store)(nil)

const quoteColumns = `status_id, account_id, coalesce(quoted_status_id, 0), coalesce(quoted_account_id, 0), quoted_uri,
	state, coalesce(request_uri, ''), coalesce(stamp_uri, ''), created_at,
	(select st.uri from statuses st where st.id = quotes.status_id)`

func scanQuote(row pgx.Row) (*federation.Quote, error) {
	q := &federation.Quote{}
	err := row.Scan(&q.StatusID, &q.AccountID, &q.QuotedStatusID, &q.QuotedAccountID, &q.QuotedURI, &q.State,
		&q.RequestURI, &q.StampURI, &q.CreatedAt, &q.StatusURI)
	return q, err
}

// RecordQuote stores the quote of q.StatusID with the status's own
// quote_uri and quote_stamp, and notifies the quoted local author of an
// accepted quote.
func (s *Store) RecordQuote(ctx context.Context, q federation.Quote) error {
	return pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `insert into quotes (status_id, account_id, quoted_status_id, quoted_account_id, quoted_uri,
				state, request_uri, stamp_uri)
			values ($1, $2, nullif($3, 0), nullif($4, 0), $5, $6, nullif($7, ''), nullif($8, ''))
			on conflict (status_id) do update set quoted_status_id = excluded.quoted_status_id,
				quoted_account_id = excluded.quoted_account_id, quoted_uri = excluded.quoted_uri, state = excluded.state,
				request_uri = excluded.request_uri, stamp_uri = excluded.stamp_uri, updated_at = now()`,
			q.StatusID, q.AccountID, q.QuotedStatusID, q.QuotedAccountID, q.QuotedURI, string(q.State), q.RequestURI, q.StampURI)
		if err != nil {
			return fmt.Errorf("record quote of %d: %w", q.StatusID, err)
		}
		return quoteStatusColumns(ctx, tx, q.StatusID)
	})
}

// quoteStatusColumns copies a quote onto its status (the Note's quote and
// quoteAuthorization) and notifies an accepted quote's local author.
func quoteStatusColumns(ctx context.Context, tx pgx.Tx, statusID int64) error {
	var accepted bool
	var quotedAccount, author int64
	err := tx.QueryRow(ctx, `update statuses st set quote_uri = q.quoted_uri,
			quote_stamp = case when q.state = 'accepted' then q.stamp_uri end
		from quotes q where q.status_id = $1 and st.id = q.status_id
		returning q.state = 'accepted', coalesce(q.quoted_account_id, 0), q.account_id`, statusID).
		Scan(&accepted, &quotedAccount, &author)
	if err != nil {
		return fmt.Errorf("quote columns of %d: %w", statusID, err)
	}
	if !accepted || quotedAccount == 0 {
		return nil
	}
	// notify() skips one's own quotes, remote recipients, blocks and mutes.
	if _, err := tx.Exec(ctx, `select notify($1, $2, 'quote', $3)`, quotedAccount, author, statusID); err != nil {
		return fmt.Errorf("quote notification: %w", err)
	}
	return nil
}

// QuoteOf returns the quote a post makes.
func (s *Store) QuoteOf(ctx context.Context, statusID int64) (*federation.Quote, error) {
	q, err := scanQuote(s.db.QueryRow(ctx, `select `+quoteColumns+` from quotes where status_id = $1`, statusID))
	return q, quoteNotFound(err, "no such quote")
}

// QuotesOf returns the quotes the given posts make.
func (s *Store) QuotesOf(ctx context.Context, statusIDs []int64) (map[int64]*federation.Quote, error) {
	out := map[int64]*federation.Quote{}
	if len(statusIDs) == 0 {
		return out, nil
	}
	rows, err := s.db.Query(ctx, quotesOfSQL(`$1::bigint[]`), statusIDs)
	if err != nil {
		return nil, fmt.Errorf("load quotes: %w", err)
	}
	return scanQuotesOf(rows)
}

// quotesOfSQL reads the quotes the statuses in the bigint[] expression ids
// (never input) make.
func quotesOfSQL(ids string) string {
	return `select ` + quoteColumns + ` from quotes where status_id = any(` + ids + `)`
}

// scanQuotesOf reads quotesOfSQL's rows, by quoting status.
func scanQuotesOf(rows pgx.Rows) (map[int64]*federation.Quote, error) {
	defer rows.Close()
	out := map[int64]*federation.Quote{}
	for rows.Next() {
		q, err := scanQuote(rows)
		if err != nil {
			return nil, err
		}
		out[q.StatusID] = q
	}
	return out, rows.Err()
}

// QuoteByRequest finds a quote by the QuoteRequest sent for it.
func (s *Store) QuoteByRequest(ctx context.Context, requestURI string) (*federation.Quote, error) {
	q, err := scanQuote(s.db.QueryRow(ctx, `select `+quoteColumns+` from quotes where request_uri = $1`, requestURI))
	return q, quoteNotFound(err, "no such quote request")
}

// SetQuoteState moves a quote along, with its status's columns.
func (s *Store) SetQuoteState(ctx context.Context, statusID int64, state federation.QuoteState, stampURI string) error {
	return pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `update quotes set state = $2, stamp_uri = coalesce(nullif($3, ''), stamp_uri),
			updated_at = now() where status_id = $1`, statusID, string(state), stampURI)
		if err != nil {
			return fmt.Errorf("quote state of %d: %w", statusID, err)
		}
		if tag.RowsAffected() == 0 {
			return errs.E(errs.NotFound, "no such quote")
		}
		return quoteStatusColumns(ctx, tx, statusID)
	})
}

// RevokeStampedQuotes marks revoked the quotes holding this stamp.
func (s *Store) RevokeStampedQuotes(ctx context.Context, stampURI string, issuerID int64) (int, error) {
	n := 0
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `update quotes set state = 'revoked', updated_at = now()
			where stamp_uri = $1 and quoted_account_id = $2 and state = 'accepted' returning status_id`, stampURI, issuerID)
		if err != nil {
			return fmt.Errorf("revoke quotes: %w", err)
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		n = len(ids)
		_, err = tx.Exec(ctx, `update statuses set quote_stamp = null where id = any($1)`, ids)
		return err
	})
	return n, err
}

// QuotingStatuses pages the posts with an accepted quote of statusID that
// the viewer may see.
func (s *Store) QuotingStatuses(ctx context.Context, viewerID, statusID int64, p federation.Page) ([]int64, error) {
	q, args := pageSQL("s.id", p, 3, []any{viewerID, statusID})
	return s.ids(ctx, p, `select s.id from quotes qt join statuses s on s.id = qt.status_id
		where qt.quoted_status_id = $2 and qt.state = 'accepted' and `+visible+q, args...)
}

// QuotesCounts counts the accepted quotes of each post.
func (s *Store) QuotesCounts(ctx context.Context, statusIDs []int64) (map[int64]int64, error) {
	out := map[int64]int64{}
	if len(statusIDs) == 0 {
		return out, nil
	}
	rows, err := s.db.Query(ctx, quotesCountsSQL(`$1::bigint[]`), statusIDs)
	if err != nil {
		return nil, fmt.Errorf("count quotes: %w", err)
	}
	return scanQuotesCounts(rows)
}

// quotesCountsSQL counts the accepted quotes of the statuses in the
// bigint[] expression ids (never input).
func quotesCountsSQL(ids string) string {
	return `select quoted_status_id, count(*) from quotes
		where quoted_status_id = any(` + ids + `) and state = 'accepted' group by quoted_status_id`
}

// scanQuotesCounts reads quotesCountsSQL's rows.
func scanQuotesCounts(rows pgx.Rows) (map[int64]int64, error) {
	defer rows.Close()
	out := map[int64]int64{}
	for rows.Next() {
		var id, n int64
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		out[id] = n
	}
	return out, rows.Err()
}

// SetQuotePolicy sets who may quote a post.
func (s *Store) SetQuotePolicy(ctx context.Context, statusID int64, p federation.QuotePolicy) error {
	_, err := s.db.Exec(ctx, `update statuses set quote_policy = nullif($2, '') where id = $1`, statusID, string(p))
	if err != nil {
		return fmt.Errorf("quote policy of %d: %w", statusID, err)
	}
	return nil
}

const stampColumns = `id, quoted_status_id, quoting_uri, quoting_account_id, revoked_at is not null`

// stampRead is stampColumns with the quoted post's URI and author.
const stampRead = `qa.id, qa.quoted_status_id, qa.quoting_uri, qa.quoting_account_id, qa.revoked_at is not null,
	st.uri, st.account_id from quote_authorizations qa join statuses st on st.id = qa.quoted_status_id`

func scanStamp(row pgx.Row) (*federation.QuoteStamp, error) {
	st := &federation.QuoteStamp{}
	err := row.Scan(&st.ID, &st.QuotedStatusID, &st.QuotingURI, &st.QuotingAccountID, &st.Revoked)
	return st, err
}

func scanStampRead(row pgx.Row) (*federation.QuoteStamp, error) {
	st := &federation.QuoteStamp{}
	err := row.Scan(&st.ID, &st.QuotedStatusID, &st.QuotingURI, &st.QuotingAccountID, &st.Revoked,
		&st.QuotedURI, &st.QuotedAccountID)
	return st, err
}

// IssueStamp returns the stamp for a quote of a local post, created once.
func (s *Store) IssueStamp(ctx context.Context, quotedStatusID int64, quotingURI string, quotingAccountID int64) (*federation.QuoteStamp, error) {
	st, err := scanStamp(s.db.QueryRow(ctx, `with ins as (
			insert into quote_authorizations (quoted_status_id, quoting_uri, quoting_account_id) values ($1, $2, $3)
			on conflict (quoted_status_id, quoting_uri) do nothing returning `+stampColumns+`)
		select * from ins union all
		select `+stampColumns+` from quote_authorizations where quoted_status_id = $1 and quoting_uri = $2
		limit 1`, quotedStatusID, quotingURI, quotingAccountID))
	if err != nil {
		return nil, fmt.Errorf("issue stamp: %w", err)
	}
	return st, nil
}

// Stamp finds a stamp by id.
func (s *Store) Stamp(ctx context.Context, id int64) (*federation.QuoteStamp, error) {
	st, err := scanStampRead(s.db.QueryRow(ctx, `select `+stampRead+` where qa.id = $1`, id))
	return st, quoteNotFound(err, "no such stamp")
}

// RevokeStamp revokes the stamp of quotingURI's quote of a post.
func (s *Store) RevokeStamp(ctx context.Context, quotedStatusID int64, quotingURI string) (*federation.QuoteStamp, error) {
	st, err := scanStamp(s.db.QueryRow(ctx, `update quote_authorizations set revoked_at = coalesce(revoked_at, now())
		where quoted_status_id = $1 and quoting_uri = $2 returning `+stampColumns, quotedStatusID, quotingURI))
	return st, quoteNotFound(err, "no stamp for this quote")
}

// FollowsAccepted reports whether accountID follows targetID (accepted).
func (s *Store) FollowsAccepted(ctx context.Context, accountID, targetID int64) (bool, error) {
	var ok bool
	err := s.db.QueryRow(ctx, `select exists (select 1 from follows where follower_id = $1 and followee_id = $2
		and state = 'accepted')`, accountID, targetID).Scan(&ok)
	return ok, err
}

// quoteNotFound is pgutil.NotFound that passes success through.
func quoteNotFound(err error, message string) error {
	if err == nil {
		return nil
	}
	return pgutil.NotFound(err, message)
}
