package admin

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/roost-social/roost/federation"
)

// Issue 14, finding 2: a tenant's dashboard shows only the posts the
// tenant could lawfully see. The world's posts named "secret" are direct
// or followers-only posts of B's and of the remote account addressed to
// B's accounts only, and A's reports name them by id: every page of the
// dashboard (generated from the route table's GET routes, with every kind
// of target) rendered for A's users never shows one, while it does show
// public posts and the remote direct message addressed to A's alice. The
// operator, for the instance, sees them all. Forwarding A's report names
// none of them to the remote server either.
func TestIssue14Finding2DashboardShowsOnlyWhatTenantMaySee(t *testing.T) {
	w := newAuthWorld(t)
	pages := 0
	for _, user := range []int64{w.op, w.adminA, w.modA} {
		for _, c := range authCases(t, w) {
			if c.method != "GET" {
				continue
			}
			resp, body := w.do(t, "a.example", c.method, c.path, w.session(t, user, w.A), c.form)
			pages++
			if strings.Contains(body, "secret") {
				t.Errorf("%s %v as %s on A: status %d shows another tenant's private post:\n%.600s", c.path, c.form, w.email(t, user), resp.StatusCode, body)
			}
		}
	}
	if pages < 40 {
		t.Fatalf("only %d pages", pages)
	}

	mod := w.session(t, w.modA, w.A)
	_, body := w.do(t, "a.example", "GET", "/account", mod, vals("id", id(w.rem)))
	for _, want := range []string{"rem-public", "rem-direct-to-alice", "2 posts"} {
		if !strings.Contains(body, want) {
			t.Errorf("A's page of the remote account lacks %q:\n%s", want, body)
		}
	}
	// B's account, reported on A: on A's dashboard (to limit it on A's
	// timelines, and undo it) with its public post only, and no login.
	_, body = w.do(t, "a.example", "GET", "/account", mod, vals("id", id(w.bob)))
	if !strings.Contains(body, "bob-public") || !strings.Contains(body, "1 posts") || strings.Contains(body, "bob@mail.test") {
		t.Errorf("A's page of B's reported account:\n%s", body)
	}
	_, body = w.do(t, "a.example", "GET", "/reports", mod, nil)
	for _, want := range []string{"troll-public", "troll-direct-to-alice", "bob-public", "rem-public", "rem-direct-to-alice"} {
		if !strings.Contains(body, want) {
			t.Errorf("A's reports lack %q", want)
		}
	}

	// Forwarding A's report about the remote account names only what A
	// may see.
	if resp, body := w.do(t, "a.example", "POST", "/reports/forward", mod, vals("id", id(w.repRemote))); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("forward: %d %s", resp.StatusCode, body)
	}
	if f := w.out.forwarded; len(f) != 1 || strings.Contains(f[0], "secret") || !strings.Contains(f[0], "rem-public") ||
		!strings.Contains(f[0], "rem-direct-to-alice") || !strings.HasPrefix(f[0], "a.example https://remote.test/u/rem ") {
		t.Errorf("forwarded %q", f)
	}

	// The operator sees every post, on every tenant.
	op := w.session(t, w.op, 0)
	_, body = w.do(t, authOperatorHost, "GET", "/account", op, vals("id", id(w.rem)))
	_, reports := w.do(t, authOperatorHost, "GET", "/reports", op, nil)
	for _, want := range []string{"rem-secret-direct-to-carol", "rem-secret-followers-only-of-carol"} {
		if !strings.Contains(body, want) || !strings.Contains(reports, want) {
			t.Errorf("the operator does not see %q", want)
		}
	}
	if !strings.Contains(reports, "bob-secret-direct-to-carol") {
		t.Errorf("the operator does not see B's reported post")
	}
}

