package postgres_test

import (
	"context"
	"reflect"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/federation"
	fedpg "github.com/roost-social/roost/federation/postgres"
)

// TestIssue21HomePageIsTheSeparateReads: HomePage answers, for every page
// of the paged world's readers (rows they may not see newer than those
// they may, boosts, another tenant's reader), exactly what HomeTimeline,
// StatusViews, AccountViews, CardsOfStatuses, QuotesCounts, QuotesOf,
// OwnVotes, Filters and Hidden answer one by one; and the page's ids,
// kept in a setting between the batch's statements, are gone from the
// connection once it returns.
func TestIssue21HomePageIsTheSeparateReads(t *testing.T) {
	t.Parallel()
	w := newPagedWorld(t)
	ctx := context.Background()
	cfg := w.db.Config()
	cfg.MaxConns = 1 // the setting would show on the next read of the one connection
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	s := fedpg.New(pool)
	for _, r := range []*federation.Account{w.bob, w.carol, w.alice, w.dave} {
		for _, p := range []federation.Page{{Limit: 1}, {Limit: 2}, {Limit: 20}, {Limit: 20, MaxID: w.visible.ID + 1},
			{Limit: 1, MinID: 1}, {Limit: 20, SinceID: w.visible.ID}} {
			got, err := s.HomePage(ctx, r.ID, p)
			if err != nil {
				t.Fatalf("%s %+v: %v", r.Username, p, err)
			}
			var left *string
			if err := pool.QueryRow(ctx, `select nullif(current_setting('roost.home_statuses', true), '')`).Scan(&left); err != nil || left != nil {
				t.Errorf("%s %+v: the page's setting outlived its batch: %v %v", r.Username, p, left, err)
			}
			want := separateHomePage(t, s, r.ID, p)
			// The batch may read more accounts (of boosted posts the
			// reader may not see), which nothing asks it for.
			for id, a := range want.Accounts {
				if !reflect.DeepEqual(got.Accounts[id], a) {
					t.Errorf("%s %+v: account %d: batch %+v, separate %+v", r.Username, p, id, got.Accounts[id], a)
				}
			}
			got.Accounts = want.Accounts
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s %+v:\nbatch    %+v\nseparate %+v", r.Username, p, got, want)
			}
			for _, hidden := range []int64{w.direct.ID, w.private.ID, w.blockedBy.ID} {
				if r.ID != w.alice.ID && (got.Statuses[hidden] != nil || slices.Contains(got.IDs, hidden)) {
					t.Errorf("%s %+v: the page holds %d, which the reader may not see", r.Username, p, hidden)
				}
			}
		}
	}
}

// separateHomePage reads what HomePage answers with the separate reads.
func separateHomePage(t *testing.T, s *fedpg.Store, viewer int64, p federation.Page) *federation.HomePage {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	out := &federation.HomePage{Statuses: map[int64]*federation.StatusView{}}
	var err error
	out.IDs, err = s.HomeTimeline(ctx, viewer, p)
	must(err)
	all := slices.Clone(out.IDs)
	views, err := s.StatusViews(ctx, viewer, out.IDs)
	must(err)
	for _, v := range views {
		if v.ReblogOfID != 0 {
			all = append(all, v.ReblogOfID)
		}
	}
	views, err = s.StatusViews(ctx, viewer, all)
	must(err)
	var accounts []int64
	for _, v := range views {
		out.Statuses[v.ID] = v
		accounts = append(append(accounts, v.AccountID), v.MentionIDs...)
	}
	out.Accounts, err = s.AccountViews(ctx, accounts)
	must(err)
	out.Cards, err = s.CardsOfStatuses(ctx, all)
	must(err)
	out.QuotesCounts, err = s.QuotesCounts(ctx, all)
	must(err)
	out.Quotes, err = s.QuotesOf(ctx, all)
	must(err)
	out.OwnVotes, err = s.OwnVotes(ctx, viewer, all)
	must(err)
	out.Filters, err = s.Filters(ctx, viewer)
	must(err)
	out.HiddenDomains, out.Exclusive, err = s.Hidden(ctx, viewer)
	must(err)
	out.Pulled, err = s.PulledFollowees(ctx, viewer)
	must(err)
	if len(out.IDs) == 0 {
		out.IDs = []int64{} // the batch reads an empty array, not none
	}
	return out
}
