package admin

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// announcementsByKind are A's, B's and the instance's announcements, for
// the authority matrix (authority_test.go): a tenant's session edits and
// deletes its own alone.
var announcementsByKind = pick(func(w *authWorld) []int64 { return []int64{w.annA} },
	func(w *authWorld) []int64 { return []int64{w.annB} },
	func(w *authWorld) []int64 { return []int64{w.annI} })

// seedAnnouncements (re)creates one published announcement of A, of B and
// of the instance, under the same ids every time (reset brings back the
// ones a case deleted).
func (w *authWorld) seedAnnouncements(t *testing.T) {
	t.Helper()
	for _, x := range []struct {
		id    *int64
		scope int64
		text  string
	}{{&w.annA, w.A, "news of a"}, {&w.annB, w.B, "news of b"}, {&w.annI, 0, "news of the instance"}} {
		if *x.id == 0 {
			*x.id = w.q(t, `insert into announcements (tenant_id, text, content, published_at)
				values (nullif($1::bigint, 0), $2, '<p>'||$2||'</p>', now()) returning id`, x.scope, x.text)
			continue
		}
		w.q(t, `insert into announcements (id, tenant_id, text, content, published_at) overriding system value
			values ($3, nullif($1::bigint, 0), $2, '<p>'||$2||'</p>', now()) on conflict (id) do nothing`, x.scope, x.text, *x.id)
	}
}

// The announcements pages: a form without its CSRF token changes
// nothing; a tenant admin writes and lists the tenant's own, the operator
// the instance's; every write is in the audit log with its scope.
func TestIssue17AnnouncementsDashboardCSRFAndAudit(t *testing.T) {
	w := newAuthWorld(t)
	count := func() int64 { return w.q(t, `select count(*) from announcements`) }
	before := count()

	tok := w.session(t, w.adminA, w.A)
	req := httptest.NewRequest("POST", TenantPrefix+"/announcements", strings.NewReader("text=forged&published=on"))
	req.Host = "a.example"
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", "__Secure-"+sessionCookie+"="+tok)
	resp, err := w.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusForbidden || count() != before {
		t.Fatalf("without CSRF: %d, %d announcements (was %d)", resp.StatusCode, count(), before)
	}

	resp, body := w.do(t, "a.example", "POST", "/announcements", tok, vals("text", "hello from a", "published", "on", "starts_at", "2030-01-01T10:00"))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("tenant admin saves: %d %.300s", resp.StatusCode, body)
	}
	if owner := w.q(t, `select tenant_id from announcements where text = 'hello from a'`); owner != w.A {
		t.Errorf("saved for tenant %d, want %d", owner, w.A)
	}
	if n := w.q(t, `select count(*) from audit_log where action = 'announcement.create' and tenant_id = $1 and user_id = $2`, w.A, w.adminA); n != 1 {
		t.Errorf("%d audit entries for A's admin", n)
	}
	resp, body = w.do(t, "a.example", "POST", "/announcements", tok, vals("text", " ", "published", "on"))
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "1 to 5000 characters") {
		t.Errorf("empty text: %d %.300s", resp.StatusCode, body)
	}
	resp, body = w.do(t, "a.example", "GET", "/announcements", tok, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "hello from a") || !strings.Contains(body, "news of a") ||
		strings.Contains(body, "news of b") || strings.Contains(body, "news of the instance") {
		t.Errorf("A's list: %d %.2000s", resp.StatusCode, body)
	}

	op := w.session(t, w.op, 0)
	resp, body = w.do(t, authOperatorHost, "POST", "/announcements", op, vals("text", "for everyone", "published", "on"))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("operator saves: %d %.300s", resp.StatusCode, body)
	}
	if n := w.q(t, `select count(*) from announcements where text = 'for everyone' and tenant_id is null`); n != 1 {
		t.Errorf("the operator's is not the instance's")
	}
	if n := w.q(t, `select count(*) from audit_log where action = 'announcement.create' and tenant_id is null and user_id = $1`, w.op); n != 1 {
		t.Errorf("%d audit entries for the operator", n)
	}
	resp, body = w.do(t, authOperatorHost, "GET", "/announcements", op, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "for everyone") || strings.Contains(body, "news of a") ||
		!strings.Contains(body, `id="nav-announcements"`) {
		t.Errorf("the operator's list: %d %.2000s", resp.StatusCode, body)
	}
}
