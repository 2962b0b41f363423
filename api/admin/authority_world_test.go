package admin

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/api"
	"github.com/roost-social/roost/api/httpx"
	billingpg "github.com/roost-social/roost/billing/postgres"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/domainblock"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/federation/social/about"
	"github.com/roost-social/roost/federation/social/announcement"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

// authWorld is the dashboard on real PostgreSQL behind the real app
// (host routing included): tenant A (a.example) and tenant B (b.example)
// with local accounts, a remote account, posts of every visibility,
// reports, domain blocks, imports, subscriptions and dead deliveries of
// both tenants and of the instance, and the logins and roles of every
// kind of dashboard user.
type authWorld struct {
	db    *pgxpool.Pool
	app   *fiber.App
	admin *tenantpg.AdminStore
	views *fedpg.Store
	out   *recorder
	A, B  int64
	// Accounts: alice and troll on A, bob and carol on B, rem remote; opa
	// is the operator's account on A.
	alice, troll, bob, carol, rem, opa int64
	// Logins.
	op, adminA, modA, spareA, adminB, aliceLogin, bobLogin int64
	// Posts, by what they are.
	post map[string]int64
	// Reports on A about troll, bob and rem, and one on B about rem.
	repOwn, repOther, repRemote, repB int64
	// Blocks, imports and subscriptions of A, of B and of the instance.
	blockA, blockB, blockI, importA, importB, importI, subA, subB, subI int64
	// Dead deliveries sent by troll (A) and bob (B).
	deadA, deadB int64
	// Announcements of A, of B and of the instance (announcements_test.go).
	annA, annB, annI int64
	// Server rules and terms versions of A and of B (about_test.go).
	ruleA, ruleB, termsA, termsB int64
	// tables are the schema's tables and their columns (digest).
	tables map[string][]string
}

const authOperatorHost = "admin.roost.test"

// recorder is what the dashboard asked of the outbox, the forwarder and
// the delivery queue: everything it would have sent.
type recorder struct {
	mu        sync.Mutex
	db        *pgxpool.Pool
	deleted   []int64 // accounts whose posts were deleted through the outbox
	forwarded []string
	dispatch  []int64
}

func (r *recorder) DeleteLocalPost(ctx context.Context, accountID int64, uri string) error {
	r.mu.Lock()
	r.deleted = append(r.deleted, accountID)
	r.mu.Unlock()
	_, err := r.db.Exec(ctx, `delete from statuses where account_id = $1 and uri = $2 and tenant_id is not null`, accountID, uri)
	return err
}

func (r *recorder) ForwardReport(_ context.Context, host string, target *federation.Account, uris []string, _ string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.forwarded = append(r.forwarded, host+" "+target.Remote.URI+" "+strings.Join(uris, ","))
	return nil
}

func (r *recorder) counts() [3]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return [3]int{len(r.deleted), len(r.forwarded), len(r.dispatch)}
}

// fedStore is the FederationStore of cmd/roost (fedAdmin) with the
// queue's Redis side and the block cache stood in for.
type fedStore struct {
	*fedpg.Store
	rec *recorder
}

func (fedStore) Streams(context.Context, time.Time) (*domainblock.Streams, error) {
	return &domainblock.Streams{}, nil
}
func (f fedStore) Dispatch(_ context.Context, _ bool, ids []int64) error {
	f.rec.mu.Lock()
	f.rec.dispatch = append(f.rec.dispatch, ids...)
	f.rec.mu.Unlock()
	return nil
}
func (fedStore) Check(int64, string) domainblock.Verdict { return domainblock.Verdict{} }
func (fedStore) Refresh(context.Context) error           { return nil }

// leaveStore is cmd/roost's leavePages on the same stores, without the
// federation machinery a change of domain needs (so it is unavailable,
// as on a node without it).
type leaveStore struct {
	leave *tenantpg.LeaveStore
	fed   *fedpg.Store
}

