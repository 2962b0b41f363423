package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/roost-social/roost/api"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/api/mastodon"
	apioauth "github.com/roost-social/roost/api/oauth"
	"github.com/roost-social/roost/federation"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/oauth"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

// The three follow patterns of `roost bench timeline`: each has its own
// reader following -follows remote accounts of its own domain.
var timelinePatterns = []struct{ name, domain, about string }{
	{"often", "often.test", "followees who post often (most of the database is theirs, over the last 30 days)"},
	{"once", "once.test", "followees with one post each (over the last 30 days)"},
	{"dormant", "dormant.test", "dormant followees whose posts are all 400 to 700 days old"},
}

// benchTimeline measures home timeline reads, GET
// /api/v1/timelines/home?limit=40 and its max_id pages, through the real
// client API on a loopback listener with real OAuth tokens, over a seeded
// database: -statuses statuses, three readers following -follows accounts
// each (one per pattern), home feeds filled as fan-out on write fills
// them. It prints one JSON line per pattern; db_* are the same reads'
// database calls alone (token, feed page, statuses, accounts).
func benchTimeline(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("bench timeline", flag.ContinueOnError)
	nStatuses := fs.Int("statuses", 1_000_000, "statuses in the database")
	nFollows := fs.Int("follows", 5000, "accounts each reader follows")
	requests := fs.Int("requests", 1000, "timed reads per pattern")
	pages := fs.Int("pages", 10, "pages read with max_id before starting again from the top")
	conc := fs.Int("concurrency", 1, "reads in flight")
	only := fs.String("patterns", "often,once,dormant", "patterns to measure")
	explain := fs.Bool("explain", false, "print the plans (EXPLAIN ANALYZE, by auto_explain) of one top and one deep read and of a \"For you\" page per pattern to stderr")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the timed reads here")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log = slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, stop, err := benchServices(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer stop()
	tn, err := svc.tenantSv.CreateTenant(ctx, "Bench", "bench.test", "")
	if err != nil {
		return err
	}
	readers := map[string]*federation.Account{}
	for _, p := range timelinePatterns {
		if readers[p.name], err = createAccount(ctx, svc, "bench.test", p.name, p.name+"@bench.test", "bench password", p.name); err != nil {
			return err
		}
	}
	t0 := time.Now()
	if err := seedTimelines(ctx, svc.db, readers, *nStatuses, *nFollows); err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	fmt.Fprintf(os.Stderr, "seeded %d statuses, %d follows per reader in %s\n", *nStatuses, *nFollows, time.Since(t0).Round(time.Second))

	srv, err := startBenchAPI(ctx, cfg, log, svc)
	if err != nil {
		return err
	}
	defer srv.stop()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	for _, p := range timelinePatterns {
		if !slices.Contains(strings.Split(*only, ","), p.name) {
			continue
		}
		reader := readers[p.name]
		fmt.Fprintf(os.Stderr, "%s: %s\n", p.name, p.about)
		token, err := benchToken(ctx, srv.oauth, tn.ID, reader.ID, "read")
		if err != nil {
			return err
		}
		read := func(maxID int64) (int64, int, error) {
			path := "/api/v1/timelines/home?limit=40"
			if maxID > 0 {
				path += "&max_id=" + strconv.FormatInt(maxID, 10)
			}
			return srv.getPage(token, path)
		}
		// Warm up (connections, caches), then time.
		if _, err := walkPages(20, 1, *pages, read); err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		start, cpu0 := time.Now(), benchCPUTime()
		lat, err := walkPages(*requests, *conc, *pages, read)
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		wall, cpu := time.Since(start), benchCPUTime()-cpu0

		// The same reads' database calls alone, one at a time.
		db := func(maxID int64) (int64, int, error) {
			return dbHomePage(ctx, svc.accounts, srv.oauth, tn.ID, token, reader.ID, maxID)
		}
		dbLat, err := walkPages(*requests, 1, *pages, db)
		if err != nil {
			return fmt.Errorf("%s (database): %w", p.name, err)
		}
		// "For you" pages of 20 (docs/for-you.md), one at a time.
		fyLat := make([]time.Duration, 0, *requests/5)
		for range *requests / 5 {
			t := time.Now()
			_, size, err := srv.getPage(token, "/api/v1/timelines/for_you?limit=20")
			if err == nil && p.name == "often" && size < 100 {
				err = fmt.Errorf("an empty page, though followees who post often posted in the window")
			}
			if err != nil {
				return fmt.Errorf("%s (for you): %w", p.name, err)
			}
			fyLat = append(fyLat, time.Since(t))
		}
		if *explain {
			if err := explainHome(ctx, svc.db, srv.oauth, tn.ID, token, reader.ID, *pages, p.name); err != nil {
				return err
			}
		}
		var statuses, feed int64
		svc.db.QueryRow(ctx, `select (select count(*) from statuses), (select count(*) from home_feeds where account_id = $1)`,
			reader.ID).Scan(&statuses, &feed)
		if err := printResult(timelineResult{
			Bench: "timeline", Pattern: p.name, Statuses: statuses, Follows: *nFollows,
			P50: pct(lat, 50), P99: pct(lat, 99), PerSecond: round3(float64(len(lat)) / wall.Seconds()),
			DBP50: pct(dbLat, 50), DBP99: pct(dbLat, 99), Requests: len(lat), Concurrency: *conc, FeedRows: feed,
			CPUPerRead: round3(float64(cpu.Microseconds()) / 1000 / float64(len(lat))),
			ForYouP50:  pct(fyLat, 50), ForYouP99: pct(fyLat, 99),
		}); err != nil {
			return err
		}
	}
	return nil
}

