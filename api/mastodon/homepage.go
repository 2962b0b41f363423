package mastodon

import (
	"context"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/filter"
)

// homePage renders the home timeline from one round trip when the store
// reads pages whole (federation.HomePages, issue 21): the first page's
// ids and everything rendering them reads (statuses, originals, accounts,
// cards, quotes, poll votes, what the viewer hides) come from one batch,
// and the renderer runs unchanged over ports that answer from it. A read
// the batch did not cover (a later fill batch, a quoted post, custom
// emojis, a relationship) goes to the store as before, so the page is
// exactly what the separate reads would render.
// deps, when not nil, records what the page was rendered from
// (homecache.go).
func (h *Handler) homePage(c *fiber.Ctx, pages federation.HomePages, deps *pageDeps) error {
	pre := &prefetch{viewer: viewer(c), deps: deps}
	read := byOwnID(func(p federation.Page) ([]int64, error) {
		if pre.page != nil {
			ids, err := h.Views.HomeTimeline(c.UserContext(), pre.viewer, p)
			pre.deps.statuses(ids)
			return ids, err
		}
		hp, err := pages.HomePage(c.UserContext(), pre.viewer, p)
		if err != nil {
			return nil, err
		}
		pre.fill(hp)
		pre.deps.page(hp)
		return hp.IDs, nil
	})
	return h.prefetched(pre).statusList(c, page(c, 20, 40), read)
}

// prefetched is a copy of h whose ports answer from pre once it is
// filled, and from h's ports otherwise.
func (h *Handler) prefetched(pre *prefetch) *Handler {
	hh := *h
	hh.Views = preViews{ViewStore: h.Views, pre: pre}
	if h.Cards != nil && h.Cards.Views != nil {
		cards := *h.Cards
		cards.Views = preCards{CardViews: h.Cards.Views, pre: pre}
		hh.Cards = &cards
	}
	if h.Quotes != nil && h.Quotes.Quotes != nil {
		quotes := *h.Quotes
		quotes.Quotes = preQuotes{QuoteStore: h.Quotes.Quotes, pre: pre}
		hh.Quotes = &quotes
	}
	if h.Polls != nil {
		hh.Polls = prePolls{PollStore: h.Polls, pre: pre}
	}
	base := h.Filters
	if h.Viewings != nil {
		base, _ = h.Viewings.(*filter.Service) // another kind of Viewings is kept as it is
	}
	if h.Filters != nil && base != nil && base.Store != nil && base.Hidden != nil {
		v := *base
		v.Store = preFilters{FilterStore: base.Store, pre: pre}
		v.Hidden = preHidden{inner: base.Hidden, pre: pre}
		hh.Viewings = &v
	}
	return &hh
}

// prefetch is one request's home page read whole, and which reads it
// answers: statuses are the page's ids and the originals of its boosts
// (an id of these missing from the page is one the viewer may not see),
// accounts those statuses' authors and mentioned accounts.
type prefetch struct {
	viewer   int64
	deps     *pageDeps // nil: not recorded
	page     *federation.HomePage
	statuses map[int64]bool
	accounts map[int64]bool
}

func (p *prefetch) fill(hp *federation.HomePage) {
	p.page = hp
	p.statuses = make(map[int64]bool, 2*len(hp.IDs))
	p.accounts = make(map[int64]bool, len(hp.Accounts))
	for _, id := range hp.IDs {
		p.statuses[id] = true
		if v := hp.Statuses[id]; v != nil && v.ReblogOfID != 0 {
			p.statuses[v.ReblogOfID] = true
		}
	}
	for _, v := range hp.Statuses {
		p.accounts[v.AccountID] = true
		for _, m := range v.MentionIDs {
			p.accounts[m] = true
		}
	}
}

// covers reports whether the page answers a read of ids by viewerID.
func (p *prefetch) covers(viewerID int64, ids []int64, in map[int64]bool) bool {
	if p.page == nil || viewerID != p.viewer {
		return false
	}
	for _, id := range ids {
		if !in[id] {
			return false
		}
	}
	return true
}

