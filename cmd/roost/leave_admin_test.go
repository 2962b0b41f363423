package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The operator's leaving page: archives of every account built (the site
// suspended) and downloaded, a bad grace period refused with nothing
// stored, a deletion scheduled and cancelled, then one due at once: the
// tenant's data is removed and the audit log keeps the record.
func TestLeavingDashboard(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	n := startNode(t, "leave-admin", addr, "")
	n.env = append(n.env, "ROOST_OPERATOR_HOST="+operatorHost)
	n.run(t, "tenant", "create", "--name", "Operators", "--domain", "ops.test")
	n.run(t, "account", "create", "--domain", "ops.test", "--username", "op", "--email", "op@mail.test", "--password", testPassword)
	n.run(t, "operator", "grant", "--email", "op@mail.test")
	id := strings.TrimSpace(n.run(t, "tenant", "create", "--name", "Leaving", "--domain", "leave.test"))
	n.run(t, "account", "create", "--domain", "leave.test", "--username", "lee", "--email", "lee@leave.test", "--password", testPassword)
	n.run(t, "post", "--account", "lee@leave.test", "--text", "taking this with me")
	n.run(t, "tenant", "add-domain", "--tenant", id, "--domain", "lee.test")
	n.query(t, `update tenants set status = 'suspended' where id = $1 returning id`, id) // suspended sites export too
	n.start(t, "serve")
	n.start(t, "work")
	waitHTTP(t, "http://"+addr+"/healthz", "any.test", 200)

	op := signInDashboard(t, addr, "http://"+operatorHost, "op@mail.test", testPassword)
	// The change of domain, from the dashboard.
	if code, body := op.get("/tenant/domain-move?id=" + id); code != 200 || !strings.Contains(body, `<option value="lee.test">`) {
		t.Fatalf("domain move page: %d %.2000s", code, body)
	}
	if code, _ := op.post("/tenant/domain-move", url.Values{"id": {id}, "from": {"leave.test"}, "to": {"leave.test"}}); code != 422 {
		t.Fatalf("move onto itself: %d", code)
	}
	// Another tenant's domain is refused, on either side, nothing moved.
	for _, pair := range [][2]string{{"leave.test", "ops.test"}, {"ops.test", "lee.test"}} {
		if code, body := op.post("/tenant/domain-move", url.Values{"id": {id}, "from": {pair[0]}, "to": {pair[1]}}); code != 422 ||
			!strings.Contains(body, "must both be verified domains of tenant") {
			t.Fatalf("move %v: %d %.2000s", pair, code, body)
		}
	}
	if got := n.query(t, `select count(*) from account_moves`); got != "0" {
		t.Fatalf("a refused move moved %s accounts", got)
	}
	if code, body := op.post("/tenant/domain-move", url.Values{"id": {id}, "from": {"leave.test"}, "to": {"lee.test"}}); code != 200 ||
		!strings.Contains(body, "1 accounts moved") || !strings.Contains(body, "@lee@leave.test -&gt; @lee@lee.test") {
		t.Fatalf("domain move: %d %.3000s", code, body)
	}
	if got := n.query(t, `select count(*) from accounts where domain = 'lee.test' and username = 'lee' and moved_to_uri is null`); got != "1" {
		t.Fatalf("lee did not move: %s", got)
	}

	if code, body := op.get("/tenant/leave?id=" + id); code != 200 || !strings.Contains(body, "Take everything with you") {
		t.Fatalf("leaving page: %d %.2000s", code, body)
	}
	if code, body := op.post("/tenant/leave/export", url.Values{"id": {id}}); code != http.StatusSeeOther {
		t.Fatalf("request archives: %d %.500s", code, body)
	}
	n.eventually(t, "done", `select state from archive_exports where tenant_id = $1`, id)
	exportID := n.query(t, `select id from archive_exports where tenant_id = $1`, id)
	_, body := op.get("/tenant/leave?id=" + id)
	if !strings.Contains(body, `id="download-`+exportID+`"`) || !strings.Contains(body, "lee@lee.test") {
		t.Fatalf("no download offered: %.3000s", body)
	}
	code, zip := op.get("/tenant/leave/download?id=" + id + "&export=" + exportID)
	if code != 200 || !strings.HasPrefix(zip, "PK") || !strings.Contains(zip, "outbox.json") {
		t.Fatalf("download: %d %.100q", code, zip)
	}
	if code, _ := op.get("/tenant/leave/download?id=1&export=" + exportID); code != 404 {
		t.Fatalf("another tenant's id reaches the archive: %d", code)
	}

	if code, body := op.post("/tenant/leave", url.Values{"id": {id}, "grace_days": {"soon"}}); code != 422 || !strings.Contains(body, "grace period") {
		t.Fatalf("bad grace: %d", code)
	}
	if got := n.query(t, `select count(*) from tenant_deletions`); got != "0" {
		t.Fatalf("bad grace stored a deletion: %s", got)
	}
	if code, _ := op.post("/tenant/leave", url.Values{"id": {id}, "grace_days": {"30"}}); code != http.StatusSeeOther {
		t.Fatalf("schedule: %d", code)
	}
	if _, body := op.get("/tenant/leave?id=" + id); !strings.Contains(body, `id="cancel"`) {
		t.Fatalf("no cancel offered: %.3000s", body)
	}
	if code, _ := op.post("/tenant/leave/cancel", url.Values{"id": {id}}); code != http.StatusSeeOther {
		t.Fatalf("cancel: %d", code)
	}
	if code, _ := op.post("/tenant/leave", url.Values{"id": {id}, "grace_days": {"0"}}); code != http.StatusSeeOther {
		t.Fatalf("schedule now: %d", code)
	}
	n.eventually(t, "0", `select count(*) from tenants where id = $1`, id)
	if got := n.query(t, `select count(*) from accounts where domain in ('leave.test', 'lee.test')`); got != "0" {
		t.Fatalf("accounts left: %s", got)
	}
	if got := n.query(t, `select string_agg(action || ':' || user_email, ',' order by id) from audit_log where tenant_id = $1`, id); got !=
		"tenant.add_domain:cli,tenant.move_domain:op@mail.test,tenant.delete_scheduled:op@mail.test,tenant.delete_cancelled:op@mail.test,tenant.delete_scheduled:op@mail.test,tenant.deleted:op@mail.test" {
		t.Fatalf("audit: %s", got)
	}
}
