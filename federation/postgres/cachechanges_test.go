package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/cached"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/hotcache"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant/oauth"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

// cacheNode is one web node's caches, kept in step by its own listener.
type cacheNode struct {
	set      *hotcache.Set
	accounts *cached.Accounts
	probe    *hotcache.Cache[string, int] // entries tagged by tenant, as instance documents are
	stop     context.CancelFunc
	done     chan struct{}
}

func startCacheNode(t *testing.T, db *pgxpool.Pool, store *fedpg.Store) *cacheNode {
	t.Helper()
	set := hotcache.NewSet(nil)
	n := &cacheNode{set: set, accounts: cached.NewAccounts(set, store),
		probe: hotcache.New[string, int](set, "probe", 100, time.Hour), done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	n.stop = func() { cancel(); <-n.done }
	go func() {
		defer close(n.done)
		(&fedpg.CacheChanges{DB: db, Cache: set, Ping: time.Second}).Run(ctx)
	}()
	t.Cleanup(n.stop)
	waitFor(t, "the cache listener to listen", func() bool { return set.Online() })
	return n
}

// Every change the database announces (migration 046) evicts the
// second node's copy — a write made anywhere (here: straight through the
// store, as another node, a dashboard or a `roost` command in another
// process would) is seen by a node that cached the row before. A
// suspended, deleted or moved account is not found any more, a changed
// profile or key is served fresh, and a tenant-wide change (status,
// domains, admins, rules, about, terms, a new account) drops the tenant's
// documents but not another tenant's.
func TestIssue21CacheEveryInvalidationEvictsOnSecondNode(t *testing.T) {
	ctx := context.Background()
	type check func(t *testing.T, n *cacheNode, a *federation.Account)
	fresh := func(want func(*federation.Account) bool) check {
		return func(t *testing.T, n *cacheNode, a *federation.Account) {
			waitFor(t, "the second node to serve the change", func() bool {
				got, err := n.accounts.AccountByUsername(ctx, a.TenantID, a.Domain, a.Username)
				return err == nil && want(got)
			})
		}
	}
	gone := func(t *testing.T, n *cacheNode, a *federation.Account) {
		waitFor(t, "the second node to stop serving the account", func() bool {
			_, err := n.accounts.AccountByUsername(ctx, a.TenantID, a.Domain, a.Username)
			return errs.Is(err, errs.NotFound)
		})
	}
	tenantDropped := func(t *testing.T, n *cacheNode, _ *federation.Account) {
		waitFor(t, "the tenant's document to be dropped", func() bool {
			_, ok := n.probe.Get("tenant")
			return !ok
		})
		if _, ok := n.probe.Get("other tenant"); !ok {
			t.Fatal("another tenant's document was dropped")
		}
	}
	for _, tc := range []struct {
		name   string
		change string // SQL; $1 the account id, $2 its tenant id, $3 the other tenant's id
		check  check
	}{
		{"profile update", `update accounts set display_name = 'Renamed', note = 'new bio' where id = $1 and $2::bigint > 0 and $3::bigint > 0`,
			fresh(func(a *federation.Account) bool { return a.DisplayName == "Renamed" && a.Note == "new bio" })},
		{"key rotation", `update accounts set public_key_pem = 'rotated' where id = $1 and $2::bigint > 0 and $3::bigint > 0`,
			fresh(func(a *federation.Account) bool { return a.PublicKeyPEM == "rotated" })},
		{"move", `update accounts set moved_to_uri = 'https://elsewhere.example/users/x', also_known_as = '{https://elsewhere.example/users/x}' where id = $1 and $2::bigint > 0 and $3::bigint > 0`,
			fresh(func(a *federation.Account) bool { return a.MovedTo == "https://elsewhere.example/users/x" })},
		{"suspension by the tenant", `insert into account_limits (account_id, tenant_id, suspended_at) select $1, $2, now() where $3::bigint > 0`, gone},
		{"suspension instance-wide", `insert into account_limits (account_id, suspended_at) select $1, now() where $2::bigint > 0 and $3::bigint > 0`, gone},
		{"deletion", `delete from accounts where id = $1 and $2::bigint > 0 and $3::bigint > 0`, gone},
		{"moved to another tenant", `update accounts set tenant_id = $3, domain = (select domain from domains where tenant_id = $3 limit 1) where id = $1 and $2::bigint > 0`, gone},
		{"tenant suspended", `update tenants set status = 'suspended' where id = $2 and $1::bigint > 0 and $3::bigint > 0`, tenantDropped},
		{"tenant domain added", `insert into domains (domain, tenant_id, verification_token) select 'extra-' || $2::bigint || '.example', $2::bigint, 'x' where $1::bigint > 0 and $3::bigint > 0`, tenantDropped},
		{"tenant admin granted", `insert into admin_roles (user_id, tenant_id, role, perms) select ua.user_id, $2, 'admin', 1 from user_accounts ua where ua.account_id = $1 and $3::bigint > 0`, tenantDropped},
		{"server rule added", `insert into server_rules (tenant_id, text) select $2, 'Be kind' where $1::bigint > 0 and $3::bigint > 0`, tenantDropped},
		{"about text changed", `insert into server_settings (tenant_id, about) select $2, 'About us' where $1::bigint > 0 and $3::bigint > 0`, tenantDropped},
		{"terms of service added", `insert into terms_of_service (tenant_id, effective_date, text) select $2, current_date, 'Terms' where $1::bigint > 0 and $3::bigint > 0`, tenantDropped},
		{"new account (the contact account may change)", `select 1 where $1::bigint > 0 and $2::bigint > 0 and $3::bigint > 0`, nil}, // below
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := testenv.DB(t)
			store := fedpg.New(db)
			tn := newTenant(t, db, "cache-a.example")
			other := newTenant(t, db, "cache-b.example")
			alice := mustCreate(t, store, newAccount(t, tn.ID, "cache-a.example", "alice", "alice@cache.example"))
			node1, node2 := startCacheNode(t, db, store), startCacheNode(t, db, store)
			// Both nodes cache alice and a document of each tenant.
			for _, n := range []*cacheNode{node1, node2} {
				if _, err := n.accounts.AccountByUsername(ctx, tn.ID, alice.Domain, "ALICE"); err != nil {
					t.Fatal(err)
				}
				n.probe.Put(n.probe.Generation(), "tenant", 1, hotcache.Tag{Kind: hotcache.Tenant, ID: tn.ID})
				n.probe.Put(n.probe.Generation(), "other tenant", 2, hotcache.Tag{Kind: hotcache.Tenant, ID: other.ID})
			}
			if tc.check == nil { // a new account on the tenant
				mustCreate(t, store, newAccount(t, tn.ID, "cache-a.example", "bob", "bob@cache.example"))
				tenantDropped(t, node2, alice)
				return
			}
			if _, err := db.Exec(ctx, tc.change, alice.ID, tn.ID, other.ID); err != nil {
				t.Fatal(err)
			}
			tc.check(t, node2, alice)
			tc.check(t, node1, alice)
		})
	}
}