func (l leaveStore) Deletion(ctx context.Context, id int64) (*Deletion, error) {
	d, err := l.leave.Deletion(ctx, id)
	if err != nil {
		return nil, err
	}
	return &Deletion{RequestedBy: d.RequestedBy, RequestedAt: d.RequestedAt, DueAt: d.DueAt, Announced: d.Announced}, nil
}
func (l leaveStore) ScheduleDeletion(ctx context.Context, id int64, due time.Time, by string) error {
	return l.leave.ScheduleDeletion(ctx, id, due, by)
}
func (l leaveStore) CancelDeletion(ctx context.Context, id int64, by string) error {
	return l.leave.CancelDeletion(ctx, id, by)
}
func (l leaveStore) RequestExports(ctx context.Context, id int64) (int, error) {
	as, err := l.fed.TenantAccounts(ctx, id)
	if err != nil {
		return 0, err
	}
	for _, a := range as {
		if _, err := l.fed.RequestExport(ctx, id, a.ID); err != nil {
			return 0, err
		}
	}
	return len(as), nil
}
func (l leaveStore) Exports(ctx context.Context, id int64) ([]LeaveExport, error) {
	return l.fed.TenantExports(ctx, id)
}
func (l leaveStore) ExportFile(ctx context.Context, id, export int64) (string, error) {
	return l.fed.TenantExportFile(ctx, id, export)
}
func (l leaveStore) Domains(ctx context.Context, id int64) ([]MoveDomain, error) {
	return l.fed.TenantDomains(ctx, id)
}
func (leaveStore) MoveDomain(context.Context, int64, string, string, string) ([]string, error) {
	return nil, errs.E(errs.Unavailable, "moving needs the federation machinery, absent here")
}

func newAuthWorld(t *testing.T) *authWorld {
	t.Helper()
	ctx := context.Background()
	db := testenv.DB(t)
	w := &authWorld{db: db, admin: tenantpg.NewAdminStore(db), views: fedpg.New(db), post: map[string]int64{}}
	w.out = &recorder{db: db}
	tenants := tenantpg.New(db)
	for _, x := range []struct {
		id     *int64
		domain string
	}{{&w.A, "a.example"}, {&w.B, "b.example"}} {
		tn, err := tenants.CreateTenant(ctx, x.domain, tenant.NewDomain{Domain: x.domain, Verified: true})
		if err != nil {
			t.Fatal(err)
		}
		*x.id = tn.ID
	}
	w.seedAccounts(t)
	w.seedPosts(t)
	w.seedModeration(t)
	w.seedFederation(t)
	w.seedAnnouncements(t)
	w.seedAbout(t)

	h := &Handler{Store: w.admin, Host: authOperatorHost, URL: httpx.URLConfig{Scheme: "https"},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Forward: w.out, Posts: w.out,
		Federation: fedStore{Store: w.views, rec: w.out}, Leave: leaveStore{leave: tenantpg.NewLeaveStore(db), fed: w.views},
		Announcements: &announcement.Service{Store: w.views}, About: &about.Service{Store: w.views}}
	bs := billingpg.NewStore(db)
	h.Billing = &BillingPages{Plans: bs, Records: bs, Usage: bs, Books: bs, Currency: "eur"}
	w.app = api.New(api.Options{Sites: tenant.NewHostCache(tenants, time.Minute, 100), Accounts: w.views,
		URL: httpx.URLConfig{Scheme: "https"}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Operator: h, TenantAdmin: TenantRoutes{h}})
	return w
}

// q runs SQL returning one id (or nothing).
func (w *authWorld) q(t *testing.T, sql string, args ...any) int64 {
	t.Helper()
	var id int64
	rows, err := w.db.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, sql)
	}
	defer rows.Close()
	if rows.Next() {
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%v\n%s", err, sql)
	}
	return id
}

