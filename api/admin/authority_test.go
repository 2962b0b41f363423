package admin

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// targetKind is whose data a dashboard form names, seen from tenant A.
type targetKind string

const (
	kindNone   targetKind = "no target"
	kindOwn    targetKind = "A's own"
	kindOther  targetKind = "tenant B's"
	kindShared targetKind = "remote / the instance's"
)

// authSpec says how a route names its target. forms gives the requests
// naming a target of a kind (none: not applicable); noTarget routes run
// once with forms(kindNone). Sign-in routes are no action on anyone.
type authSpec struct {
	signIn   bool
	noTarget bool
	forms    func(w *authWorld, k targetKind) []url.Values
}

func vals(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

func id(n int64) string { return strconv.FormatInt(n, 10) }

// fixed is a route that names no target.
func fixed(kv ...string) authSpec {
	return authSpec{noTarget: true, forms: func(*authWorld, targetKind) []url.Values { return []url.Values{vals(kv...)} }}
}

// byKind is a route naming one id of each kind (field), each request
// sent once per extra variant (more fields).
func byKind(field string, pick func(w *authWorld, k targetKind) []int64, variants ...url.Values) authSpec {
	if len(variants) == 0 {
		variants = []url.Values{{}}
	}
	return authSpec{forms: func(w *authWorld, k targetKind) []url.Values {
		var out []url.Values
		for _, n := range pick(w, k) {
			for _, extra := range variants {
				v := vals(field, id(n))
				for key, vs := range extra {
					v[key] = vs
				}
				out = append(out, v)
			}
		}
		return out
	}}
}

func pick(own, other, shared func(w *authWorld) []int64) func(w *authWorld, k targetKind) []int64 {
	return func(w *authWorld, k targetKind) []int64 {
		switch k {
		case kindOwn:
			return own(w)
		case kindOther:
			return other(w)
		case kindShared:
			if shared != nil {
				return shared(w)
			}
		}
		return nil
	}
}

func each(field string, values ...string) []url.Values {
	var out []url.Values
	for _, v := range values {
		out = append(out, vals(field, v))
	}
	return out
}

var (
	reportsByKind = pick(func(w *authWorld) []int64 { return []int64{w.repOwn} },
		func(w *authWorld) []int64 { return []int64{w.repOther, w.repB} },
		func(w *authWorld) []int64 { return []int64{w.repRemote} })
	accountsByKind = pick(func(w *authWorld) []int64 { return []int64{w.troll} },
		func(w *authWorld) []int64 { return []int64{w.bob} },
		func(w *authWorld) []int64 { return []int64{w.rem} })
	tenantsByKind = pick(func(w *authWorld) []int64 { return []int64{w.A} },
		func(w *authWorld) []int64 { return []int64{w.B} }, nil)
	blocksByKind = pick(func(w *authWorld) []int64 { return []int64{w.blockA} },
		func(w *authWorld) []int64 { return []int64{w.blockB} },
		func(w *authWorld) []int64 { return []int64{w.blockI} })
	importsByKind = pick(func(w *authWorld) []int64 { return []int64{w.importA} },
		func(w *authWorld) []int64 { return []int64{w.importB} },
		func(w *authWorld) []int64 { return []int64{w.importI} })
	subsByKind = pick(func(w *authWorld) []int64 { return []int64{w.subA} },
		func(w *authWorld) []int64 { return []int64{w.subB} },
		func(w *authWorld) []int64 { return []int64{w.subI} })
	deliveriesByKind = pick(func(w *authWorld) []int64 { return []int64{w.deadA} },
		func(w *authWorld) []int64 { return []int64{w.deadB} }, nil)
)

// loginForms name a login and the account it was reached from: A's
// alice's login, B's bob's, and the operator's (through its account on A).
func loginForms(w *authWorld, k targetKind) []url.Values {
	switch k {
	case kindOwn:
		return []url.Values{vals("user", id(w.aliceLogin), "id", id(w.alice))}
	case kindOther:
		return []url.Values{vals("user", id(w.bobLogin), "id", id(w.bob))}
	}
	return []url.Values{vals("user", id(w.op), "id", id(w.opa))}
}

// authorityActions classifies every dashboard route by the target its
// form names. A route missing here fails the test until it is added.
var authorityActions = map[string]authSpec{
	"GET /login":             {signIn: true},
	"POST /login":            {signIn: true},
	"GET /login/code":        {signIn: true},
	"POST /login/code":       {signIn: true},
	"POST /logout":           {signIn: true},
	"GET /":                  fixed(),
	"GET /tenants":           fixed("q", "example"),
	"GET /tenant":            byKind("id", tenantsByKind),
	"POST /tenant/approve":   byKind("id", tenantsByKind),
	"POST /tenant/suspend":   byKind("id", tenantsByKind),
	"POST /tenant/unsuspend": byKind("id", tenantsByKind),
	"POST /tenant/quotas":    byKind("id", tenantsByKind, url.Values{"requests_per_second": {"5"}}),
	"GET /reports":           fixed(),
	"POST /reports/resolve":  byKind("one", reportsByKind, each("action", "none", "silence", "suspend", "delete")...),
	"GET /audit":             fixed("domain", "b.example"),
	"POST /reports/assign":   byKind("id", reportsByKind, each("email", "mod-a@mail.test", "admin-b@mail.test", "")...),
	"POST /reports/forward":  byKind("id", reportsByKind),
	"GET /accounts":          fixed("q", "b"),
	"GET /account":           byKind("id", accountsByKind),
	"POST /accounts/act": byKind("id", accountsByKind,
		each("action", "silence", "unsilence", "suspend", "unsuspend", "sensitive", "unsensitive")...),
	"POST /accounts/reset-password": {forms: loginForms},
	"POST /accounts/disable-2fa":    {forms: loginForms},
	"GET /roles":                    fixed(),
	"POST /roles/grant": {forms: func(w *authWorld, k targetKind) []url.Values {
		switch k {
		case kindOwn:
			return []url.Values{vals("email", "alice@mail.test", "role", "moderator")}
		case kindOther:
			return []url.Values{vals("email", "alice@mail.test", "role", "admin", "tenant", id(w.B))}
		}
		return []url.Values{vals("email", "op@mail.test", "role", "admin", "tenant", "0")}
	}},
	"POST /roles/revoke": {forms: func(w *authWorld, k targetKind) []url.Values {
		switch k {
		case kindOwn:
			return []url.Values{vals("user", id(w.spareA))}
		case kindOther:
			return []url.Values{vals("user", id(w.adminB), "tenant", id(w.B))}
		}
		return []url.Values{vals("user", id(w.op))}
	}},
	"GET /2fa":                               fixed(),
	"POST /2fa/begin":                        fixed(),
	"POST /2fa/confirm":                      fixed("code", "000000"),
	"GET /federation":                        fixed(),
	"GET /federation/host":                   fixed("h", "remote.test"),
	"GET /federation/blocks":                 fixed(),
	"GET /federation/block":                  byKind("id", blocksByKind),
	"POST /federation/block":                 fixed("domain", "spam.test", "severity", "suspend"),
	"POST /federation/block/delete":          byKind("id", blocksByKind),
	"POST /federation/blocks/import":         fixed("list", "#domain,#severity\nevil.test,suspend\n"),
	"POST /federation/blocks/import/confirm": fixed("list", "#domain,#severity\nevil.test,suspend\nspam.test,noop\n"),
	"POST /federation/blocks/undo":           byKind("id", importsByKind),
	"GET /federation/blocks/export":          fixed(),
	"POST /federation/subscriptions":         fixed("url", "https://lists.test/blocks.csv"),
	"POST /federation/subscriptions/delete":  byKind("id", subsByKind),
	"GET /queue":                             fixed(),
	"POST /queue/retry":                      {forms: queueForms},
	"POST /queue/discard":                    {forms: queueForms},
	"GET /billing":                           fixed(),
	"GET /plans":                             fixed(),
	"POST /plans":                            fixed("name", "Small", "kind", "flat", "price", "5", "currency", "eur", "interval", "month"),
	"POST /plans/archive":                    fixed("id", "1"),
	"GET /books":                             fixed(),
	"POST /books/cost":                       fixed("month", "2026-01", "category", "hosting", "amount", "10"),
	"POST /books/cost/delete":                fixed("id", "1"),
	"POST /books/reserve":                    fixed("reserve", "100"),
	"GET /tenant/leave":                      byKind("id", tenantsByKind),
	"POST /tenant/leave":                     byKind("id", tenantsByKind, vals("grace_days", "30")),
	"POST /tenant/leave/cancel":              byKind("id", tenantsByKind),
	"POST /tenant/leave/export":              byKind("id", tenantsByKind),
	"GET /tenant/leave/download":             byKind("id", tenantsByKind, vals("export", "1")),
	"GET /tenant/domain-move":                byKind("id", tenantsByKind),
	"POST /tenant/domain-move":               byKind("id", tenantsByKind, vals("from", "a.example", "to", "b.example")),
	"GET /announcements":                     fixed(),
	"GET /announcement":                      byKind("id", announcementsByKind),
	"POST /announcements":                    byKind("id", announcementsByKind, vals("text", "edited", "published", "on")),
	"POST /announcements/delete":             byKind("id", announcementsByKind),
	"GET /rules":                             fixed(),
	"GET /rule":                              byKind("id", rulesByKind),
	"POST /rules":                            byKind("id", rulesByKind, vals("text", "edited", "hint", "h")),
	"POST /rules/delete":                     byKind("id", rulesByKind),
	"POST /rules/move":                       byKind("id", rulesByKind, vals("dir", "up"), vals("dir", "down")),
	"GET /about":                             fixed(),
	"POST /about":                            fixed("about", "hi", "domain_blocks", "all", "domain_blocks_rationale", "users"),
	"GET /terms":                             fixed(),
	"GET /terms/version":                     byKind("id", termsByKind),
	"POST /terms":                            byKind("id", termsByKind, vals("effective_date", "2031-02-03", "text", "edited")),
	"POST /terms/delete":                     byKind("id", termsByKind),
}

func queueForms(w *authWorld, k targetKind) []url.Values {
	if k == kindShared {
		return []url.Values{vals("all", "1")}
	}
	return byKind("id", deliveriesByKind).forms(w, k)
}

// authSession is one kind of dashboard user, signed in somewhere.
type authSession struct {
	name   string
	user   func(w *authWorld) int64
	tenant func(w *authWorld) int64 // 0: the operator host
}

// authCase is one request of the matrix.
type authCase struct {
	method, path string
	perm         Permission
	kind         targetKind
	form         url.Values
}

// authCases walks the route table: every route × every kind of target it
// can name × every variant of its form.
func authCases(t *testing.T, w *authWorld) []authCase {
	var out []authCase
	for _, rt := range routes {
		key := rt.Method + " " + rt.Path
		spec, ok := authorityActions[key]
		if !ok {
			t.Errorf("route %s is not in authorityActions: say which ids its form names (own, another tenant's, remote or the instance's)", key)
			continue
		}
		if spec.signIn {
			continue
		}
		kinds := []targetKind{kindOwn, kindOther, kindShared}
		if spec.noTarget {
			kinds = []targetKind{kindNone}
		}
		for _, k := range kinds {
			for _, f := range spec.forms(w, k) {
				out = append(out, authCase{rt.Method, rt.Path, rt.Perm, k, f})
			}
		}
	}
	for key := range authorityActions {
		if routeIndex[key] == nil {
			t.Errorf("authorityActions lists %s, which is no route", key)
		}
	}
	return out
}

// Issue 14, finding 1: every dashboard action (generated from the route
// table: a new route fails here until classified) × every kind of target
// its form can name (tenant A's own, tenant B's, remote or the
// instance's) × every kind of user (the operator, A's admin and
// moderator, B's admin, on A's /admin and on the operator host), through
// the real handlers on real PostgreSQL. A session the route refuses
// changes nothing at all and sends nothing. A session acting for tenant A
// changes nothing outside A's authority — no other tenant's row, no
// shared remote post, no login, nothing of the instance's — and sends
// nothing in another tenant's name: no Delete of B's posts, no Flag from
// B's host, no redelivery of B's queue. The operator on the operator
// host acts for the instance (last, as it may change anything).
func TestIssue14Finding1EveryActionWithinTenantAuthority(t *testing.T) {
	w := newAuthWorld(t)
	cases := authCases(t, w)
	sessions := []authSession{
		{"operator on A's /admin", func(w *authWorld) int64 { return w.op }, func(w *authWorld) int64 { return w.A }},
		{"A's admin", func(w *authWorld) int64 { return w.adminA }, func(w *authWorld) int64 { return w.A }},
		{"A's moderator", func(w *authWorld) int64 { return w.modA }, func(w *authWorld) int64 { return w.A }},
		{"B's admin on A's /admin", func(w *authWorld) int64 { return w.adminB }, func(w *authWorld) int64 { return w.A }},
		{"A's admin on the operator host", func(w *authWorld) int64 { return w.adminA }, func(*authWorld) int64 { return 0 }},
		{"operator on the operator host", func(w *authWorld) int64 { return w.op }, func(*authWorld) int64 { return 0 }},
	}
	allowed, refused := 0, 0
	for _, ss := range sessions {
		user, scope := ss.user(w), ss.tenant(w)
		u, _, err := w.admin.UserByEmail(context.Background(), w.email(t, user), scope)
		if err != nil {
			t.Fatal(err)
		}
		role := RoleOf(u, scope)
		host := authOperatorHost
		if scope != 0 {
			host = "a.example"
		}
		for _, c := range cases {
			may := role.Has(c.perm) && !(scope != 0 && instanceOnly[c.method+" "+c.path])
			where := fmt.Sprintf("%s %s %v (%s target) as %s", c.method, c.path, c.form, c.kind, ss.name)
			if may {
				allowed++
			} else {
				refused++
			}
			w.checkCase(t, where, host, scope, user, may, c)
		}
	}
	if len(cases) < 100 || allowed < 200 || refused < 200 {
		t.Fatalf("%d cases: %d allowed, %d refused", len(cases), allowed, refused)
	}
}

// checkCase sends one request and checks what it changed and sent.
func (w *authWorld) checkCase(t *testing.T, where, host string, scope, user int64, may bool, c authCase) {
	t.Helper()
	w.reset(t)
	tok := w.session(t, user, scope)
	var before map[string]string
	switch {
	case !may:
		before = w.digest(t, -1, user) // refused: nothing at all may change
	case scope != 0:
		before = w.digest(t, scope, user)
	}
	sent := w.out.counts()
	resp, body := w.do(t, host, c.method, c.path, tok, c.form)
	if !may {
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", where, resp.StatusCode)
		}
		if ch := changed(before, w.digest(t, -1, user)); len(ch) > 0 {
			t.Errorf("%s: refused, yet changed %v", where, ch)
		}
		if w.out.counts() != sent {
			t.Errorf("%s: refused, yet sent something: %+v", where, w.out)
		}
		return
	}
	if resp.StatusCode >= 500 && resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("%s: status %d\n%.400s", where, resp.StatusCode, body)
	}
	if scope == 0 {
		return // the instance's authority covers everything
	}
	if ch := changed(before, w.digest(t, scope, user)); len(ch) > 0 {
		t.Errorf("%s: changed rows outside tenant %d's authority in %v", where, scope, ch)
	}
	w.checkSent(t, where, scope, sent)
}

