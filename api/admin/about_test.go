package admin

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// rulesByKind and termsByKind are A's and B's rules and terms versions,
// for the authority matrix (authority_test.go): a tenant's session edits,
// moves and deletes its own alone. Nothing of them is the instance's.
var (
	rulesByKind = pick(func(w *authWorld) []int64 { return []int64{w.ruleA} },
		func(w *authWorld) []int64 { return []int64{w.ruleB} }, nil)
	termsByKind = pick(func(w *authWorld) []int64 { return []int64{w.termsA} },
		func(w *authWorld) []int64 { return []int64{w.termsB} }, nil)
)

// seedAbout (re)creates a rule and a terms version of A and of B under
// the same ids every time (reset brings back the ones a case deleted).
func (w *authWorld) seedAbout(t *testing.T) {
	t.Helper()
	for _, x := range []struct {
		rule, terms *int64
		scope       int64
		text        string
	}{{&w.ruleA, &w.termsA, w.A, "rule of a"}, {&w.ruleB, &w.termsB, w.B, "rule of b"}} {
		if *x.rule == 0 {
			*x.rule = w.q(t, `insert into server_rules (tenant_id, position, text) values ($1, 1, $2) returning id`, x.scope, x.text)
			*x.terms = w.q(t, `insert into terms_of_service (tenant_id, effective_date, text) values ($1, '2030-01-01', $2)
				returning id`, x.scope, "terms of "+x.text)
			continue
		}
		w.q(t, `insert into server_rules (id, tenant_id, position, text) overriding system value
			values ($3, $1, 1, $2) on conflict (id) do nothing`, x.scope, x.text, *x.rule)
		w.q(t, `insert into terms_of_service (id, tenant_id, effective_date, text) overriding system value
			values ($3, $1, '2030-01-01', $2) on conflict do nothing`, x.scope, "terms of "+x.text, *x.terms)
	}
}