// pick is m narrowed to ids, as a store read of ids answers.
func pick[V any](m map[int64]V, ids []int64) map[int64]V {
	out := make(map[int64]V, len(ids))
	for _, id := range ids {
		if v, ok := m[id]; ok {
			out[id] = v
		}
	}
	return out
}

type preViews struct {
	federation.ViewStore
	pre *prefetch
}

func (v preViews) StatusViews(ctx context.Context, viewerID int64, ids []int64) ([]*federation.StatusView, error) {
	v.pre.deps.statuses(ids)
	if !v.pre.covers(viewerID, ids, v.pre.statuses) {
		views, err := v.ViewStore.StatusViews(ctx, viewerID, ids)
		v.pre.deps.views(views)
		return views, err
	}
	out := make([]*federation.StatusView, 0, len(ids))
	for _, id := range ids {
		if s := v.pre.page.Statuses[id]; s != nil {
			out = append(out, s)
		}
	}
	v.pre.deps.views(out)
	return out, nil
}

func (v preViews) AccountViews(ctx context.Context, ids []int64) (map[int64]*federation.AccountView, error) {
	v.pre.deps.accounts(ids)
	if !v.pre.covers(v.pre.viewer, ids, v.pre.accounts) {
		return v.ViewStore.AccountViews(ctx, ids)
	}
	return pick(v.pre.page.Accounts, ids), nil
}

type preCards struct {
	federation.CardViews
	pre *prefetch
}

func (c preCards) CardsOfStatuses(ctx context.Context, ids []int64) (map[int64]*federation.Card, error) {
	if !c.pre.covers(c.pre.viewer, ids, c.pre.statuses) {
		return c.CardViews.CardsOfStatuses(ctx, ids)
	}
	return pick(c.pre.page.Cards, ids), nil
}

type preQuotes struct {
	federation.QuoteStore
	pre *prefetch
}

func (q preQuotes) QuotesOf(ctx context.Context, ids []int64) (map[int64]*federation.Quote, error) {
	q.pre.deps.statuses(ids)
	if !q.pre.covers(q.pre.viewer, ids, q.pre.statuses) {
		quotes, err := q.QuoteStore.QuotesOf(ctx, ids)
		q.pre.deps.quotes(quotes)
		return quotes, err
	}
	quotes := pick(q.pre.page.Quotes, ids)
	q.pre.deps.quotes(quotes)
	return quotes, nil
}

func (q preQuotes) QuotesCounts(ctx context.Context, ids []int64) (map[int64]int64, error) {
	if !q.pre.covers(q.pre.viewer, ids, q.pre.statuses) {
		return q.QuoteStore.QuotesCounts(ctx, ids)
	}
	return pick(q.pre.page.QuotesCounts, ids), nil
}

type prePolls struct {
	federation.PollStore
	pre *prefetch
}

func (p prePolls) OwnVotes(ctx context.Context, accountID int64, ids []int64) (map[int64][]int, error) {
	if !p.pre.covers(accountID, ids, p.pre.statuses) {
		return p.PollStore.OwnVotes(ctx, accountID, ids)
	}
	return pick(p.pre.page.OwnVotes, ids), nil
}

type preFilters struct {
	federation.FilterStore
	pre *prefetch
}

func (f preFilters) Filters(ctx context.Context, ownerID int64) ([]*federation.Filter, error) {
	if !f.pre.covers(ownerID, nil, nil) {
		return f.FilterStore.Filters(ctx, ownerID)
	}
	return f.pre.page.Filters, nil
}

type preHidden struct {
	inner filter.Hidden
	pre   *prefetch
}

func (h preHidden) Hidden(ctx context.Context, accountID int64) ([]string, []int64, error) {
	if !h.pre.covers(accountID, nil, nil) {
		return h.inner.Hidden(ctx, accountID)
	}
	return h.pre.page.HiddenDomains, h.pre.page.Exclusive, nil
}
