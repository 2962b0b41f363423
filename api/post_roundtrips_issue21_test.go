package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/api"
	"github.com/roost-social/roost/api/mastodon"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/actors"
	"github.com/roost-social/roost/federation/delivery"
	"github.com/roost-social/roost/federation/fetch"
	"github.com/roost-social/roost/federation/inbox"
	"github.com/roost-social/roost/federation/outbox"
	"github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/federation/social/quote"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant/oauth"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

// Issue 21, posting: what POST /api/v1/statuses sends to PostgreSQL, with
// the client API wired as `roost serve` wires it (quote posts on),
// counted with a pgx tracer on the one pool every part of the request
// uses. The post's quote policy was stored by a second transaction after
// the post's own — a second synchronous commit, announcing a change of
// the status it had just created — and is now written by the post's
// insert; only a post quoting another has more to record.
func TestIssue21PostRequestRoundTrips(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	cfg := w.db.Config()
	trips := &sqlTrips{}
	cfg.ConnConfig.Tracer = trips
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	store := postgres.New(pool)
	auth := &oauth.Service{Store: tenantpg.NewOAuthStore(pool)}
	rdb, prefix := testenv.Redis(t)
	queue := &delivery.Queue{Store: store, Redis: rdb, Prefix: prefix}
	ob := &outbox.Service{Keys: &actors.Keys{Store: store, Fetch: fetch.New(fetch.Config{})},
		Follows: store, Locals: &inbox.SiteLocals{Sites: w.opts.Sites, Accounts: store, Scheme: "https"},
		Send: queue, Publisher: store, Dispatch: queue, Mover: store, Store: store}
	o := w.opts
	o.Metrics = nil
	m := &mastodon.Handler{Auth: auth, Views: store, Client: store, Accounts: store, Outbox: ob, Sites: o.Sites, URL: o.URL, Polls: store}
	m.UseSocialStore(store, ob)
	m.Threads, m.InstanceData = store, store
	m.Quotes = &quote.Service{Views: store, Quotes: store, Sender: ob} // as cmd/roost wires it
	o.Mastodon, o.Accounts, o.Statuses = m, store, store
	app := api.New(o)
	token := mintToken(t, auth, w.aliceA)

	post := func(form map[string]any) (string, []string) {
		t.Helper()
		b, _ := json.Marshal(form)
		req, _ := http.NewRequest(http.MethodPost, "https://a.example/api/v1/statuses", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		trips.take()
		resp, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var st struct {
			ID string `json:"id"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || resp.StatusCode != 200 || st.ID == "" {
			t.Fatalf("post: %d %v", resp.StatusCode, err)
		}
		return st.ID, trips.take()
	}
	post(map[string]any{"status": "warm-up"}) // statements prepared, host and token cached as on a busy node
	id, sql := post(map[string]any{"status": "counted", "quote_approval_policy": "nobody"})
	t.Logf("POST /api/v1/statuses: %d round trips", len(sql))
	for _, s := range sql {
		t.Logf("  %s", s)
		if strings.Contains(s, "quote_policy =") {
			t.Errorf("the post's quote policy was written apart from the post: %s", s)
		}
	}
	commits := 0
	for _, s := range sql {
		if s == "commit" {
			commits++
		}
	}
	if commits != 1 {
		t.Errorf("the post took %d explicit commits, want 1 (its own transaction)", commits)
	}
	if len(sql) > postRoundTrips {
		t.Errorf("the post took %d round trips, want at most %d", len(sql), postRoundTrips)
	}
	// The answer renders the post with one plan kept for good, not a
	// custom plan per post (the general status query was planned again
	// on every post: 1–4 ms each). PostgreSQL plans a prepared statement
	// anew for its first five runs, then keeps a generic plan if it is no
	// worse.
	for range 8 {
		post(map[string]any{"status": "again"})
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	var custom, generic int64
	if err := conn.QueryRow(ctx, `select coalesce(sum(custom_plans), 0), coalesce(sum(generic_plans), 0)
		from pg_prepared_statements where statement like '%with ordinality as q(qid, ord)%'`).Scan(&custom, &generic); err != nil {
		t.Fatal(err)
	}
	if custom > 5 || generic == 0 {
		t.Errorf("the status view answering 10 posts was planned %d times (custom plans), %d runs reused a plan; want at most 5 plans", custom, generic)
	}
	var policy string
	if err := w.db.QueryRow(ctx, `select quote_policy from statuses where id = $1`, id).Scan(&policy); err != nil {
		t.Fatal(err)
	}
	if policy != string(federation.QuoteNobody) {
		t.Errorf("the post's quote policy is %q, want the one asked for (nobody)", policy)
	}
}

// postRoundTrips is POST /api/v1/statuses's budget on a warm node.
const postRoundTrips = 11
