package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/api/admin"
	apioauth "github.com/roost-social/roost/api/oauth"
	"github.com/roost-social/roost/api/page"
	"github.com/roost-social/roost/api/portal"
)

// formArea is one area of server-rendered forms as a signed-in victim's
// browser holds it.
type formArea struct {
	name, host, prefix string
	// paths are the area's form routes, from its route table.
	paths []string
	// csrf is the area's CSRF cookie name; session the victim's session
	// cookie ("name=value"; none for OAuth, which has no sessions).
	csrf, session string
	// page is a page that hands out a form token; signedIn one that
	// does to a signed-in browser ("": page).
	page, signedIn string
	// sameSite is the area's cookie policy.
	sameSite http.SameSite
	// signOut is the sign-out form; "" for none.
	signOut string
}

// posted is one answer to a form post.
type posted struct {
	status         int
	body, location string
	header         http.Header
	cookies        []*http.Cookie
}

func (w *world) post(t *testing.T, host, path, token string, cookies ...string) posted {
	t.Helper()
	form := url.Values{"id": {"1"}, "email": {"x@mail.example"}, "password": {"a password of eve's"}, "action": {"none"}}
	if token != "" {
		form.Set(page.CSRFField, token)
	}
	return w.answer(t, w.do(t, http.MethodPost, host, path, strings.NewReader(form.Encode()),
		"Content-Type", "application/x-www-form-urlencoded", "Accept", "text/html", "Cookie", strings.Join(cookies, "; ")))
}

func (w *world) answer(t *testing.T, resp *http.Response) posted {
	t.Helper()
	return posted{resp.StatusCode, readAll(t, resp.Body), resp.Header.Get("Location"), resp.Header, resp.Cookies()}
}

// token is the form token a GET of the area's page gives a browser with
// cookies: its cookie, after checking the page's forms carry it and the
// cookie keeps the one policy.
func (a formArea) token(t *testing.T, w *world, cookies ...string) string {
	t.Helper()
	path := a.page
	if a.signedIn != "" && len(cookies) > 0 {
		path = a.signedIn
	}
	r := w.answer(t, w.get(t, a.host, path, "Accept", "text/html", "Cookie", strings.Join(cookies, "; ")))
	for _, c := range r.cookies {
		if c.Name != a.csrf {
			continue
		}
		if !c.HttpOnly || !c.Secure || c.SameSite != a.sameSite || c.Path != a.prefix+map[bool]string{true: "/"}[a.prefix == ""] ||
			c.MaxAge != int(page.CSRFLifetime/time.Second) || !strings.Contains(r.body, `name="csrf" value="`+c.Value+`"`) {
			t.Fatalf("%s: CSRF cookie %v (the one policy: HttpOnly, Secure, SameSite %v, the area's path, %v)", a.name, r.header.Values("Set-Cookie"), a.sameSite, page.CSRFLifetime)
		}
		return c.Value
	}
	t.Fatalf("%s: %s %d gave no %s: %v", a.name, path, r.status, a.csrf, r.header.Values("Set-Cookie"))
	return ""
}

// csrfRefused asserts the CSRF refusal: 403, the one error page with the
// request's id, no redirect and no session handed out.
func csrfRefused(t *testing.T, what string, r posted) {
	t.Helper()
	id := r.header.Get("X-Request-ID")
	if r.status != http.StatusForbidden || !strings.Contains(r.body, page.ExpiredTitle) || id == "" || !strings.Contains(r.body, id) || r.location != "" {
		t.Errorf("%s: %d %q (request %q), want the 403 %q page with its request id\n%.300s", what, r.status, r.location, id, page.ExpiredTitle, r.body)
	}
	for _, c := range r.cookies {
		if strings.HasSuffix(c.Name, "_session") && c.Value != "" {
			t.Errorf("%s: a refused form handed out a session", what)
		}
	}
}

