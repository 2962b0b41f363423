package api_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/api"
	"github.com/roost-social/roost/api/mastodon"
	"github.com/roost-social/roost/api/public"
	"github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/federation/social/about"
	"github.com/roost-social/roost/federation/social/card"
	"github.com/roost-social/roost/federation/social/quote"
)

// sqlTrips records a pool's database round trips (each query, batch and
// prepare) with the start of their SQL, to see what a page costs.
type sqlTrips struct {
	mu  sync.Mutex
	sql []string
}

func (r *sqlTrips) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 110 {
		s = s[:110]
	}
	r.sql = append(r.sql, s)
}

func (r *sqlTrips) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.sql
	r.sql = nil
	return out
}

func (r *sqlTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.add(d.SQL)
	return ctx
}
func (r *sqlTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (r *sqlTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.add("(batch)")
	return ctx
}
func (r *sqlTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (r *sqlTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}
func (r *sqlTrips) TracePrepareStart(ctx context.Context, _ *pgx.Conn, d pgx.TracePrepareStartData) context.Context {
	r.add("(prepare) " + d.SQL)
	return ctx
}
func (r *sqlTrips) TracePrepareEnd(context.Context, *pgx.Conn, pgx.TracePrepareEndData) {}

// Issue 18: the database round trips of a public page rendered on a
// cache miss (a profile with 20 posts, a post in a 20-reply thread),
// counted with a pgx tracer on the pool every reader of the page uses.
func TestIssue18PublicPageRoundTrips(t *testing.T) {
	t.Parallel()
	w := newWebWorld(t)
	var first apiStatus
	for i := range 20 {
		st := w.post(t, w.aliceA, map[string]any{"status": "post " + strconv.Itoa(i) + " #roost"})
		if i == 0 {
			first = st
		}
	}
	for i := range 20 {
		w.post(t, w.bob, map[string]any{"status": "@alice reply " + strconv.Itoa(i), "in_reply_to_id": first.ID})
	}

	cfg := w.db.Config()
	trips := &sqlTrips{}
	cfg.ConnConfig.Tracer = trips
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	store := postgres.New(pool)
	o := w.opts
	o.Metrics = nil
	m := &mastodon.Handler{Views: store, Client: store, Accounts: store, Sites: o.Sites, URL: o.URL, Polls: store}
	m.UseSocialStore(store, nil)
	m.Threads, m.InstanceData = store, store
	m.About = &about.Service{Store: store}
	m.Cards, m.Quotes = &card.Service{Views: store}, &quote.Service{Views: store, Quotes: store} // as cmd/roost wires them
	o.Mastodon, o.Accounts, o.Statuses = m, store, store
	o.Public = &public.Handler{Accounts: store, Views: store, Source: m, URL: o.URL, Log: o.Log, Emojis: store, Sizes: store}
	app := api.New(o)
	page := func(path string) []string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "https://a.example"+path, nil)
		req.Header.Set("Accept", "text/html")
		for range 2 { // the second: statements prepared, host cached
			trips.take()
			resp, err := app.Test(req, -1)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("%s: %v %v", path, resp, err)
			}
			resp.Body.Close()
		}
		return trips.take()
	}
	// At most: the account (2), its pinned and paged ids (2), the posts,
	// their authors, cards, quote counts and quotes (5); a post page reads
	// its thread in one batch (the visibility check and both walks; three
	// round trips before).
	for _, p := range []struct {
		path string
		max  int
	}{{"/@alice", 9}, {"/@alice/" + first.ID, 8}, {"/tags/roost", 6}, {"/@alice.rss", 8}} {
		sql := page(p.path)
		t.Logf("%s: %d round trips", p.path, len(sql))
		for _, s := range sql {
			t.Logf("  %s", s)
		}
		if len(sql) > p.max {
			t.Errorf("%s took %d round trips, want at most %d", p.path, len(sql), p.max)
		}
	}
}
