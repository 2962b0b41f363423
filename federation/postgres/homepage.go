package postgres

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
)

var _ federation.HomePages = (*Store)(nil)

// The batch's first statement reads the page and keeps, in two
// transaction-local settings, the ids the other statements read: the
// statuses rendering reads (the page's and the originals its boosts point
// at) and their authors and mentioned accounts. set_config(..., true)
// lasts until the end of the transaction, and a pgx batch is one implicit
// transaction (one Sync after all its statements), so nothing of it
// outlives the batch on the connection. Each is read as a scalar subquery
// (evaluated once per statement, not once per row), cast so that "any"
// reads it as an array, not as a subquery's rows.
const (
	homeStatusesSetting = "roost.home_statuses"
	homeAccountsSetting = "roost.home_accounts"
	homeAllIDs          = `(select current_setting('` + homeStatusesSetting + `')::bigint[])::bigint[]`
	homeAccountIDs      = `(select current_setting('` + homeAccountsSetting + `')::bigint[])::bigint[]`
)

// homePageSQL is the batch's first statement over the page query page:
// the page's ids, as HomeTimeline reads them, and the two settings.
func homePageSQL(page string) string {
	return `with page as (select array(` + page + `) as ids),
		shown as (select page.ids || array(select hb.reblog_of_id from statuses hb
			where hb.id = any(page.ids) and hb.reblog_of_id is not null) as ids from page),
		people as (select array(select ha.account_id from statuses ha where ha.id = any(shown.ids)
			union select hm.account_id from status_mentions hm where hm.status_id = any(shown.ids)) as ids from shown)
		select page.ids, set_config('` + homeStatusesSetting + `', shown.ids::text, true),
			set_config('` + homeAccountsSetting + `', people.ids::text, true) from page, shown, people`
}

// mutesEndSQL is when the viewer's ($1) earliest running timed mute ends.
const mutesEndSQL = `select min(expires_at) from mutes where account_id = $1 and expires_at > now()`

// HomePage reads a home timeline page and everything rendering it reads
// in one pgx batch: one round trip, whose statements run in order in one
// implicit transaction. The first pages the feed exactly as HomeTimeline
// (homePageSQL); the others are the queries of StatusViews, AccountViews,
// CardsOfStatuses, QuotesCounts, QuotesOf, OwnVotes, Filters, Hidden and
// PulledFollowees,
// reading their ids from its settings. The viewer's hides are read fresh,
// as each request reads them.
func (s *Store) HomePage(ctx context.Context, viewerID int64, p federation.Page) (*federation.HomePage, error) {
	page, args := homeTimelineSQL(viewerID, p)
	b := &pgx.Batch{}
	b.Queue(homePageSQL(page), args...)
	b.Queue(statusViewsSQL(`unnest(`+homeAllIDs+`)`), viewerID)
	b.Queue(accountViewsSQL(homeAccountIDs))
	b.Queue(cardsOfStatusesSQL(homeAllIDs))
	b.Queue(quotesCountsSQL(homeAllIDs))
	b.Queue(quotesOfSQL(homeAllIDs))
	b.Queue(ownVotesSQL(homeAllIDs), viewerID)
	b.Queue(filterSelect+ownFiltersWhere, viewerID)
	b.Queue(hiddenSQL, viewerID)
	b.Queue(mutesEndSQL, viewerID)
	b.Queue(pulledFolloweesSQL, viewerID) // homepull.go
	br := s.db.SendBatch(ctx, b)
	out, err := readHomePage(br, p)
	if cerr := br.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("home page: %w", err)
	}
	return out, nil
}

// readHomePage reads the batch's results in the order they were queued.
func readHomePage(br pgx.BatchResults, p federation.Page) (*federation.HomePage, error) {
	out := &federation.HomePage{Statuses: map[int64]*federation.StatusView{}, Accounts: map[int64]*federation.AccountView{}}
	var shown, people string
	if err := br.QueryRow().Scan(&out.IDs, &shown, &people); err != nil {
		return nil, err
	}
	if p.MinID > 0 {
		slices.Reverse(out.IDs) // read upwards, shown newest first
	}
	views, err := scanStatusViews(queryOf(br))
	if err != nil {
		return nil, err
	}
	for _, v := range views {
		out.Statuses[v.ID] = v
	}
	if err := scanAccountViews(queryOf(br), out.Accounts); err != nil {
		return nil, err
	}
	if out.Cards, err = scanCardsOfStatuses(queryOf(br)); err != nil {
		return nil, err
	}
	if out.QuotesCounts, err = scanQuotesCounts(queryOf(br)); err != nil {
		return nil, err
	}
	if out.Quotes, err = scanQuotesOf(queryOf(br)); err != nil {
		return nil, err
	}
	if out.OwnVotes, err = scanOwnVotes(queryOf(br)); err != nil {
		return nil, err
	}
	if out.Filters, err = collectFilters(queryOf(br)); err != nil {
		return nil, err
	}
	if err := br.QueryRow().Scan(&out.HiddenDomains, &out.Exclusive); err != nil {
		return nil, err
	}
	if err := br.QueryRow().Scan(&out.MutesEnd); err != nil {
		return nil, err
	}
	pulled, err := pgx.CollectRows(queryOf(br), pgx.RowTo[int64])
	if err != nil {
		return nil, err
	}
	out.Pulled = pulled
	return out, nil
}

// queryOf is the next result of a batch as rows; a failed statement's
// error comes out of the rows, as from a failed Query.
func queryOf(br pgx.BatchResults) pgx.Rows {
	rows, _ := br.Query() // on error rows carries it (rows.Err)
	return rows
}