// checkSent checks what a tenant session sent: Deletes only of its own
// accounts' posts, Flags only from its own host, retries only of its own
// deliveries.
func (w *authWorld) checkSent(t *testing.T, where string, scope int64, before [3]int) {
	t.Helper()
	w.out.mu.Lock()
	deleted := slices.Clone(w.out.deleted[before[0]:])
	forwarded := slices.Clone(w.out.forwarded[before[1]:])
	dispatched := slices.Clone(w.out.dispatch[before[2]:])
	w.out.mu.Unlock()
	for _, a := range deleted {
		if owner := w.q(t, `select coalesce(tenant_id, 0) from accounts where id = $1`, a); owner != scope {
			t.Errorf("%s: deleted a post of account %d (tenant %d) through the outbox", where, a, owner)
		}
	}
	for _, f := range forwarded {
		if !strings.HasPrefix(f, "a.example ") {
			t.Errorf("%s: forwarded %q", where, f)
		}
	}
	for _, d := range dispatched {
		if owner := w.q(t, `select coalesce(a.tenant_id, 0) from deliveries d join accounts a on a.id = d.sender_id where d.id = $1`, d); owner != scope {
			t.Errorf("%s: redelivered delivery %d of tenant %d", where, d, owner)
		}
	}
}

func (w *authWorld) email(t *testing.T, user int64) string {
	var e string
	if err := w.db.QueryRow(context.Background(), `select email from users where id = $1`, user).Scan(&e); err != nil {
		t.Fatal(err)
	}
	return e
}
