package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// owners names, for every table the migrations create, the one store
// package that writes it. Other rooms read a table by SQL join (the
// dashboard's numbers, visibility checks) as read models, or ask its
// owner through a port; they never insert, update or delete its rows.
var owners = map[string]string{
	// tenant: tenants, domains, logins, sign-up, dashboards, OAuth, TLS.
	"tenants": tenantPG, "domains": tenantPG, "hostnames": tenantPG, "domain_claims": tenantPG,
	"signups": tenantPG, "invite_codes": tenantPG, "portal_sessions": tenantPG,
	"users": tenantPG, "admin_roles": tenantPG, "admin_sessions": tenantPG, "audit_log": tenantPG,
	"account_limits": tenantPG, "tenant_hidden_statuses": tenantPG, "tenant_deletions": tenantPG,
	"tenant_quotas": tenantPG, "oauth_apps": tenantPG, "oauth_codes": tenantPG, "oauth_tokens": tenantPG,
	"cert_storage": tenantPG, "cert_locks": tenantPG, "served_origin": tenantPG,
	"instance_counts": tenantPG, "cert_expiries": tenantPG, // the dashboard's numbers, kept by triggers (050)
	// billing.
	"tenant_billing": billingPG, "billing_events": billingPG, "billing_payments": billingPG,
	"plans": billingPG, "usage_daily": billingPG, "book_costs": billingPG, "books_settings": billingPG,
	// media.
	"media_attachments": mediaPG,
	// the social core and ActivityPub machinery.
	"accounts": fedPG, "user_accounts": fedPG, "account_stats": fedPG, "account_moves": fedPG,
	"account_conversations": fedPG, "account_domain_blocks": fedPG, "instance_actor": fedPG,
	"statuses": fedPG, "status_stats": fedPG, "status_edits": fedPG, "status_mentions": fedPG,
	"status_idempotency": fedPG, "status_tombstones": fedPG, "imported_statuses": fedPG, "tenant_timeline": fedPG, "tenant_tags": fedPG,
	"home_feeds": fedPG, "for_you_lists": fedPG, "for_you_served": fedPG, "markers": fedPG,
	"follows": fedPG, "import_follows": fedPG, "blocks": fedPG, "mutes": fedPG,
	"favourites": fedPG, "bookmarks": fedPG, "pins": fedPG, "notifications": fedPG,
	"lists": fedPG, "list_accounts": fedPG, "filters": fedPG, "filter_keywords": fedPG, "filter_statuses": fedPG,
	"poll_votes": fedPG, "poll_endings": fedPG, "custom_emojis": fedPG, "reports": fedPG,
	"deliveries": fedPG, "inbox_items": fedPG, "remote_hosts": fedPG,
	"domain_blocks": fedPG, "domain_blocks_version": fedPG,
	"blocklist_subscriptions": fedPG, "blocklist_imports": fedPG, "blocklist_import_changes": fedPG,
	"archive_exports": fedPG, "archive_imports": fedPG,
	"tags": fedPG, "tag_follows": fedPG, "featured_tags": fedPG, // migration 032
	"notification_policies": fedPG, "notification_permissions": fedPG, // notifications (031)
	"scheduled_statuses": fedPG, "announcements": fedPG, "announcement_dismissals": fedPG, "announcement_reactions": fedPG, // sched (035)
	"link_cards": fedPG, "status_cards": fedPG, "link_card_queue": fedPG, // link preview cards (issue 17)
	"account_notes": fedPG, "account_endorsements": fedPG, "suggestion_dismissals": fedPG, // acctroutes (036)
	"quotes": fedPG, "quote_authorizations": fedPG, // quote posts (038)
	"vapid_keys": fedPG, "push_subscriptions": fedPG, "push_deliveries": fedPG, // Web Push (033)
	"thread_mutes":      fedPG, // muted conversations (037)
	"home_fanouts":      fedPG, // home-feed fan-out after commit (044)
	"home_pull_authors": fedPG, // authors read by their followers instead of filed (060)
	// One account deleted by its owner (049).
	"account_deletions": fedPG,
	// Server rules, about texts, terms of service (040).
	"server_rules": fedPG, "server_settings": fedPG, "terms_of_service": fedPG,
	"account_factors": tenantPG, "factor_keys": tenantPG, // two-factor sign-in (041)
}

const (
	tenantPG  = "tenant/postgres"
	billingPG = "billing/postgres"
	mediaPG   = "federation/social/media/postgres"
	fedPG     = "federation/postgres"
)