type timelineResult struct {
	Bench       string  `json:"bench"`
	Pattern     string  `json:"pattern"`
	Statuses    int64   `json:"statuses"`
	Follows     int     `json:"follows"`
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
func seedTimelines(ctx context.Context, db *pgxpool.Pool, readers map[string]*federation.Account, statuses, follows int) error {
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
	defer tx.Rollback(ctx)
	step := func(what, sql string, args ...any) error {
		t := time.Now()
		tag, err := tx.Exec(ctx, sql, args...)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		fmt.Fprintf(os.Stderr, "  %s: %d rows in %s\n", what, tag.RowsAffected(), time.Since(t).Round(time.Millisecond))
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
	if err := step("statuses", `
		insert into statuses (account_id, uri, url, content, visibility, to_uris, language, published_at, created_at)
		select account_id, uri || '/statuses/' || n, url || '/' || n,
			'<p>Post ' || n || ' by ' || username || ', with a little text to render as a real post would.</p>',
			'public', '{https://www.w3.org/ns/activitystreams#Public}', 'en', t, t
		from (
			select a.id as account_id, a.uri, a.url, a.username, g.n, now() - random() * interval '30 days' as t
			from accounts a cross join generate_series(1, $1::int) g(n) where a.domain = 'often.test'
			union all
			select a.id, a.uri, a.url, a.username, 1, now() - random() * interval '30 days'
			from accounts a where a.domain = 'once.test'
			union all
			select a.id, a.uri, a.url, a.username, g.n, now() - interval '400 days' - random() * interval '300 days'
			from accounts a cross join generate_series(1, $2::int) g(n) where a.domain = 'dormant.test'
			union all
			(select a.id, a.uri, a.url, a.username, g.n, now() - random() * interval '30 days'
			from accounts a cross join generate_series(1, ($3::int + $4::int - 1) / $4::int) g(n)
			where a.domain = 'other.test' limit $3::int)
		) x order by t`, often, dormantPosts, background, others); err != nil {
		return err
	}
	for _, p := range timelinePatterns {
		if err := step("follows "+p.name, `
			insert into follows (follower_id, followee_id, state, uri)
			select $1::bigint, a.id, 'accepted', 'http://bench.test/follows/' || $1::bigint || '/' || a.id
			from accounts a where a.domain = $2`, readers[p.name].ID, p.domain); err != nil {
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
			where f.follower_id = any($1) and f.state = 'accepted' order by 1, 2`},
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
	fmt.Fprintf(os.Stderr, "  vacuum analyze in %s\n", time.Since(t).Round(time.Millisecond))
	return nil
}

// benchAPI is the client API served as a web node serves it, on a
// loopback listener, with its OAuth service.
type benchAPI struct {
	addr  string
	oauth *oauth.Service
	conns chan *loopConn // idle keep-alive connections
	stop  func()
}

func startBenchAPI(ctx context.Context, cfg *config.Config, log *slog.Logger, svc *services) (*benchAPI, error) {
	cache := tenant.NewHostCache(svc.tenants, time.Minute, 1000)
	fd, err := newFed(cfg, log, svc, cache)
	if err != nil {
		return nil, err
	}
	store := tenantpg.NewOAuthStore(svc.db)
	o := &oauth.Service{Store: store}
	urls := httpx.URLConfig{Scheme: "http"}
	app := api.New(api.Options{
		OAuth: &apioauth.Handler{OAuth: o, Logins: store, URL: urls, Log: log},
		Mastodon: &mastodon.Handler{Auth: o, Views: svc.accounts, Client: svc.accounts, Accounts: svc.accounts,
			Outbox: fd.outbox, Sites: cache, URL: urls, ForYou: svc.accounts},
		Sites: cache, Accounts: svc.accounts, Inbox: fd.inbox, Statuses: svc.accounts, Collections: svc.accounts,
		URL: urls, Log: log, Metrics: prometheus.NewRegistry(),
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go app.Listener(ln)
	return &benchAPI{
		addr: ln.Addr().String(), oauth: o,
		conns: make(chan *loopConn, 256),
		stop:  func() { app.Shutdown() },
	}, nil
}

// benchToken issues an access token for a local account the way the
// authorization code flow does: app registered, code approved, code
// exchanged.
func benchToken(ctx context.Context, o *oauth.Service, tenantID, accountID int64, scopes string) (string, error) {
	const oob = "urn:ietf:wg:oauth:2.0:oob"
	app, secret, err := o.RegisterApp(ctx, tenantID, "bench", "", oob, scopes)
	if err != nil {
		return "", err
	}
	code, err := o.Authorize(ctx, app, accountID, oob, scopes, "", "")
	if err != nil {
		return "", err
	}
	g, err := o.Exchange(ctx, tenantID, oauth.TokenRequest{GrantType: "authorization_code", ClientID: app.ClientID,
		ClientSecret: secret, Code: code, RedirectURI: oob})
	if err != nil {
		return "", err
	}
	return g.AccessToken, nil
}

var nextMaxID = regexp.MustCompile(`[?&]max_id=(\d+)[^>]*>; rel="next"`)

// getPage GETs a page of statuses on bench.test and returns its Link next
// max_id (0 when none) and the body's size.
func (b *benchAPI) getPage(token, path string) (int64, int, error) {
	req, err := http.NewRequest("GET", "http://"+b.addr+path, nil)
	if err != nil {
		return 0, 0, err
	}
	req.Host = "bench.test"
	req.Header.Set("Authorization", "Bearer "+token)
	resp, body, err := b.do(req)
	if err != nil {
		return 0, 0, err
	}
	n := len(body)
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	var next int64
	if m := nextMaxID.FindStringSubmatch(resp.Header.Get("Link")); m != nil {
		next, _ = strconv.ParseInt(m[1], 10, 64)
	}
	return next, n, nil
}

// loopConn is one keep-alive HTTP/1.1 connection of the load generator to
// the API on loopback (the machine's own listener: no outbound request,
// so not through federation/fetch).
type loopConn struct {
	conn net.Conn
	r    *bufio.Reader
}

// do sends req over an idle connection (or a new one) and reads the whole
// response.
func (b *benchAPI) do(req *http.Request) (*http.Response, []byte, error) {
	var c *loopConn
	select {
	case c = <-b.conns:
	default:
		conn, err := net.DialTimeout("tcp", b.addr, 5*time.Second)
		if err != nil {
			return nil, nil, err
		}
		c = &loopConn{conn: conn, r: bufio.NewReaderSize(conn, 64<<10)}
	}
	c.conn.SetDeadline(time.Now().Add(30 * time.Second))
	if err := req.Write(c.conn); err != nil {
		c.conn.Close()
		return nil, nil, err
	}
	resp, err := http.ReadResponse(c.r, req)
	if err != nil {
		c.conn.Close()
		return nil, nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.Close {
		c.conn.Close()
		return resp, body, err
	}
	select {
	case b.conns <- c:
	default:
		c.conn.Close()
	}
	return resp, body, nil
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
func dbHomePage(ctx context.Context, views *fedpg.Store, o *oauth.Service, tenantID int64, token string, viewerID, maxID int64) (int64, int, error) {
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
func explainHome(ctx context.Context, db *pgxpool.Pool, o *oauth.Service, tenantID int64, token string, viewerID int64, pages int, name string) error {
	pcfg := db.Config().Copy()
	pcfg.MaxConns = 1
	var out strings.Builder
	pcfg.ConnConfig.OnNotice = func(_ *pgconn.PgConn, n *pgconn.Notice) { out.WriteString(n.Message + "\n\n") }
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
	views := fedpg.New(p)
	var maxID int64
	for i := range pages {
		out.Reset()
		if maxID, _, err = dbHomePage(ctx, views, o, tenantID, token, viewerID, maxID); err != nil {
			return err
		}
		if i == 0 || i == pages-1 {
			fmt.Fprintf(os.Stderr, "=== %s: page %d\n%s", name, i+1, out.String())
		}
	}
	out.Reset()
	if _, err := views.ForYou(ctx, viewerID, 20); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "=== %s: for you\n%s", name, out.String())
	return nil
}

// pct is the p-th percentile of lat in milliseconds.
func pct(lat []time.Duration, p int) float64 {
	if len(lat) == 0 {
		return 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	return round3(float64(s[min(len(s)*p/100, len(s)-1)].Microseconds()) / 1000)
}

// benchCPUTime is the CPU time used so far by this process and by the
// PostgreSQL processes it started (descendants named postgres).
func benchCPUTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	total := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	type proc struct {
		ppid  int
		ticks int64
		pg    bool
	}
	procs := map[int]proc{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		st := string(b)
		open, end := strings.IndexByte(st, '('), strings.LastIndexByte(st, ')')
		if open < 0 || end < open {
			continue
		}
		f := strings.Fields(st[end+2:])
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		stt, _ := strconv.ParseInt(f[12], 10, 64)
		procs[pid] = proc{ppid, ut + stt, st[open+1:end] == "postgres"}
	}
	me := os.Getpid()
	for _, p := range procs {
		if !p.pg {
			continue
		}
		for q := p.ppid; q > 1; q = procs[q].ppid {
			if q == me {
				total += time.Duration(p.ticks) * 10 * time.Millisecond // USER_HZ = 100
				break
			}
		}
	}
	return total
}