func (w *authWorld) seedAccounts(t *testing.T) {
	local := func(tn int64, domain, user string) int64 {
		return w.q(t, `insert into accounts (tenant_id, domain, username, private_key_pem) values ($1, $2, $3, 'k') returning id`, tn, domain, user)
	}
	w.alice, w.troll, w.opa = local(w.A, "a.example", "alice"), local(w.A, "a.example", "troll"), local(w.A, "a.example", "opa")
	w.bob, w.carol = local(w.B, "b.example", "bob"), local(w.B, "b.example", "carol")
	w.rem = w.q(t, `insert into accounts (domain, username, uri, inbox_url) values ('remote.test', 'rem', 'https://remote.test/u/rem',
		'https://remote.test/u/rem/inbox') returning id`)
	login := func(email string, operator bool, accounts ...int64) int64 {
		id := w.q(t, `insert into users (email, password_hash, is_operator) values ($1, 'x', $2) returning id`, email, operator)
		for _, a := range accounts {
			w.q(t, `insert into user_accounts (user_id, account_id) values ($1, $2)`, id, a)
		}
		return id
	}
	w.op = login("op@mail.test", true, w.opa)
	w.adminA, w.modA, w.spareA = login("admin-a@mail.test", false), login("mod-a@mail.test", false), login("spare-a@mail.test", false)
	w.adminB = login("admin-b@mail.test", false)
	w.aliceLogin, w.bobLogin = login("alice@mail.test", false, w.alice), login("bob@mail.test", false, w.bob, w.carol)
	role := func(user, tn int64, r Role) {
		w.q(t, `insert into admin_roles (user_id, tenant_id, role, perms) values ($1, $2, $3, $4)`, user, tn, r.Name, int64(r.Perms))
	}
	role(w.adminA, w.A, TenantAdmin)
	role(w.modA, w.A, Moderator)
	role(w.spareA, w.A, Moderator)
	role(w.adminB, w.B, TenantAdmin)
	// Every local account has a live app token: suspending one at its
	// own tenant's scope revokes it, at another's never.
	for _, x := range []struct{ tn, acct int64 }{{w.A, w.troll}, {w.B, w.bob}, {w.B, w.carol}} {
		app := w.q(t, `insert into oauth_apps (tenant_id, name, redirect_uris, scopes, client_id, client_secret_hash)
			values ($1, 'app', '{urn:ietf:wg:oauth:2.0:oob}', 'read', 'c'||$2::bigint::text, '\x00') returning id`, x.tn, x.acct)
		w.q(t, `insert into oauth_tokens (tenant_id, app_id, account_id, token_hash, scopes) values ($1, $2, $3, ('\x'||md5($3::bigint::text))::bytea, 'read')`,
			x.tn, app, x.acct)
	}
	// carol (B) follows bob and rem; nobody on A follows them.
	for i, f := range [][2]int64{{w.carol, w.bob}, {w.carol, w.rem}} {
		w.q(t, `insert into follows (follower_id, followee_id, state, uri) values ($1, $2, 'accepted', $3)`, f[0], f[1], fmt.Sprintf("https://x.test/f/%d", i))
	}
}

// seedPosts writes each account's posts; the name says who may see it.
func (w *authWorld) seedPosts(t *testing.T) {
	post := func(name string, author int64, tn *int64, vis string, mention int64) {
		id := w.q(t, `insert into statuses (account_id, tenant_id, uri, content, visibility, published_at)
			values ($1, $2, 'https://x.test/s/'||$3::text, '<p>'||$3::text||'</p>', $4, now()) returning id`, author, tn, name, vis)
		if mention != 0 {
			w.q(t, `insert into status_mentions (status_id, account_id) values ($1, $2)`, id, mention)
		}
		if vis == "public" {
			owner := []int64{w.A, w.B}
			if tn != nil {
				owner = []int64{*tn}
			}
			for _, o := range owner {
				w.q(t, `insert into tenant_timeline (tenant_id, status_id, local) values ($1, $2, $3)`, o, id, tn != nil)
			}
		}
		w.post[name] = id
	}
	post("troll-public", w.troll, &w.A, "public", 0)
	post("troll-direct-to-alice", w.troll, &w.A, "direct", w.alice)
	post("bob-public", w.bob, &w.B, "public", 0)
	post("bob-secret-direct-to-carol", w.bob, &w.B, "direct", w.carol)
	post("bob-secret-followers-only", w.bob, &w.B, "private", 0)
	post("rem-public", w.rem, nil, "public", 0)
	post("rem-secret-direct-to-carol", w.rem, nil, "direct", w.carol)
	post("rem-secret-followers-only-of-carol", w.rem, nil, "private", 0)
	post("rem-direct-to-alice", w.rem, nil, "direct", w.alice)
}

