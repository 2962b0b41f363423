package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/tenant/oauth"
)

// The follow patterns of `roost bench timeline`: each has its own
// reader following -follows remote accounts of its own domain; the
// reader of "read" follows often.test's too, and -read-authors local
// authors read by their followers (issue 21, migration 060): their posts
// have no row in the reader's feed, the page merges them in.
var timelinePatterns = []struct{ name, domain, about string }{
	{"often", "often.test", "followees who post often (most of the database is theirs, over the last 30 days)"},
	{"once", "once.test", "followees with one post each (over the last 30 days)"},
	{"dormant", "dormant.test", "dormant followees whose posts are all 400 to 700 days old"},
	{"read", "often.test", "followees who post often, and local authors as busy whose followers read them (no feed rows: the page merges their posts in)"},
}

// TimelineOptions are the flags of `roost bench timeline`.
type TimelineOptions struct {
	Statuses    int      // statuses in the database
	Follows     int      // accounts each reader follows
	Requests    int      // timed reads per pattern
	Pages       int      // pages read with max_id before starting again from the top
	Concurrency int      // reads in flight
	Patterns    []string // patterns to measure
	ReadAuthors int      // local authors, read by their followers, the "read" pattern's reader follows
	Explain     bool     // print the plans of one top and one deep read and of a "For you" page per pattern
	CPUProfile  string   // a CPU profile of the timed reads, when set
}

// TimelineViews are the reads behind a home timeline page and a "For
// you" page, measured alone (db_* figures, the plans of --explain).
type TimelineViews interface {
	HomeTimeline(ctx context.Context, accountID int64, p federation.Page) ([]int64, error)
	StatusViews(ctx context.Context, viewerID int64, ids []int64) ([]*federation.StatusView, error)
	AccountViews(ctx context.Context, ids []int64) (map[int64]*federation.AccountView, error)
	ForYou(ctx context.Context, accountID int64, limit int) ([]federation.ForYouItem, error)
}

// Timeline is what the timeline benchmark reads through: the client API,
// the views it reads with, and the same views over another pool (the
// single connection --explain makes auto_explain log on).
type Timeline struct {
	Env
	API
	Views   TimelineViews
	ViewsOn func(db *pgxpool.Pool) TimelineViews
	// Emit prints one result line (one per pattern).
	Emit func(v any) error
}

// Run measures home timeline reads, GET /api/v1/timelines/home?limit=40
// and its max_id pages, through the real client API on a loopback
// listener with real OAuth tokens, over a seeded database: o.Statuses
// statuses, three readers following o.Follows accounts each (one per
// pattern), home feeds filled as fan-out on write fills them. It emits
// one result per pattern; db_* are the same reads' database calls alone
// (token, feed page, statuses, accounts).
func (b Timeline) Run(ctx context.Context, o TimelineOptions) error {
	out := b.progress()
	tn, err := b.Tenants.CreateTenant(ctx, "Bench", "bench.test", "")
	if err != nil {
		return err
	}
	readers := map[string]*federation.Account{}
	for _, p := range timelinePatterns {
		if readers[p.name], err = b.CreateAccount(ctx, "bench.test", p.name, p.name+"@bench.test", "bench password", p.name); err != nil {
			return err
		}
	}
	t0 := time.Now()
	if err := seedTimelines(ctx, b.DB, out, readers, tn.ID, o); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	fmt.Fprintf(out, "seeded %d statuses, %d follows per reader in %s\n", o.Statuses, o.Follows, time.Since(t0).Round(time.Second))

	srv, err := startClient(b.Server)
	if err != nil {
		return err
	}
	defer srv.stop()
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	for _, p := range timelinePatterns {
		if !slices.Contains(o.Patterns, p.name) {
			continue
		}
		res, err := b.pattern(ctx, srv, o, p.name, p.about, tn.ID, readers[p.name])
		if err != nil {
			return err
		}
		if err := b.Emit(res); err != nil {
			return err
		}
	}
	return nil
}