// allowances are the writes outside a table's owner that remain, "package
// table" → why. Each is one transaction that must stay atomic across two
// rooms until a shared-transaction port exists; a new one needs a reason.
var allowances = map[string]string{
	// Account creation finds or creates the login in the account's own
	// transaction (a failed creation leaves no login behind; concurrent
	// creations with one email meet on the row lock).
	"federation/postgres users": "account creation: login found or created with the account; an account's deletion removes the login left owning nothing",
	// A move carries the account's tenant-room rows (limits, tokens) and
	// its media in the move's transaction.
	"federation/postgres account_limits":    "account move re-points its moderation; an account deleted by its owner is suspended with its deletion",
	"federation/postgres oauth_tokens":      "account move drops the old tenant's tokens; an account deleted by its owner loses them with its deletion",
	"federation/postgres media_attachments": "posting and moving attach media in the status's transaction",
	// Dashboard moderation acts on social rows with its audit entry in
	// one transaction.
	"tenant/postgres statuses": "moderation marks sensitive, deletes reported remote posts; tenant purge",
	"tenant/postgres accounts": "tenant purge deletes the tenant's accounts",
	"tenant/postgres reports":  "the dashboard resolves, assigns and forwards reports",
	// The tenant's plan is a column of the tenant row.
	"billing/postgres tenants": "tenants.plan_id is billing's column",
}

var writeRE = regexp.MustCompile(`(?i)\b(?:insert\s+into|delete\s+from|update)\s+([a-z_][a-z0-9_]*)`)

// migrationTables parses migrations/*.sql for the tables that exist after
// the last one (created, not dropped).
func migrationTables(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("../../migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations found: %v", err)
	}
	sort.Strings(files)
	create := regexp.MustCompile(`(?i)\bcreate\s+(?:unlogged\s+)?table\s+(?:if\s+not\s+exists\s+)?([a-z_][a-z0-9_]*)`)
	drop := regexp.MustCompile(`(?i)\bdrop\s+table\s+(?:if\s+exists\s+)?([a-z_][a-z0-9_]*)`)
	tables := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sql := stripSQLComments(string(b))
		for _, m := range create.FindAllStringSubmatch(sql, -1) {
			tables[strings.ToLower(m[1])] = true
		}
		for _, m := range drop.FindAllStringSubmatch(sql, -1) {
			delete(tables, strings.ToLower(m[1]))
		}
	}
	if len(tables) < 20 {
		t.Fatalf("parsed only %d tables from the migrations", len(tables))
	}
	return tables
}

func stripSQLComments(sql string) string {
	var b strings.Builder
	for _, line := range strings.Split(sql, "\n") {
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i]
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// storeWrites returns "package table" → a position, for every table a
// */postgres package's non-test Go string literals insert into, update
// or delete from.
func storeWrites(t *testing.T, tables map[string]bool) map[string]string {
	t.Helper()
	writes := map[string]string{}
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "var" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || filepath.Base(filepath.Dir(path)) != "postgres" || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		pkg := filepath.ToSlash(filepath.Dir(strings.TrimPrefix(path, "../../")))
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			for _, m := range writeRE.FindAllStringSubmatch(s, -1) {
				if table := strings.ToLower(m[1]); tables[table] {
					writes[pkg+" "+table] = fset.Position(lit.Pos()).String()
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return writes
}

// TestIssue15Finding5EveryTableHasOneOwner: every table the migrations
// create names its owning store; a new table without one fails here.
func TestIssue15Finding5EveryTableHasOneOwner(t *testing.T) {
	tables := migrationTables(t)
	for table := range tables {
		if owners[table] == "" {
			t.Errorf("table %s has no owner: add it to owners in tables_test.go", table)
		}
	}
	for table := range owners {
		if !tables[table] {
			t.Errorf("owners names %s, which no migration creates", table)
		}
	}
}

// TestIssue15Finding5OnlyTheOwnerWritesATable: a store writes only the
// tables it owns, but for the listed allowances, each still in use.
func TestIssue15Finding5OnlyTheOwnerWritesATable(t *testing.T) {
	tables := migrationTables(t)
	writes := storeWrites(t, tables)
	if len(writes) < 20 {
		t.Fatalf("found only %d store writes; is the scan broken?", len(writes))
	}
	for w, pos := range writes {
		pkg, table, _ := strings.Cut(w, " ")
		if owners[table] != pkg && allowances[w] == "" {
			t.Errorf("%s: %s writes %s, owned by %s; ask the owner through a port", pos, pkg, table, owners[table])
		}
	}
	for w := range allowances {
		if _, ok := writes[w]; !ok {
			t.Errorf("allowance %q is no longer used: remove it", w)
		}
	}
}