// Issue 17: the server rules, about and terms pages. A form without its
// CSRF token changes nothing; A's admin writes A's rules, texts and terms
// (each write in the audit log under A), never B's, and B's pages never
// show A's; the operator host has none to edit.
func TestIssue17ServerRulesDashboardCSRFAuditAndTenants(t *testing.T) {
	w := newAuthWorld(t)
	rules := func(tenant int64) int64 {
		return w.q(t, `select count(*) from server_rules where tenant_id = $1`, tenant)
	}
	beforeA, beforeB := rules(w.A), rules(w.B)

	tok := w.session(t, w.adminA, w.A)
	for _, path := range []string{"/rules", "/about", "/terms"} {
		req := httptest.NewRequest("POST", TenantPrefix+path, strings.NewReader("text=forged&about=forged&effective_date=2031-01-01"))
		req.Host = "a.example"
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Cookie", "__Secure-"+sessionCookie+"="+tok)
		resp, err := w.app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s without CSRF: %d", path, resp.StatusCode)
		}
	}
	if rules(w.A) != beforeA || w.q(t, `select count(*) from server_settings`) != 0 || w.q(t, `select count(*) from terms_of_service`) != 2 {
		t.Fatal("a form without CSRF changed something")
	}

	resp, body := w.do(t, "a.example", "POST", "/rules", tok, vals("text", "Be kind", "hint", "no harassment"))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save rule: %d %.300s", resp.StatusCode, body)
	}
	kind := w.q(t, `select id from server_rules where text = 'Be kind' and tenant_id = $1`, w.A)
	if kind == 0 || rules(w.A) != beforeA+1 || rules(w.B) != beforeB {
		t.Fatalf("rule saved where? A %d, B %d", rules(w.A), rules(w.B))
	}
	resp, _ = w.do(t, "a.example", "POST", "/rules/move", tok, vals("id", id(kind), "dir", "up"))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("move: %d", resp.StatusCode)
	}
	if first := w.q(t, `select id from server_rules where tenant_id = $1 order by position, id limit 1`, w.A); first != kind {
		t.Errorf("after moving up, the first rule is %d, want %d", first, kind)
	}
	resp, body = w.do(t, "a.example", "POST", "/rules", tok, vals("text", "  "))
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "1 to 1000 characters") {
		t.Errorf("empty rule: %d %.300s", resp.StatusCode, body)
	}
	// B's rule named on A's /admin: not found, unchanged.
	for _, f := range [][]string{{"/rules", "id", id(w.ruleB), "text", "hijacked"}, {"/rules/delete", "id", id(w.ruleB)},
		{"/rules/move", "id", id(w.ruleB), "dir", "down"}, {"/terms/delete", "id", id(w.termsB)},
		{"/terms", "id", id(w.termsB), "effective_date", "2031-01-01", "text", "hijacked"}} {
		resp, _ = w.do(t, "a.example", "POST", f[0], tok, vals(f[1:]...))
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s naming B's: %d, want 404", f[0], resp.StatusCode)
		}
	}
	if n := w.q(t, `select count(*) from server_rules where tenant_id = $1 and text = 'rule of b'`, w.B); n != 1 {
		t.Errorf("B's rule changed: %d", n)
	}

	resp, body = w.do(t, "a.example", "POST", "/about", tok, vals("about", "We are <b>a</b>.", "privacy_policy", "We keep little.",
		"domain_blocks", "users", "domain_blocks_rationale", "disabled"))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save about: %d %.300s", resp.StatusCode, body)
	}
	resp, body = w.do(t, "a.example", "POST", "/about", tok, vals("domain_blocks", "friends"))
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("bad visibility: %d %.300s", resp.StatusCode, body)
	}
	if v := w.q(t, `select count(*) from server_settings where tenant_id = $1 and domain_blocks_visibility = 'users'
		and about = 'We are <b>a</b>.'`, w.A); v != 1 {
		t.Errorf("A's settings not saved, or changed by a refused form")
	}
	resp, body = w.do(t, "a.example", "POST", "/terms", tok, vals("effective_date", "2031-05-01", "text", "New terms", "changelog", "clearer"))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save terms: %d %.300s", resp.StatusCode, body)
	}
	resp, body = w.do(t, "a.example", "POST", "/terms", tok, vals("effective_date", "2031-05-01", "text", "Same day"))
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "another version") {
		t.Errorf("second version on the same date: %d %.300s", resp.StatusCode, body)
	}
	for action, n := range map[string]int64{"rule.create": 1, "rule.move": 1, "about.update": 1, "terms.create": 1} {
		if got := w.q(t, `select count(*) from audit_log where action = $1 and tenant_id = $2 and user_id = $3`, action, w.A, w.adminA); got != n {
			t.Errorf("%d %s audit entries under A, want %d", got, action, n)
		}
	}

	resp, body = w.do(t, "a.example", "GET", "/rules", tok, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Be kind") || strings.Contains(body, "rule of b") {
		t.Errorf("A's rules page: %d %.1000s", resp.StatusCode, body)
	}
	resp, body = w.do(t, "a.example", "GET", "/terms", tok, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "2031-05-01") || !strings.Contains(body, "clearer") {
		t.Errorf("A's terms page: %d %.1000s", resp.StatusCode, body)
	}
	tokB := w.session(t, w.adminB, w.B)
	resp, body = w.do(t, "b.example", "GET", "/rules", tokB, nil)
	if resp.StatusCode != http.StatusOK || strings.Contains(body, "Be kind") || !strings.Contains(body, "rule of b") {
		t.Errorf("B's rules page: %d %.1000s", resp.StatusCode, body)
	}
	resp, body = w.do(t, "b.example", "GET", "/about", tokB, nil)
	if resp.StatusCode != http.StatusOK || strings.Contains(body, "We keep little") {
		t.Errorf("B's about page: %d %.1000s", resp.StatusCode, body)
	}
	op := w.session(t, w.op, 0)
	if resp, _ = w.do(t, authOperatorHost, "POST", "/rules", op, vals("text", "instance rule")); resp.StatusCode != http.StatusNotFound {
		t.Errorf("rules on the operator host: %d", resp.StatusCode)
	}
	if n := w.q(t, `select count(*) from server_rules where text = 'instance rule'`); n != 0 {
		t.Errorf("the operator host wrote a rule")
	}
}