// The same username on two tenants is two accounts: the cache never
// answers one tenant's name with another's account, and a change to one
// leaves the other's copy alone.
func TestIssue21CacheNeverCrossesTenants(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	store := fedpg.New(db)
	a := newTenant(t, db, "cross-a.example")
	b := newTenant(t, db, "cross-b.example")
	onA := mustCreate(t, store, newAccount(t, a.ID, "cross-a.example", "same", "same-a@cross.example"))
	onB := mustCreate(t, store, newAccount(t, b.ID, "cross-b.example", "same", "same-b@cross.example"))
	n := startCacheNode(t, db, store)
	for range 2 { // a miss, then a hit
		gotA, err := n.accounts.AccountByUsername(ctx, a.ID, "cross-a.example", "same")
		if err != nil || gotA.ID != onA.ID {
			t.Fatalf("tenant A: %v, %v", gotA, err)
		}
		gotB, err := n.accounts.AccountByUsername(ctx, b.ID, "cross-b.example", "same")
		if err != nil || gotB.ID != onB.ID {
			t.Fatalf("tenant B: %v, %v", gotB, err)
		}
		// Tenant A's id with tenant B's domain is nobody.
		if _, err := n.accounts.AccountByUsername(ctx, a.ID, "cross-b.example", "same"); !errs.Is(err, errs.NotFound) {
			t.Fatalf("tenant A asked for B's domain: %v", err)
		}
	}
	// A caller changing its copy changes nothing cached.
	got, _ := n.accounts.AccountByUsername(ctx, a.ID, "cross-a.example", "same")
	got.DisplayName = "mutated by a caller"
	if again, _ := n.accounts.AccountByUsername(ctx, a.ID, "cross-a.example", "same"); again.DisplayName == "mutated by a caller" {
		t.Fatal("callers share the cached account")
	}
}