// ids are the posts named, for a report's status_ids.
func (w *authWorld) ids(names ...string) []int64 {
	var out []int64
	for _, n := range names {
		out = append(out, w.post[n])
	}
	return out
}

func (w *authWorld) seedModeration(t *testing.T) {
	report := func(tn, reporter, target int64, posts []int64) int64 {
		return w.q(t, `insert into reports (tenant_id, reporter_id, target_account_id, status_ids, comment)
			values ($1, $2, $3, $4, 'report') returning id`, tn, reporter, target, posts)
	}
	// Reports may name any post id (the dashboard trusts none of it):
	// these name other tenants' direct and followers-only posts too.
	w.repOwn = report(w.A, w.alice, w.troll, w.ids("troll-public", "troll-direct-to-alice"))
	w.repOther = report(w.A, w.alice, w.bob, w.ids("bob-public", "bob-secret-direct-to-carol", "bob-secret-followers-only"))
	w.repRemote = report(w.A, w.alice, w.rem, w.ids("rem-public", "rem-secret-direct-to-carol", "rem-secret-followers-only-of-carol", "rem-direct-to-alice"))
	w.repB = report(w.B, w.carol, w.rem, w.ids("rem-public"))
	for _, d := range []struct {
		id  *int64
		tn  int64
		tok string
	}{{&w.deadA, w.troll, "a"}, {&w.deadB, w.bob, "b"}} {
		*d.id = w.q(t, `insert into deliveries (sender_id, activity_id, inbox_url, host, body, state)
			values ($1, 'https://x.test/act/'||$2::text, 'https://remote.test/inbox', 'remote.test', '{}', 'failed') returning id`, d.tn, d.tok)
	}
}

func (w *authWorld) seedFederation(t *testing.T) {
	ctx := context.Background()
	for _, x := range []struct {
		scope              int64
		block, imp, sub    *int64
		domain, importedAs string
	}{{w.A, &w.blockA, &w.importA, &w.subA, "spam.test", "a-list.test"},
		{w.B, &w.blockB, &w.importB, &w.subB, "spam.test", "b-list.test"},
		{0, &w.blockI, &w.importI, &w.subI, "evil.test", "i-list.test"}} {
		if _, err := w.views.SaveDomainBlock(ctx, domainblock.Block{TenantID: x.scope, Domain: x.domain, Severity: domainblock.Silence}); err != nil {
			t.Fatal(err)
		}
		*x.block = w.q(t, `select id from domain_blocks where coalesce(tenant_id, 0) = $1 and domain = $2`, x.scope, x.domain)
		imp, err := w.views.ApplyImport(ctx, x.scope, "seed", domainblock.By{Email: "seed"},
			[]domainblock.Block{{Domain: x.importedAs, Severity: domainblock.Suspend}})
		if err != nil {
			t.Fatal(err)
		}
		*x.imp = imp.ID
		sub, err := w.views.AddSubscription(ctx, x.scope, "https://"+x.importedAs+"/list.csv")
		if err != nil {
			t.Fatal(err)
		}
		*x.sub = sub.ID
	}
}

// session signs user in on tenantID's /admin (0: the operator host).
func (w *authWorld) session(t *testing.T, user, tenantID int64) string {
	t.Helper()
	tok := newToken()
	if err := w.admin.CreateSession(context.Background(), user, tenantID, hashToken(tok), time.Now().Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}
	return tok
}

