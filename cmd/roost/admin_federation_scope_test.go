package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
)

// A tenant admin on their domain's /admin acts on their tenant's domain
// blocks only: the instance's blocks and another tenant's are neither
// listed, nor readable, nor removable by id; imports of other scopes
// cannot be undone; what they add is theirs; and the instance-wide queue
// pages are closed to them.
func TestAdminFederationTenantScope(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	n := startNode(t, "fedscope", addr, "")
	n.env = append(n.env, "ROOST_OPERATOR_HOST="+operatorHost)
	one := strings.TrimSpace(n.run(t, "tenant", "create", "--name", "One", "--domain", "one.test"))
	two := strings.TrimSpace(n.run(t, "tenant", "create", "--name", "Two", "--domain", "two.test"))
	n.run(t, "account", "create", "--domain", "one.test", "--username", "admin", "--email", "admin@one.test", "--password", testPassword)
	n.run(t, "tenant", "role", "grant", "--tenant", "one.test", "--email", "admin@one.test", "--role", "admin")
	instBlock := n.query(t, `insert into domain_blocks (domain, severity, private_comment) values ('instance-only.example', 'suspend', 'operators only') returning id`)
	twoBlock := n.query(t, `insert into domain_blocks (tenant_id, domain, severity) values ($1, 'twos-own.example', 'silence') returning id`, two)
	instImport := n.query(t, `insert into blocklist_imports (source) values ('operator list') returning id`)
	n.start(t, "serve")
	waitHTTP(t, "http://"+addr+"/healthz", "any.test", 200)

	hc := hostClient(addr)
	jar, _ := cookiejar.New(nil)
	hc.Jar = jar
	base := "http://one.test/admin"
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := hc.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	csrf := func() string {
		for _, c := range jar.Cookies(&url.URL{Scheme: "http", Host: "one.test", Path: "/admin/"}) {
			if strings.HasSuffix(c.Name, "roost_admin_csrf") {
				return c.Value
			}
		}
		t.Fatal("no CSRF cookie")
		return ""
	}
	post := func(path string, form url.Values) (int, string) {
		t.Helper()
		form.Set("csrf", csrf())
		resp, err := hc.PostForm(base+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/login"); code != 200 {
		t.Fatalf("login page: %d", code)
	}
	if code, body := post("/login", url.Values{"email": {"admin@one.test"}, "password": {testPassword}}); code != http.StatusSeeOther {
		t.Fatalf("sign in: %d %s", code, body)
	}

	code, page := get("/federation/blocks")
	if code != 200 || strings.Contains(page, "instance-only.example") || strings.Contains(page, "twos-own.example") ||
		strings.Contains(page, "operator list") {
		t.Fatalf("tenant blocks page (%d) shows other scopes:\n%s", code, page)
	}
	for _, id := range []string{instBlock, twoBlock} {
		if code, _ := get("/federation/block?id=" + id); code != http.StatusNotFound {
			t.Errorf("reading block %s of another scope: %d", id, code)
		}
		if code, _ := post("/federation/block/delete", url.Values{"id": {id}}); code != http.StatusNotFound {
			t.Errorf("removing block %s of another scope: %d", id, code)
		}
	}
	if code, _ := post("/federation/blocks/undo", url.Values{"id": {instImport}}); code != http.StatusNotFound {
		t.Errorf("undoing the instance's import: %d", code)
	}
	if got := n.query(t, `select count(*) from domain_blocks`); got != "2" {
		t.Fatalf("blocks of other scopes changed: %s left", got)
	}
	// The tenant's own block, even of a domain the instance blocks too,
	// is a separate row that leaves the instance's as it was.
	for _, d := range []string{"mine.example", "instance-only.example"} {
		if code, body := post("/federation/block", url.Values{"domain": {d}, "severity": {"silence"}}); code != http.StatusSeeOther {
			t.Fatalf("saving %s: %d %s", d, code, body)
		}
	}
	if got := n.query(t, `select string_agg(domain || ':' || coalesce(tenant_id::text, 'instance') || ':' || severity, ',' order by domain, tenant_id)
		from domain_blocks`); got != "instance-only.example:"+one+":silence,instance-only.example:instance:suspend,mine.example:"+one+":silence,twos-own.example:"+two+":silence" {
		t.Fatalf("blocks: %s", got)
	}
	resp, err := hc.Get(base + "/federation/blocks/export")
	if err != nil {
		t.Fatal(err)
	}
	csv, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || strings.Contains(string(csv), "twos-own") || !strings.Contains(string(csv), "mine.example,silence") ||
		strings.Contains(string(csv), "suspend") {
		t.Fatalf("export (%d):\n%s", resp.StatusCode, csv)
	}
	if code, _ := get("/queue"); code != http.StatusForbidden {
		t.Errorf("tenant admin opened the queue page: %d", code)
	}
	if code, _ := post("/queue/discard", url.Values{"all": {"1"}}); code != http.StatusForbidden {
		t.Errorf("tenant admin discarded dead letters: %d", code)
	}
	// The audit log has the tenant's actions, on its tenant.
	if got := n.query(t, `select count(*) from audit_log where action = 'domain_block.create' and tenant_id = $1`, one); got != "2" {
		t.Errorf("audit entries for the tenant's blocks: %s", got)
	}
}