// Issue 15 finding 6: one CSRF defence for every server-rendered form,
// proved by the same attacks against every form route of every area,
// generated from the areas' route tables: the operator dashboard, a
// tenant's /admin, the portal and the OAuth page. The victim is signed
// in; a post without the cookie, without the field, with a mismatched
// token, with another browser's real token, or with the right value in a
// cookie another host or area could have set is refused with the one
// error page before anything runs, and nothing in the database changes.
// A form shown before signing out is refused after it. With a good pair
// (and no session) every route gets past the check.
func TestIssue15Finding6CSRFEveryFormOfEveryArea(t *testing.T) {
	t.Parallel()
	w, opsCookie, tenantCookie := everyArea(t)
	app := w.answer(t, w.do(t, http.MethodPost, "a.example", "/api/v1/apps", strings.NewReader(url.Values{"client_name": {"App"},
		"redirect_uris": {"https://app.example/cb"}, "scopes": {"read"}}.Encode()), "Content-Type", "application/x-www-form-urlencoded"))
	var client struct {
		ID string `json:"client_id"`
	}
	if err := json.Unmarshal([]byte(app.body), &client); err != nil || client.ID == "" {
		t.Fatalf("app: %d %s", app.status, app.body)
	}
	portalArea := formArea{name: "portal", host: portalHost, paths: portal.RoutePaths(http.MethodPost), csrf: "__Host-roost_portal_csrf",
		page: "/login", sameSite: http.SameSiteLaxMode, signOut: "/logout"}
	portalArea.session = signUp(t, w, portalArea)
	areas := []formArea{
		{name: "operator dashboard", host: operatorHost, paths: admin.RoutePaths(http.MethodPost), csrf: "__Host-roost_admin_csrf",
			session: opsCookie, page: "/login", signedIn: "/", sameSite: http.SameSiteStrictMode, signOut: "/logout"},
		{name: "tenant dashboard", host: "a.example", prefix: admin.TenantPrefix, paths: admin.RoutePaths(http.MethodPost),
			csrf: "__Secure-roost_admin_csrf", session: tenantCookie, page: admin.TenantPrefix + "/login", signedIn: admin.TenantPrefix + "/", sameSite: http.SameSiteStrictMode, signOut: "/logout"},
		portalArea,
		{name: "oauth", host: "a.example", paths: []string{apioauth.PagePath}, csrf: "__Host-roost_oauth_csrf", sameSite: http.SameSiteLaxMode,
			page: apioauth.PagePath + "?" + url.Values{"response_type": {"code"}, "client_id": {client.ID},
				"redirect_uri": {"https://app.example/cb"}, "scope": {"read"}}.Encode()},
	}
	var wrongNames []string
	for _, area := range []string{"admin", "portal", "oauth"} {
		for _, prefix := range []string{"", "__Host-", "__Secure-"} {
			wrongNames = append(wrongNames, prefix+page.BaseName(area, page.CSRF))
		}
	}
	before := digest(t, w)
	attacked := 0
	for _, a := range areas {
		victim := a.token(t, w, a.session)
		eve := a.token(t, w) // a real token, of eve's own browser
		if victim == eve {
			t.Fatalf("%s: two browsers got one token", a.name)
		}
		other := "A" + victim[1:]
		if other == victim {
			other = "B" + victim[1:]
		}
		own := a.csrf + "=" + victim
		for _, p := range a.paths {
			path := a.prefix + p
			attacks := map[string]posted{
				"no cookie":               w.post(t, a.host, path, victim, a.session),
				"no field":                w.post(t, a.host, path, "", a.session, own),
				"mismatched token":        w.post(t, a.host, path, other, a.session, own),
				"another browser's token": w.post(t, a.host, path, eve, a.session, own),
			}
			for _, name := range wrongNames {
				if name != a.csrf {
					attacks["eve's token in cookie "+name] = w.post(t, a.host, path, eve, a.session, name+"="+eve)
				}
			}
			for what, r := range attacks {
				csrfRefused(t, a.name+" POST "+path+", "+what, r)
				attacked++
			}
		}
	}
	if after := digest(t, w); after != before {
		t.Fatalf("refused forms changed the database:\n%s\n---\n%s", before, after)
	}
	if routes := len(areas[0].paths) + len(areas[2].paths); attacked != 12*(2*len(areas[0].paths)+len(areas[2].paths)+1) || routes < 40 {
		t.Fatalf("%d attacks on %d dashboard and portal routes: is every area's route table walked?", attacked, routes)
	}
	for _, a := range areas {
		tok := a.token(t, w)
		for _, p := range a.paths {
			if r := w.post(t, a.host, a.prefix+p, tok, a.csrf+"="+tok); r.status == http.StatusForbidden && strings.Contains(r.body, page.ExpiredTitle) {
				t.Errorf("%s POST %s: a good pair was refused", a.name, a.prefix+p)
			}
		}
	}
	for _, a := range areas {
		if a.signOut == "" {
			continue
		}
		shown := a.token(t, w, a.session)
		out := w.post(t, a.host, a.prefix+a.signOut, shown, a.session, a.csrf+"="+shown)
		now := ""
		for _, c := range out.cookies {
			if c.Name == a.csrf {
				now = c.Value
			}
		}
		if out.status != http.StatusSeeOther || now == "" || now == shown {
			t.Fatalf("%s: sign-out %d, CSRF cookie %q (was %q)", a.name, out.status, now, shown)
		}
		for _, p := range a.paths {
			csrfRefused(t, a.name+" POST "+a.prefix+p+" with a form shown before signing out",
				w.post(t, a.host, a.prefix+p, shown, a.session, a.csrf+"="+now))
		}
	}
}

// signUp signs a newcomer up on the portal and returns their session
// cookie.
func signUp(t *testing.T, w *world, a formArea) string {
	t.Helper()
	tok := a.token(t, w)
	form := url.Values{page.CSRFField: {tok}, "name": {"Victim's site"}, "email": {"victim@mail.example"},
		"password": {"the victim's password"}, "rules": {"yes"}}
	r := w.answer(t, w.do(t, http.MethodPost, a.host, "/start", strings.NewReader(form.Encode()),
		"Content-Type", "application/x-www-form-urlencoded", "Cookie", a.csrf+"="+tok))
	for _, c := range r.cookies {
		if c.Name == "__Host-roost_portal_session" && c.Value != "" {
			return c.Name + "=" + c.Value
		}
	}
	t.Fatalf("sign-up: %d %s %v", r.status, r.location, r.header.Values("Set-Cookie"))
	return ""
}

// digest fingerprints every table of the database.
func digest(t *testing.T, w *world) string {
	t.Helper()
	ctx := context.Background()
	rows, err := w.db.Query(ctx, `select table_name from information_schema.tables
		where table_schema = current_schema() and table_type = 'BASE TABLE' order by 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, tbl := range tables {
		var d string
		q := `select coalesce(md5(string_agg(x::text, '|' order by x::text)), '') from ` + pgx.Identifier{tbl}.Sanitize() + ` x`
		if err := w.db.QueryRow(ctx, q).Scan(&d); err != nil {
			t.Fatal(err)
		}
		b.WriteString(tbl + " " + d + "\n")
	}
	return b.String()
}