// do sends one dashboard request on host (paths below /admin on a
// tenant's host) with a valid CSRF pair; GET values go in the query.
func (w *authWorld) do(t *testing.T, host, method, path, token string, v url.Values) (*http.Response, string) {
	t.Helper()
	form := url.Values{}
	for k, vs := range v {
		form[k] = slices.Clone(vs)
	}
	form.Set("csrf", csrf)
	prefix, cookie := "", "__Host-"
	if host != authOperatorHost {
		prefix, cookie = TenantPrefix, "__Secure-"
	}
	var body io.Reader
	target := prefix + path
	if method == "GET" {
		target += "?" + form.Encode()
	} else {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, target, body)
	req.Host = host
	if method != "GET" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Cookie", cookie+csrfCookie+"="+csrf+"; "+cookie+sessionCookie+"="+token)
	resp, err := w.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

// reset reopens the reports and gives back the spare moderator's role, so
// every case finds the same targets to act on.
func (w *authWorld) reset(t *testing.T) {
	w.q(t, `update reports set resolved_at = null, action_taken = '', assigned_user_id = null`)
	w.q(t, `insert into admin_roles (user_id, tenant_id, role, perms) values ($1, $2, $3, $4) on conflict do nothing`,
		w.spareA, w.A, Moderator.Name, int64(Moderator.Perms))
	w.seedAnnouncements(t) // deleted ones back, under their ids
	w.seedAbout(t)
}

// digest fingerprints the database, table by table: every row when scope
// is -1; otherwise only the rows outside scope's authority, which no
// action of a session acting for scope may change: other tenants' rows,
// the instance's, shared ones (remote accounts and posts, logins), and
// every row of a table that belongs to no tenant. A tenant's own rows
// (tenant_id, or the tenant's accounts'), the acting login's own row and
// the audit log (appended to) may change.
func (w *authWorld) digest(t *testing.T, scope, actor int64) map[string]string {
	t.Helper()
	ctx := context.Background()
	if w.tables == nil {
		w.tables = w.columns(t)
	}
	var parts []string
	for _, table := range slices.Sorted(maps.Keys(w.tables)) {
		cols := w.tables[table]
		filter := "true"
		switch {
		case scope < 0:
		case table == "audit_log", table == "domain_blocks_version", table == "instance_counts":
			// Appended to by every action; a counter any scope's block
			// change bumps so every node reloads; the instance's totals,
			// which triggers keep from the tenant's own rows (a tenant
			// deleting its own post lowers the instance's post count).
			continue
		case slices.Contains(cols, "tenant_id"):
			filter = fmt.Sprintf("x.tenant_id is distinct from %d", scope)
		case table == "tenants":
			filter = fmt.Sprintf("x.id <> %d", scope)
		case table == "users":
			filter = fmt.Sprintf("x.id <> %d", actor)
		case slices.Contains(cols, "import_id"): // a block list import's changes
			filter = fmt.Sprintf("not exists (select 1 from blocklist_imports o where o.id = x.import_id and o.tenant_id = %d)", scope)
		case slices.Contains(cols, "account_id"), slices.Contains(cols, "sender_id"):
			col := "account_id"
			if !slices.Contains(cols, col) {
				col = "sender_id"
			}
			filter = fmt.Sprintf("not exists (select 1 from accounts o where o.id = x.%s and o.tenant_id = %d)", col, scope)
		}
		parts = append(parts, fmt.Sprintf(`select %s::text, coalesce(md5(string_agg(md5(x::text), ',' order by md5(x::text))), '')
			from %q x where %s`, "'"+table+"'", table, filter))
	}
	// One statement, without parallel workers: starting them costs more
	// than these small tables take to read.
	tx, err := w.db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `set local max_parallel_workers_per_gather = 0`); err != nil {
		t.Fatal(err)
	}
	rows, err := tx.Query(ctx, strings.Join(parts, " union all "))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var table, sum string
		if err := rows.Scan(&table, &sum); err != nil {
			t.Fatal(err)
		}
		out[table] = sum
	}
	return out
}

// columns lists every table of the schema with its columns.
func (w *authWorld) columns(t *testing.T) map[string][]string {
	t.Helper()
	rows, err := w.db.Query(context.Background(), `select c.relname::text, array_agg(a.attname::text)
		from pg_class c join pg_namespace n on n.oid = c.relnamespace
		join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
		where n.nspname = 'public' and c.relkind in ('r', 'p') group by c.relname`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var table string
		var cols []string
		if err := rows.Scan(&table, &cols); err != nil {
			t.Fatal(err)
		}
		out[table] = cols
	}
	if len(out) < 30 {
		t.Fatalf("only %d tables", len(out))
	}
	return out
}

// changed names the tables whose digest differs.
func changed(before, after map[string]string) []string {
	var out []string
	for k, v := range before {
		if after[k] != v {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
