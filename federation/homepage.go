package federation

import (
	"context"
	"time"
)

// HomePage is one page of a viewer's home timeline with everything that
// rendering it reads, as the separate reads would return it: the page's
// statuses and the originals they boost (those the viewer may see), their
// authors and mentioned accounts, link cards, quotes, the viewer's poll
// votes, and what the viewer hides (filters, blocked domains, exclusive
// lists) — all read fresh, in one database round trip (issue 21).
type HomePage struct {
	// IDs is the page, newest first (HomeTimeline's answer).
	IDs []int64
	// Statuses are the views of the page's statuses and of the originals
	// they boost, by id: an id of either that is missing is one the
	// viewer may not see (StatusViews leaves it out too).
	Statuses map[int64]*StatusView
	// Accounts are the views of those statuses' authors and mentioned
	// accounts, by id (AccountViews).
	Accounts map[int64]*AccountView
	// Cards, QuotesCounts and Quotes are CardsOfStatuses, QuotesCounts and
	// QuotesOf of those statuses.
	Cards        map[int64]*Card
	QuotesCounts map[int64]int64
	Quotes       map[int64]*Quote
	// OwnVotes are the viewer's votes on those statuses' polls (OwnVotes).
	OwnVotes map[int64][]int
	// Filters, HiddenDomains and Exclusive are the viewer's filters,
	// blocked domains and exclusive lists' members (FilterStore.Filters,
	// Hidden).
	Filters       []*Filter
	HiddenDomains []string
	Exclusive     []int64
	// Pulled are the read authors the viewer follows (migration 060):
	// their new posts reach the page without a feed row, so a new post of
	// one changes it.
	Pulled []int64
	// MutesEnd is when the earliest of the viewer's timed mutes still
	// running ends (nil: none): the page may change then (issue 21's
	// page cache keeps it no longer).
	MutesEnd *time.Time
}

// HomePages reads home timeline pages in one round trip. A ViewStore may
// implement it; the client API then renders the first page read from it.
type HomePages interface {
	// HomePage reads the page p of viewerID's home timeline (the rows
	// HomeTimeline returns) and what rendering it reads.
	HomePage(ctx context.Context, viewerID int64, p Page) (*HomePage, error)
}
