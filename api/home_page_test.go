package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/api/mastodon"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/federation/social/card"
	"github.com/roost-social/roost/federation/social/filter"
	"github.com/roost-social/roost/federation/social/quote"
)

// roundTrips counts a pool's database round trips: every query, batch
// and prepare (a pgx batch is one round trip, whatever it holds).
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	r.n.Add(1)
	return ctx
}
func (r *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (r *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.n.Add(1)
	return ctx
}
func (r *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (r *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}
func (r *roundTrips) TracePrepareStart(ctx context.Context, _ *pgx.Conn, _ pgx.TracePrepareStartData) context.Context {
	r.n.Add(1)
	return ctx
}
func (r *roundTrips) TracePrepareEnd(context.Context, *pgx.Conn, pgx.TracePrepareEndData) {}

// tracedStore is a store on db's database over a pool of its own (one
// connection, so statements prepared by a first read are reused) that
// counts its round trips.
func tracedStore(t *testing.T, db *pgxpool.Pool) (*postgres.Store, *roundTrips) {
	t.Helper()
	cfg := db.Config()
	rt := &roundTrips{}
	cfg.ConnConfig.Tracer = rt
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return postgres.New(pool), rt
}

// separateReads hides the store's federation.HomePages: the handler then
// reads a home page as before issue 21, one read per kind of row.
type separateReads struct{ federation.ViewStore }

// useStore points every port rendering a home page reads at store, views
// answering the status and account reads.
func useStore(h *mastodon.Handler, views federation.ViewStore, store *postgres.Store) {
	h.Views = views
	h.Filters = &filter.Service{Store: store, Statuses: views, Hidden: store}
	h.Emojis = store
	h.Polls = store
	h.Cards = &card.Service{Views: store}
	h.Quotes = &quote.Service{Views: views, Quotes: store}
}

// homeWorld is notifWorld with alice of A's home holding every kind of
// row a page renders: bob's posts (one with a link card, one with a poll
// she voted on), bob's boost of her post, her favourite, bookmark and warn
// filter on bob's posts, and rows her mute, block and domain block hide.
func homeWorld(t *testing.T) (*notifWorld, *mastodon.Handler) {
	t.Helper()
	var h *mastodon.Handler
	w := newNotifWorld(t, func(m *mastodon.Handler) { h = m })
	a := w.aliceA
	w.call(t, a, http.MethodPost, fmt.Sprintf("/api/v1/accounts/%d/follow", w.bob.ID), nil).want(t, 200)
	var linkCard int64
	if err := w.db.QueryRow(context.Background(), `insert into link_cards (url, title) values ('https://link.example/x', 'X')
		returning id`).Scan(&linkCard); err != nil {
		t.Fatal(err)
	}
	carded := w.hiddenWorld.post(t, w.bob, map[string]any{"status": "plain #stack https://link.example/x"})
	w.exec(t, `insert into status_cards (status_id, card_id) values ($1, $2)`, carded, linkCard)
	polled := w.hiddenWorld.post(t, w.bob, map[string]any{"status": "plain question",
		"poll": map[string]any{"options": []string{"yes", "no"}, "expires_in": 3600}})
	w.call(t, a, http.MethodPost, "/api/v1/polls/"+polled+"/votes", map[string]any{"choices": []string{"0"}}).want(t, 200)
	w.call(t, w.bob, http.MethodPost, fmt.Sprintf("/api/v1/statuses/%d/reblog", w.post), nil).want(t, 200)
	w.call(t, a, http.MethodPost, "/api/v1/statuses/"+carded+"/favourite", nil).want(t, 200)
	w.call(t, a, http.MethodPost, "/api/v1/statuses/"+polled+"/bookmark", nil).want(t, 200)
	w.call(t, a, http.MethodPost, "/api/v2/filters", map[string]any{"title": "p", "filter_action": "warn",
		"context": []string{"home"}, "keywords_attributes": []map[string]any{{"keyword": "plain"}}}).want(t, 200)
	// Remote rows on her home: r1's she mutes, r2's she blocks, far's on
	// a domain she blocks, r3's she sees.
	for i, author := range []*federation.Account{w.r1, w.r2, w.far, w.r3} {
		st, err := w.accounts.UpsertRemoteStatus(context.Background(), &federation.Status{AccountID: author.ID,
			URI: fmt.Sprintf("https://%s/users/%s/statuses/home-%d", author.Domain, author.Username, i), Content: "<p>remote</p>",
			Visibility: federation.Public, To: []string{federation.PublicCollection}, Published: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		w.exec(t, `insert into home_feeds (account_id, status_id) values ($1, $2) on conflict do nothing`, a.ID, st.ID)
	}
	w.call(t, a, http.MethodPost, fmt.Sprintf("/api/v1/accounts/%d/mute", w.r1.ID), nil).want(t, 200)
	w.call(t, a, http.MethodPost, fmt.Sprintf("/api/v1/accounts/%d/block", w.r2.ID), nil).want(t, 200)
	w.call(t, a, http.MethodPost, "/api/v1/domain_blocks", map[string]any{"domain": "other.example"}).want(t, 200)
	return w, h
}

// TestIssue21HomePageOneRoundTrip: a home page, with boosts, a poll, a
// card, a warn filter and the viewer's favourite and bookmark, costs the
// store one round trip (it cost eight: the page, the statuses, the
// boosted originals, their accounts, cards, quote counts, quotes, the
// poll votes, the filters and the hides), and renders the same page as
// the separate reads.
func TestIssue21HomePageOneRoundTrip(t *testing.T) {
	w, h := homeWorld(t)
	store, rt := tracedStore(t, w.db)
	var bodies []string
	for _, tc := range []struct {
		name  string
		views federation.ViewStore
		most  int64
	}{{"separate reads", separateReads{store}, 100}, {"one batch", store, 1}} {
		useStore(h, tc.views, store)
		w.call(t, w.aliceA, http.MethodGet, "/api/v1/timelines/home", nil).want(t, 200) // prepares on the one connection
		rt.n.Store(0)
		r := w.call(t, w.aliceA, http.MethodGet, "/api/v1/timelines/home", nil).want(t, 200)
		n := rt.n.Load()
		t.Logf("%s: %d round trips", tc.name, n)
		if n > tc.most {
			t.Errorf("%s: a home page took %d round trips, want at most %d", tc.name, n, tc.most)
		}
		bodies = append(bodies, r.body)
	}
	if bodies[0] != bodies[1] {
		t.Errorf("one batch renders another page than the separate reads:\n%s\n%s", bodies[0], bodies[1])
	}
	page := decodeAs[[]struct {
		ID     string
		Reblog *struct{ ID string }
		Poll   *struct {
			Voted bool `json:"voted"`
		}
		Card       *struct{ Title string }
		Favourited bool  `json:"favourited"`
		Bookmarked bool  `json:"bookmarked"`
		Filtered   []any `json:"filtered"`
		Account    struct{ Acct string }
	}](t, reply{body: bodies[1]})
	var reblogs, votes, cards, favs, marks, warned, remote int
	for _, s := range page {
		switch {
		case s.Reblog != nil:
			reblogs++
		case s.Account.Acct == "r1@remote.example", s.Account.Acct == "r2@remote.example", strings.HasSuffix(s.Account.Acct, "other.example"):
			t.Errorf("a muted, blocked or domain-blocked author's post is shown: %+v", s)
		case s.Account.Acct == "r3@remote.example":
			remote++
		}
		if s.Poll != nil && s.Poll.Voted && s.Account.Acct == "bob" {
			votes++
		}
		if s.Card != nil && s.Card.Title == "X" {
			cards++
		}
		if s.Favourited {
			favs++
		}
		if s.Bookmarked {
			marks++
		}
		if len(s.Filtered) > 0 {
			warned++
		}
	}
	if reblogs != 1 || votes != 1 || cards != 1 || favs != 1 || marks != 1 || warned != 2 || remote != 1 {
		t.Errorf("page: %d boosts, %d voted polls, %d cards, %d favourites, %d bookmarks, %d warned, %d of r3; want 1 1 1 1 1 2 1:\n%s",
			reblogs, votes, cards, favs, marks, warned, remote, bodies[1])
	}
}

// TestIssue21HomePageSameAsSeparateReads walks every viewer's home by
// small pages (newest down through the Link header, and back up with
// min_id and since_id) in the fill world — hide filters, an exclusive
// list, a blocked domain, boosts of posts the viewer may not see —
// and checks the one-batch page is exactly the page the separate reads
// render, Link header included.
func TestIssue21HomePageSameAsSeparateReads(t *testing.T) {
	var h *mastodon.Handler
	w := newFillWorld(t, func(m *mastodon.Handler) { h = m })
	store := h.Views.(*postgres.Store)
	for _, a := range []*federation.Account{w.aliceA, w.bob, w.aliceB} {
		targets := []string{"/api/v1/timelines/home?limit=2"}
		for i := 0; i < len(targets) && i < 40; i++ {
			var got [2]reply
			for j, views := range []federation.ViewStore{separateReads{store}, store} {
				useStore(h, views, store)
				got[j] = w.call(t, a, http.MethodGet, targets[i], nil).want(t, 200)
			}
			if got[0] != got[1] {
				t.Fatalf("%s %s: one batch %+v, separate reads %+v", a.Username, targets[i], got[1], got[0])
			}
			for _, rel := range []string{"next", "prev"} {
				if next := linkTarget(t, got[1].link, rel); next != "" && i < 12 {
					targets = append(targets, next)
				}
			}
		}
		if len(targets) < 3 {
			t.Fatalf("%s: the walk read %d pages", a.Username, len(targets))
		}
	}
}

// linkTarget is the path and query of the Link header's rel URL.
func linkTarget(t *testing.T, link, rel string) string {
	t.Helper()
	for _, part := range strings.Split(link, ",") {
		if !strings.Contains(part, `rel="`+rel+`"`) {
			continue
		}
		raw := strings.TrimSpace(part[strings.Index(part, "<")+1 : strings.Index(part, ">")])
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		return u.RequestURI()
	}
	return ""
}

// TestIssue21HomePageKeepsVisibilityAndTenants: rows on a home feed the
// viewer may not see never render from the one batch: another tenant's
// followers-only and direct posts, a remote post her tenant's moderators
// hid, and a boost of a post she may not see.
func TestIssue21HomePageKeepsVisibilityAndTenants(t *testing.T) {
	w, h := homeWorld(t)
	store := h.Views.(*postgres.Store)
	useStore(h, store, store)
	b := w.aliceB
	public := w.hiddenWorld.post(t, w.aliceA, map[string]any{"status": "for everyone"})
	st, err := w.accounts.UpsertRemoteStatus(context.Background(), &federation.Status{AccountID: w.r3.ID,
		URI: "https://remote.example/users/r3/statuses/moderated", Content: "<p>moderated</p>",
		Visibility: federation.Public, To: []string{federation.PublicCollection}, Published: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	w.exec(t, `insert into tenant_hidden_statuses (tenant_id, status_id) values ($1, $2)`, w.tenantB.ID, st.ID)
	var boost int64
	if err := w.db.QueryRow(context.Background(), `insert into statuses (account_id, uri, content, visibility, reblog_of_id, published_at)
		values ($1, 'https://remote.example/users/r3/boost-private', '', 'public', $2, now()) returning id`,
		w.r3.ID, w.private).Scan(&boost); err != nil {
		t.Fatal(err)
	}
	for _, id := range []any{w.private, w.direct, st.ID, boost, public} {
		w.exec(t, `insert into home_feeds (account_id, status_id) values ($1, $2) on conflict do nothing`, b.ID, id)
	}
	page := decodeAs[[]struct{ ID string }](t, w.call(t, b, http.MethodGet, "/api/v1/timelines/home", nil).want(t, 200))
	var ids []string
	for _, s := range page {
		ids = append(ids, s.ID)
	}
	for _, id := range []any{w.private, w.direct, st.ID, boost} {
		if strings.Contains(" "+strings.Join(ids, " ")+" ", fmt.Sprintf(" %d ", id)) {
			t.Errorf("alice of B's home shows %d, which she may not see: %v", id, ids)
		}
	}
	if !strings.Contains(" "+strings.Join(ids, " ")+" ", " "+public+" ") {
		t.Errorf("alice of B's home lacks alice of A's public post %s: %v", public, ids)
	}
}