// pattern measures one follow pattern's reader.
func (b Timeline) pattern(ctx context.Context, srv *client, o TimelineOptions, name, about string, tenantID int64, reader *federation.Account) (*timelineResult, error) {
	fmt.Fprintf(b.progress(), "%s: %s\n", name, about)
	tok, err := token(ctx, b.OAuth, tenantID, reader.ID, "read")
	if err != nil {
		return nil, err
	}
	read := func(maxID int64) (int64, int, error) {
		path := "/api/v1/timelines/home?limit=40"
		if maxID > 0 {
			path += "&max_id=" + strconv.FormatInt(maxID, 10)
		}
		return srv.getPage(tok, path)
	}
	// Warm up (connections, caches), then time.
	if _, err := walkPages(20, 1, o.Pages, read); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	start, cpu0 := time.Now(), cpuTime()
	lat, err := walkPages(o.Requests, o.Concurrency, o.Pages, read)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	wall, cpu := time.Since(start), cpuTime()-cpu0

	// The same reads' database calls alone, one at a time.
	db := func(maxID int64) (int64, int, error) {
		return dbHomePage(ctx, b.Views, b.OAuth, tenantID, tok, reader.ID, maxID)
	}
	dbLat, err := walkPages(o.Requests, 1, o.Pages, db)
	if err != nil {
		return nil, fmt.Errorf("%s (database): %w", name, err)
	}
	// The floor: the bare indexed read of the same pages' ids from the
	// reader's home feed, one at a time, on the same database now.
	bare := func(maxID int64) (int64, int, error) {
		if maxID == 0 {
			maxID = math.MaxInt64
		}
		rows, err := b.DB.Query(ctx, `select status_id from home_feeds where account_id = $1 and status_id < $2
			order by status_id desc limit 40`, reader.ID, maxID)
		if err != nil {
			return 0, 0, err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil || len(ids) == 0 {
			return 0, 0, err // none: from the top again, as walkPages reads an empty page
		}
		return ids[len(ids)-1], 100, nil // any rows: a page, walked on
	}
	floorLat, err := walkPages(o.Requests, 1, o.Pages, bare)
	if err != nil {
		return nil, fmt.Errorf("%s (floor): %w", name, err)
	}
	// "For you" pages of 20 (docs/for-you.md), one at a time.
	fyLat := make([]time.Duration, 0, o.Requests/5)
	for range o.Requests / 5 {
		t := time.Now()
		_, size, err := srv.getPage(tok, "/api/v1/timelines/for_you?limit=20")
		if err == nil && name == "often" && size < 100 {
			err = fmt.Errorf("an empty page, though followees who post often posted in the window")
		}
		if err != nil {
			return nil, fmt.Errorf("%s (for you): %w", name, err)
		}
		fyLat = append(fyLat, time.Since(t))
	}
	if o.Explain {
		if err := b.explainHome(ctx, tenantID, tok, reader.ID, o.Pages, name); err != nil {
			return nil, err
		}
	}
	var statuses, feed int64
	if err := b.DB.QueryRow(ctx, `select (select count(*) from statuses), (select count(*) from home_feeds where account_id = $1)`,
		reader.ID).Scan(&statuses, &feed); err != nil {
		return nil, fmt.Errorf("count statuses: %w", err)
	}
	readAuthors := 0
	if name == "read" {
		readAuthors = o.ReadAuthors
	}
	return &timelineResult{
		Bench: "timeline", Pattern: name, Statuses: statuses, Follows: o.Follows, ReadAuthors: readAuthors,
		P50: pct(lat, 50), P99: pct(lat, 99), PerSecond: round3(float64(len(lat)) / wall.Seconds()),
		DBP50: pct(dbLat, 50), DBP99: pct(dbLat, 99), Requests: len(lat), Concurrency: o.Concurrency, FeedRows: feed,
		CPUPerRead: round3(float64(cpu.Microseconds()) / 1000 / float64(len(lat))),
		ForYouP50:  pct(fyLat, 50), ForYouP99: pct(fyLat, 99),
		FloorP50: pct(floorLat, 50), FloorP99: pct(floorLat, 99),
		P99OverFloor: round3(pct(lat, 99) / max(pct(floorLat, 99), 0.001)),
	}, nil
}

type timelineResult struct {
	Bench    string `json:"bench"`
	Pattern  string `json:"pattern"`
	Statuses int64  `json:"statuses"`
	Follows  int    `json:"follows"`
	// ReadAuthors are the "read" pattern's read followees (their posts
	// merged into the page, no feed rows).
	ReadAuthors int     `json:"read_authors,omitempty"`
	P50         float64 `json:"p50_ms"`
	P99         float64 `json:"p99_ms"`
	PerSecond   float64 `json:"per_second"`
	DBP50       float64 `json:"db_p50_ms"`
	DBP99       float64 `json:"db_p99_ms"`
	Requests    int     `json:"requests"`
	Concurrency int     `json:"concurrency"`
	FeedRows    int64   `json:"home_feed_rows"`
	// CPUPerRead is the CPU time (this process, client included, and its
	// PostgreSQL) per read: what a read costs, whatever else the machine
	// runs.
	CPUPerRead float64 `json:"cpu_ms_per_read"`
	// ForYou* are GET /api/v1/timelines/for_you?limit=20 reads.
	ForYouP50 float64 `json:"for_you_p50_ms"`
	ForYouP99 float64 `json:"for_you_p99_ms"`
	// FloorP50 and FloorP99 are the bare indexed read of the same pages'
	// ids (home_feeds by reader, newest first, 40), one at a time in the
	// same run: what the database's least work for a page costs now.
	// P99OverFloor (p99 over FloorP99) survives the machine's load.
	FloorP50     float64 `json:"floor_p50_ms"`
	FloorP99     float64 `json:"floor_p99_ms"`
	P99OverFloor float64 `json:"p99_over_floor"`
}

// seedTimelines fills the database with set-based statements, in one
// transaction with triggers off (session_replication_role = replica; the
// counters they keep are computed afterwards):
//
//   - often.test: follows accounts posting ¾ of all statuses between them,
//     over the last 30 days;
//   - once.test: follows accounts with one post each, over the last 30 days;
//   - dormant.test: follows accounts with 10 posts each, 400–700 days old;
//   - other.test: 5,000 accounts nobody here follows post the rest.
//
// Statuses are inserted in publication order, so ids follow time as they
// do when posts arrive. Each reader's home feed holds every post of the
// accounts they follow, as fan-out on write (local delivery, the inbox's
// AddToHomeFeeds) puts them there when followees post.
//
// For the "read" pattern, o.ReadAuthors local accounts of the tenant
// (read_1, read_2, ...) post as often as often.test's, marked as read by
// their followers (home_pull_authors, as the fan-out job marks them):
// the reader follows them, and its feed holds none of their posts.
func seedTimelines(ctx context.Context, db *pgxpool.Pool, out io.Writer, readers map[string]*federation.Account, tenantID int64, o TimelineOptions) error {
	statuses, follows := o.Statuses, o.Follows
	often := max(1, statuses*3/4/follows)
	const dormantPosts, others = 10, 5000
	background := statuses - follows*often - follows - follows*dormantPosts
	if background < 0 {
		return fmt.Errorf("%d statuses are too few for %d follows per reader", statuses, follows)
	}
	tx, err := db.Begin(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(ctx) }() // after Commit, a no-op
	step := func(what, sql string, args ...any) error {
		t := time.Now()
		tag, err := tx.Exec(ctx, sql, args...)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		fmt.Fprintf(out, "  %s: %d rows in %s\n", what, tag.RowsAffected(), time.Since(t).Round(time.Millisecond))
		return nil
	}
	if err := step("replica mode", `set local session_replication_role = replica`); err != nil {
		return err
	}
	for _, g := range []struct {
		domain string
		n      int
	}{{"often.test", follows}, {"once.test", follows}, {"dormant.test", follows}, {"other.test", others}} {
		if err := step("accounts "+g.domain, `
			insert into accounts (domain, username, display_name, public_key_pem, uri, url, inbox_url, actor_type, fetched_at)
			select $1, 'u' || i, 'User ' || i || ' of ' || $1, '', 'http://' || $1 || '/users/u' || i,
				'http://' || $1 || '/@u' || i, 'http://' || $1 || '/users/u' || i || '/inbox', 'Person', now()
			from generate_series(1, $2::int) i`, g.domain, g.n); err != nil {
			return err
		}
	}
	if err := step("read authors", `
		with a as (
			insert into accounts (tenant_id, domain, username, display_name, public_key_pem, private_key_pem)
			select $1, 'bench.test', 'read_' || i, 'Read ' || i, '', 'unused' from generate_series(1, $2::int) i
			returning id)
		insert into home_pull_authors (account_id) select id from a`, tenantID, o.ReadAuthors); err != nil {
		return err
	}
	if err := step("statuses", `
		insert into statuses (account_id, tenant_id, uri, url, content, visibility, to_uris, language, published_at, created_at)
		select account_id, tenant_id, uri || '/statuses/' || n, url || '/' || n,
			'<p>Post ' || n || ' by ' || username || ', with a little text to render as a real post would.</p>',
			'public', '{https://www.w3.org/ns/activitystreams#Public}', 'en', t, t
		from (
			select a.id as account_id, a.tenant_id, a.uri, a.url, a.username, g.n, now() - random() * interval '30 days' as t
			from accounts a cross join generate_series(1, $1::int) g(n) where a.domain = 'often.test'
			union all
			select a.id, a.tenant_id, 'https://bench.test/users/' || a.username, 'https://bench.test/@' || a.username, a.username,
				g.n, now() - random() * interval '30 days'
			from home_pull_authors p join accounts a on a.id = p.account_id cross join generate_series(1, $1::int) g(n)
			union all
			select a.id, a.tenant_id, a.uri, a.url, a.username, 1, now() - random() * interval '30 days'
			from accounts a where a.domain = 'once.test'
			union all
			select a.id, a.tenant_id, a.uri, a.url, a.username, g.n, now() - interval '400 days' - random() * interval '300 days'
			from accounts a cross join generate_series(1, $2::int) g(n) where a.domain = 'dormant.test'
			union all
			(select a.id, a.tenant_id, a.uri, a.url, a.username, g.n, now() - random() * interval '30 days'
			from accounts a cross join generate_series(1, ($3::int + $4::int - 1) / $4::int) g(n)
			where a.domain = 'other.test' limit $3::int)
		) x order by t`, often, dormantPosts, background, others); err != nil {
		return err
	}
	for _, p := range timelinePatterns {
		if err := step("follows "+p.name, `
			insert into follows (follower_id, followee_id, state, uri)
			select $1::bigint, a.id, 'accepted', 'http://bench.test/follows/' || $1::bigint || '/' || a.id
			from accounts a where a.domain = $2
				or $3 and a.id in (select account_id from home_pull_authors)`, readers[p.name].ID, p.domain, p.name == "read"); err != nil {
			return err
		}
	}
	var ids []int64
	for _, r := range readers {
		ids = append(ids, r.ID)
	}
	steps := []struct{ what, sql string }{
		{"home feeds", `insert into home_feeds (account_id, status_id)
			select f.follower_id, s.id from follows f join statuses s on s.account_id = f.followee_id
			where f.follower_id = any($1) and f.state = 'accepted'
				and not exists (select 1 from home_pull_authors p where p.account_id = f.followee_id)
			order by 1, 2`},
		{"status counters", `insert into account_stats (account_id, statuses_count, last_status_at)
			select account_id, count(*), max(published_at) from statuses group by account_id
			on conflict (account_id) do update set statuses_count = excluded.statuses_count,
				last_status_at = excluded.last_status_at`},
		{"follower counters", `insert into account_stats (account_id, followers_count)
			select followee_id, count(*) from follows where follower_id = any($1) group by followee_id
			on conflict (account_id) do update set followers_count = excluded.followers_count`},
		{"following counters", `insert into account_stats (account_id, following_count)
			select follower_id, count(*) from follows where follower_id = any($1) group by follower_id
			on conflict (account_id) do update set following_count = excluded.following_count`},
	}
	for _, s := range steps {
		var args []any
		if strings.Contains(s.sql, "$1") {
			args = []any{ids}
		}
		if err := step(s.what, s.sql, args...); err != nil {
			return err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	t := time.Now()
	if _, err := db.Exec(ctx, `vacuum analyze`); err != nil {
		return err
	}
	fmt.Fprintf(out, "  vacuum analyze in %s\n", time.Since(t).Round(time.Millisecond))
	return nil
}

// walkPages runs n reads with conc workers, each reading the top page and
// then following max_id for pages pages before starting again, and
// returns each read's latency. An empty first page fails the run.
func walkPages(n, conc, pages int, read func(maxID int64) (int64, int, error)) ([]time.Duration, error) {
	lat := make([]time.Duration, n)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var maxID int64
			depth := 0
			for i := range next {
				t := time.Now()
				nextID, size, err := read(maxID)
				lat[i] = time.Since(t)
				if err == nil && size < 100 {
					if maxID == 0 {
						err = fmt.Errorf("the home timeline is empty")
					}
					nextID = 0 // read to its end: from the top again
				}
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				if depth++; depth >= pages || nextID == 0 {
					maxID, depth = 0, 0
				} else {
					maxID = nextID
				}
			}
		}()
	}
	wg.Wait()
	return lat, firstErr
}

// dbHomePage makes the database calls of one home timeline read: the
// token, the feed page, its statuses and their accounts.
func dbHomePage(ctx context.Context, views TimelineViews, o *oauth.Service, tenantID int64, token string, viewerID, maxID int64) (int64, int, error) {
	if _, err := o.Authenticate(ctx, tenantID, token); err != nil {
		return 0, 0, err
	}
	ids, err := views.HomeTimeline(ctx, viewerID, federation.Page{MaxID: maxID, Limit: 40})
	if err != nil {
		return 0, 0, err
	}
	sv, err := views.StatusViews(ctx, viewerID, ids)
	if err != nil {
		return 0, 0, err
	}
	var accts []int64
	for _, s := range sv {
		accts = append(accts, s.AccountID)
	}
	if _, err := views.AccountViews(ctx, accts); err != nil {
		return 0, 0, err
	}
	if len(ids) == 0 {
		return 0, 0, nil
	}
	return ids[len(ids)-1], 100 * len(sv), nil
}

// explainHome prints the plans of a top and a deep read's queries, as
// auto_explain logs them (sent to this client as LOG notices).
func (b Timeline) explainHome(ctx context.Context, tenantID int64, token string, viewerID int64, pages int, name string) error {
	out, o := b.progress(), b.OAuth
	pcfg := b.DB.Config().Copy()
	pcfg.MaxConns = 1
	var plans strings.Builder
	pcfg.ConnConfig.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) { plans.WriteString(n.Message + "\n\n") }
	pcfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, `load 'auto_explain'; set auto_explain.log_min_duration = 0;
			set auto_explain.log_analyze = on; set auto_explain.log_buffers = on; set client_min_messages = log`)
		return err
	}
	p, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return err
	}
	defer p.Close()
	views := b.ViewsOn(p)
	var maxID int64
	for i := range pages {
		plans.Reset()
		if maxID, _, err = dbHomePage(ctx, views, o, tenantID, token, viewerID, maxID); err != nil {
			return err
		}
		if i == 0 || i == pages-1 {
			fmt.Fprintf(out, "=== %s: page %d\n%s", name, i+1, plans.String())
		}
	}
	plans.Reset()
	if _, err := views.ForYou(ctx, viewerID, 20); err != nil {
		return err
	}
	fmt.Fprintf(out, "=== %s: for you\n%s", name, plans.String())
	return nil
}