// While the listener is not connected the node serves from PostgreSQL
// only: a change made during the outage is never answered from memory.
func TestIssue21CacheBypassedWhileNotListening(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	store := fedpg.New(db)
	tn := newTenant(t, db, "outage.example")
	acct := mustCreate(t, store, newAccount(t, tn.ID, "outage.example", "carol", "carol@outage.example"))
	n := startCacheNode(t, db, store)
	if _, err := n.accounts.AccountByUsername(ctx, tn.ID, acct.Domain, acct.Username); err != nil {
		t.Fatal(err)
	}
	n.stop()
	if n.set.Online() {
		t.Fatal("still online after the listener stopped")
	}
	if _, err := db.Exec(ctx, `insert into account_limits (account_id, tenant_id, suspended_at) values ($1, $2, now())`, acct.ID, tn.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := n.accounts.AccountByUsername(ctx, tn.ID, acct.Domain, acct.Username); !errs.Is(err, errs.NotFound) {
		t.Fatalf("suspended account served while not listening: %v", err)
	}
}

// Announcements are read strictly: anything else empties the caches.
func TestIssue21CacheTags(t *testing.T) {
	for payload, want := range map[string][]hotcache.Tag{
		"a 12 3": {{Kind: hotcache.Account, ID: 12}},
		"t 3":    {{Kind: hotcache.Tenant, ID: 3}},
	} {
		got, ok := fedpg.CacheTags(payload)
		if !ok || len(got) != 1 || got[0] != want[0] {
			t.Errorf("%q: %v %v", payload, got, ok)
		}
	}
	for _, bad := range []string{"", "a", "a x 1", "t 1 2", "x 1", "a 1"} {
		if _, ok := fedpg.CacheTags(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}

// A token revoked, deleted with its app or account, or used (its last use
// recorded) on one node stops being answered from the second node's
// memory: the bearer is refused there at once.
func TestIssue21CacheTokenRevocationOnSecondNode(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, db *pgxpool.Pool, svc *oauth.Service, tok *issuedToken)
		valid  bool // whether the token still authenticates afterwards
	}{
		{"revoked through the API", func(t *testing.T, _ *pgxpool.Pool, svc *oauth.Service, tok *issuedToken) {
			if err := svc.Revoke(ctx, tok.tenant, tok.clientID, tok.secret, tok.token); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"revoked on this node, used here at once", func(t *testing.T, _ *pgxpool.Pool, _ *oauth.Service, tok *issuedToken) {
			if err := tok.node1.Revoke(ctx, tok.tenant, tok.clientID, tok.secret, tok.token); err != nil {
				t.Fatal(err)
			}
			if _, err := tok.node1.Authenticate(ctx, tok.tenant, tok.token); err == nil {
				t.Fatal("the revoking node still accepts the token")
			}
		}, false},
		{"app deleted", func(t *testing.T, db *pgxpool.Pool, _ *oauth.Service, tok *issuedToken) {
			if _, err := db.Exec(ctx, `delete from oauth_apps where client_id = $1`, tok.clientID); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"account deleted", func(t *testing.T, db *pgxpool.Pool, _ *oauth.Service, tok *issuedToken) {
			if _, err := db.Exec(ctx, `delete from accounts where id = $1`, tok.account); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"last use recorded", func(t *testing.T, db *pgxpool.Pool, _ *oauth.Service, tok *issuedToken) {
			if _, err := db.Exec(ctx, `update oauth_tokens set last_used_at = now() - interval '1 hour', scopes = 'read' where account_id = $1`, tok.account); err != nil {
				t.Fatal(err)
			}
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := testenv.DB(t)
			store := fedpg.New(db)
			tn := newTenant(t, db, "tokens.example")
			acct := mustCreate(t, store, newAccount(t, tn.ID, "tokens.example", "dora", "dora@tokens.example"))
			plain := &oauth.Service{Store: tenantpg.NewOAuthStore(db)}
			tok := issueToken(t, plain, tn.ID, acct.ID)
			node1, node2 := startCacheNode(t, db, store), startCacheNode(t, db, store)
			svc1 := &oauth.Service{Store: oauth.NewCachedStore(node1.set, tenantpg.NewOAuthStore(db))}
			tok.node1 = svc1
			svc2 := &oauth.Service{Store: oauth.NewCachedStore(node2.set, tenantpg.NewOAuthStore(db))}
			for _, s := range []*oauth.Service{svc1, svc2} {
				for range 2 { // a miss, then a hit
					if _, err := s.Authenticate(ctx, tn.ID, tok.token); err != nil {
						t.Fatal(err)
					}
				}
				// Another tenant's requests never see the token.
				if _, err := s.Authenticate(ctx, tn.ID+1000, tok.token); err == nil {
					t.Fatal("token accepted on another tenant")
				}
			}
			tc.change(t, db, plain, tok)
			for _, s := range []*oauth.Service{svc2, svc1} {
				waitFor(t, "the node to see the token's change", func() bool {
					got, err := s.Authenticate(ctx, tn.ID, tok.token)
					if !tc.valid {
						return err != nil
					}
					return err == nil && !got.Scopes.Allows("write:statuses")
				})
			}
		})
	}
}

type issuedToken struct {
	tenant, account         int64
	clientID, secret, token string
	node1                   *oauth.Service // the first node's, caching
}

// issueToken runs the authorization code flow for account.
func issueToken(t *testing.T, o *oauth.Service, tenantID, accountID int64) *issuedToken {
	t.Helper()
	ctx := context.Background()
	const oob = "urn:ietf:wg:oauth:2.0:oob"
	app, secret, err := o.RegisterApp(ctx, tenantID, "cache test", "", oob, "read write")
	if err != nil {
		t.Fatal(err)
	}
	code, err := o.Authorize(ctx, app, accountID, oob, "read write", "", "")
	if err != nil {
		t.Fatal(err)
	}
	g, err := o.Exchange(ctx, tenantID, oauth.TokenRequest{GrantType: "authorization_code", ClientID: app.ClientID,
		ClientSecret: secret, Code: code, RedirectURI: oob})
	if err != nil {
		t.Fatal(err)
	}
	return &issuedToken{tenant: tenantID, account: accountID, clientID: app.ClientID, secret: secret, token: g.AccessToken}
}

// What a viewer hides (filters with their keywords and posts, blocked
// domains, exclusive lists and their members) is read from memory when
// rendering, and every change to it reaches the second node's copy.
func TestIssue21CacheViewerHidesOnSecondNode(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	store := fedpg.New(db)
	tn := newTenant(t, db, "viewer.example")
	viewer := mustCreate(t, store, newAccount(t, tn.ID, "viewer.example", "vera", "vera@viewer.example"))
	other := mustCreate(t, store, newAccount(t, tn.ID, "viewer.example", "otto", "otto@viewer.example"))
	node1, node2 := startCacheNode(t, db, store), startCacheNode(t, db, store)
	v1, v2 := cached.NewViewers(node1.set, store, store), cached.NewViewers(node2.set, store, store)
	state := func(v *cached.Viewers) string {
		fs, err := v.Filters(ctx, viewer.ID)
		if err != nil {
			t.Fatal(err)
		}
		d, e, err := v.Hidden(ctx, viewer.ID)
		if err != nil {
			t.Fatal(err)
		}
		kw := 0
		for _, f := range fs {
			kw += len(f.Keywords)
		}
		return fmt.Sprintf("filters=%d keywords=%d domains=%v exclusive=%v", len(fs), kw, d, e)
	}
	for _, step := range []struct{ name, sql, want string }{
		{"start", `select $1::bigint, $2::bigint`, "filters=0 keywords=0 domains=[] exclusive=[]"},
		{"filter added", `insert into filters (account_id, title, context, filter_action) select $1, 'f', '{home}', 'hide' where $2::bigint > 0`,
			"filters=1 keywords=0 domains=[] exclusive=[]"},
		{"keyword added", `insert into filter_keywords (filter_id, keyword) select id, 'spoiler' from filters where account_id = $1 and $2::bigint > 0`,
			"filters=1 keywords=1 domains=[] exclusive=[]"},
		{"domain blocked", `insert into account_domain_blocks (account_id, domain) select $1, 'blocked.example' where $2::bigint > 0`,
			"filters=1 keywords=1 domains=[blocked.example] exclusive=[]"},
		{"exclusive list with a member", `with l as (insert into lists (account_id, title, exclusive) values ($1, 'l', true) returning id)
			insert into list_accounts (list_id, account_id) select id, $2 from l`,
			fmt.Sprintf("filters=1 keywords=1 domains=[blocked.example] exclusive=[%d]", other.ID)},
		{"list made inclusive", `update lists set exclusive = false where account_id = $1 and $2::bigint > 0`,
			"filters=1 keywords=1 domains=[blocked.example] exclusive=[]"},
		{"filter deleted", `delete from filters where account_id = $1 and $2::bigint > 0`,
			"filters=0 keywords=0 domains=[blocked.example] exclusive=[]"},
	} {
		if _, err := db.Exec(ctx, step.sql, viewer.ID, other.ID); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		for i, v := range []*cached.Viewers{v2, v1} {
			waitFor(t, fmt.Sprintf("node %d to see %s", 2-i, step.name), func() bool { return state(v) == step.want })
		}
	}
}

// Migration 054's page payloads: one or many ids, read strictly (a
// malformed one empties the caches rather than evict too little).
func TestIssue21CachePageTags(t *testing.T) {
	for payload, want := range map[string][]hotcache.Tag{
		"s 5":      {{Kind: hotcache.Status, ID: 5}},
		"S 5 6":    {{Kind: hotcache.Status, ID: 5}, {Kind: hotcache.Status, ID: 6}},
		"A 7":      {{Kind: hotcache.Shown, ID: 7}},
		"V 8 9 10": {{Kind: hotcache.Viewer, ID: 8}, {Kind: hotcache.Viewer, ID: 9}, {Kind: hotcache.Viewer, ID: 10}},
		"g 0":      {{Kind: hotcache.Timelines, ID: 0}},
		"v 8":      {{Kind: hotcache.Viewer, ID: 8}},
	} {
		got, ok := fedpg.CacheTags(payload)
		if !ok || !slices.Equal(got, want) {
			t.Errorf("%q: %v %v", payload, got, ok)
		}
	}
	for _, bad := range []string{"s", "s x", "S 1 x", "V 1 -", "g", "A 1.5", "V " + strings.Repeat("1 ", 301)} {
		if _, ok := fedpg.CacheTags(bad); ok {
			t.Errorf("%q accepted", bad)
		}
	}
}