// Issue 14, finding 1, the "delete" report action on tenant A's /admin:
// A's own accounts' posts are deleted through the outbox; a remote post
// (one row for every tenant) stays and is hidden from A's viewers only —
// in its views, public and hashtag timelines, signed in or not — while
// B's viewers still see it; B's posts are left alone with a notice that
// says so. The operator, for the instance, deletes a remote post outright.
func TestIssue14Finding1TenantDeleteHidesRemotePostsForItsViewersOnly(t *testing.T) {
	w := newAuthWorld(t)
	ctx := context.Background()
	admin := w.session(t, w.adminA, w.A)
	resolve := func(tok, host string, report int64) string {
		t.Helper()
		resp, body := w.do(t, host, "POST", "/reports/resolve", tok, vals("one", id(report), "action", "delete"))
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("resolve %d: %d %s", report, resp.StatusCode, body)
		}
		return resp.Header.Get("Location")
	}
	remPublic := w.post["rem-public"]
	seen := func(viewer int64) bool {
		vs, err := w.views.StatusViews(ctx, viewer, []int64{remPublic})
		if err != nil {
			t.Fatal(err)
		}
		return len(vs) == 1
	}
	onTimeline := func(tenantID, viewer int64) bool {
		ids, err := w.views.PublicTimeline(ctx, tenantID, viewer, true, true, federation.Page{Limit: 40})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range ids {
			if x == remPublic {
				return true
			}
		}
		return false
	}
	// Someone signed out on A's domain, and on B's.
	outA, outB := federation.SignedOut(w.A), federation.SignedOut(w.B)
	inContext := func(viewer int64) bool {
		// The hidden post is its own thread's root: Context of a reply
		// would list it; here its account's statuses do.
		ids, err := w.views.AccountStatuses(ctx, viewer, w.rem, federation.AccountStatusesFilter{}, federation.Page{Limit: 40})
		if err != nil {
			t.Fatal(err)
		}
		return slices.Contains(ids, remPublic)
	}
	if !seen(w.alice) || !seen(outA) || !inContext(outA) || !onTimeline(w.A, 0) || !onTimeline(w.A, w.alice) {
		t.Fatal("the remote post is not shown on A to begin with")
	}

	loc := resolve(admin, "a.example", w.repRemote)
	if !strings.Contains(loc, "hidden=2") { // rem-public and rem-direct-to-alice: what A sees
		t.Errorf("redirect %s", loc)
	}
	if n := w.q(t, `select count(*) from statuses where account_id = $1`, w.rem); n != 4 {
		t.Errorf("a tenant deleted remote posts: %d left of 4", n)
	}
	if seen(w.alice) || seen(outA) || inContext(outA) || onTimeline(w.A, 0) || onTimeline(w.A, w.alice) {
		t.Error("the hidden post still shows on A (signed in or out)")
	}
	if !seen(w.carol) || !seen(outB) || !inContext(outB) || !onTimeline(w.B, 0) || !onTimeline(w.B, w.carol) {
		t.Error("A's hiding took the post from B's viewers")
	}
	if _, page := w.do(t, "a.example", "GET", "/reports", admin, vals("done", "resolved", "hidden", "2")); !strings.Contains(page, "2 remote post(s) are hidden") {
		t.Errorf("no notice of hiding:\n%s", page)
	}

	loc = resolve(admin, "a.example", w.repOther)
	if !strings.Contains(loc, "kept=1") || len(w.out.deleted) != 0 {
		t.Errorf("B's post: redirect %s, deleted %v", loc, w.out.deleted)
	}
	if n := w.q(t, `select count(*) from statuses where account_id = $1`, w.bob); n != 3 {
		t.Errorf("B's posts: %d left of 3", n)
	}
	if _, page := w.do(t, "a.example", "GET", "/reports", admin, vals("done", "resolved", "kept", "1")); !strings.Contains(page, "belong to another site") {
		t.Errorf("no notice of posts left alone:\n%s", page)
	}

	resolve(admin, "a.example", w.repOwn)
	if len(w.out.deleted) != 2 || w.out.deleted[0] != w.troll || w.q(t, `select count(*) from statuses where account_id = $1`, w.troll) != 0 {
		t.Errorf("A's own posts: deleted %v", w.out.deleted)
	}

	// The operator, for the instance: the remote post is gone for all.
	resolve(w.session(t, w.op, 0), authOperatorHost, w.repB)
	if n := w.q(t, `select count(*) from statuses where id = $1`, remPublic); n != 0 || seen(w.carol) {
		t.Errorf("the operator's delete left the remote post")
	}
}
