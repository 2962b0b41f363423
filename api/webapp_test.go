package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/roost-social/roost/api"
	"github.com/roost-social/roost/api/mastodon"
	"github.com/roost-social/roost/api/public"
	"github.com/roost-social/roost/api/webapp"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/actors"
	"github.com/roost-social/roost/federation/delivery"
	"github.com/roost-social/roost/federation/fetch"
	"github.com/roost-social/roost/federation/inbox"
	"github.com/roost-social/roost/federation/outbox"
	"github.com/roost-social/roost/federation/portability"
	"github.com/roost-social/roost/federation/social/media"
	mediapg "github.com/roost-social/roost/federation/social/media/postgres"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant/oauth"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

// Issue 18: the signed-in web app (api/webapp) on every tenant domain.

// appWorld is the client API, the public pages and the web app on the two
// tenants of world.
type appWorld struct {
	*world
	bob    *federation.Account
	tokens map[int64]string
}

func newAppWorld(t *testing.T) *appWorld {
	t.Helper()
	ctx := context.Background()
	w := &appWorld{world: newWorld(t), tokens: map[int64]string{}}
	store := tenantpg.NewOAuthStore(w.db)
	svc := &oauth.Service{Store: store}
	rdb, prefix := testenv.Redis(t)
	queue := &delivery.Queue{Store: w.accounts, Redis: rdb, Prefix: prefix}
	ob := &outbox.Service{Keys: &actors.Keys{Store: w.accounts, Fetch: fetch.New(fetch.Config{})},
		Follows: w.accounts, Locals: &inbox.SiteLocals{Sites: w.opts.Sites, Accounts: w.accounts, Scheme: "https"},
		Send: queue, Publisher: w.accounts, Dispatch: queue, Mover: w.accounts, Store: w.accounts}
	o := w.opts
	o.Metrics = nil
	m := &mastodon.Handler{Auth: svc, Views: w.accounts, Client: w.accounts, Accounts: w.accounts,
		Outbox: ob, Sites: o.Sites, URL: o.URL, Polls: w.accounts, ForYou: w.accounts}
	m.UseSocialStore(w.accounts, ob)
	m.Threads, m.InstanceData = w.accounts, w.accounts
	m.Media = &media.Service{Store: mediapg.New(w.db), Blobs: media.NewLocalStore(t.TempDir())}
	o.Mastodon = m
	o.Statuses = w.accounts
	o.Public = &public.Handler{Accounts: w.accounts, Views: w.accounts, Source: m, URL: o.URL, Log: o.Log}
	o.Web = webapp.New(webapp.Deps{OAuth: svc, Logins: store, Accounts: w.accounts, URL: o.URL, Log: o.Log,
		Settings: webapp.Settings{Deletions: &portability.AccountDeletions{Store: w.accounts}, Archives: w.accounts}})
	w.app = api.New(o)
	var err error
	if w.bob, err = w.accounts.AccountByUsername(ctx, w.tenantA.ID, "a.example", "bob"); err != nil {
		t.Fatal(err)
	}
	for _, a := range []*federation.Account{w.aliceA, w.bob, w.aliceB} {
		w.tokens[a.ID] = mintToken(t, svc, a)
	}
	return w
}

// apiCall calls the client API as a with a JSON body (nil: none).
func (w *appWorld) apiCall(t *testing.T, a *federation.Account, method, path string, body any) (int, string) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	resp := w.do(t, method, a.Domain, path, r, "Authorization", "Bearer "+w.tokens[a.ID], "Content-Type", "application/json")
	return resp.StatusCode, readAll(t, resp.Body)
}

func (w *appWorld) postAs(t *testing.T, a *federation.Account, text string) string {
	t.Helper()
	code, body := w.apiCall(t, a, http.MethodPost, "/api/v1/statuses", map[string]any{"status": text})
	var s struct{ ID string }
	if err := json.Unmarshal([]byte(body), &s); err != nil || code != 200 {
		t.Fatalf("post: %d %s", code, body)
	}
	return s.ID
}

// webBrowser is one browser on one host: its cookies, as a browser keeps
// them for that host.
type webBrowser struct {
	t       *testing.T
	w       *appWorld
	host    string
	cookies map[string]*http.Cookie
}

func (w *appWorld) browser(t *testing.T, host string) *webBrowser {
	return &webBrowser{t: t, w: w, host: host, cookies: map[string]*http.Cookie{}}
}

type webPage struct {
	code   int
	body   string
	header http.Header
}

func (b *webBrowser) send(method, target, contentType string, body io.Reader, headers ...string) webPage {
	b.t.Helper()
	req := httptest.NewRequest(method, target, body)
	req.Host = b.host
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	for _, c := range b.cookies {
		req.AddCookie(c)
	}
	resp, err := b.w.app.Test(req, -1)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Value == "" || c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	return webPage{resp.StatusCode, readAll(b.t, resp.Body), resp.Header}
}

func (b *webBrowser) get(target string) webPage { return b.send(http.MethodGet, target, "", nil) }

// csrf is the form token of the last page the browser was given.
func (b *webBrowser) csrf() string {
	b.t.Helper()
	if c, ok := b.cookies["__Host-roost_web_csrf"]; ok {
		return c.Value
	}
	b.t.Fatal("no CSRF cookie")
	return ""
}

// form posts a form with the webBrowser's CSRF token (unless it has one).
func (b *webBrowser) form(target string, v url.Values, headers ...string) webPage {
	b.t.Helper()
	if _, ok := v["csrf"]; !ok {
		v.Set("csrf", b.csrf())
	}
	return b.send(http.MethodPost, target, "application/x-www-form-urlencoded", strings.NewReader(v.Encode()), headers...)
}

// signIn signs a in on the webBrowser's host.
func (b *webBrowser) signIn(a *federation.Account) {
	b.t.Helper()
	b.get(webapp.SignInPath)
	p := b.form(webapp.SignInPath, url.Values{"email": {a.Username + "@" + a.Domain}, "password": {"correct horse battery"}})
	if p.code != http.StatusSeeOther || p.header.Get("Location") != "/home" {
		b.t.Fatalf("sign in: %d %s %s", p.code, p.header.Get("Location"), p.body)
	}
}

func wantWeb(t *testing.T, what string, p webPage, code int, wants ...string) {
	t.Helper()
	if p.code != code {
		t.Fatalf("%s: status %d, want %d:\n%s", what, p.code, code, p.body)
	}
	for _, s := range wants {
		if !strings.Contains(p.body, s) {
			t.Errorf("%s lacks %q:\n%s", what, s, p.body)
		}
	}
}

// Signed out, app screens send the webBrowser to sign in and back; the
// session cookie is HttpOnly, host-only (__Host-), SameSite=Strict; the
// page's CSP allows script from this origin only.
func TestIssue18WebAppSignInAndHome(t *testing.T) {
	t.Parallel()
	w := newAppWorld(t)
	w.postAs(t, w.aliceA, "hello from the API")
	b := w.browser(t, "a.example")
	p := b.get("/home?max_id=5")
	if p.code != http.StatusSeeOther || p.header.Get("Location") != "/auth/sign_in?return=%2Fhome%3Fmax_id%3D5" {
		t.Fatalf("signed out /home: %d %q", p.code, p.header.Get("Location"))
	}
	wantWeb(t, "sign-in page", b.get(p.header.Get("Location")), 200, `name="return" value="/home?max_id=5"`, `name="password"`)
	// A wrong password: the form again, no session.
	p = b.form(webapp.SignInPath, url.Values{"email": {"alice@a.example"}, "password": {"wrong"}})
	wantWeb(t, "wrong password", p, http.StatusUnprocessableEntity, `id="signin-error"`)
	if _, ok := b.cookies["__Host-roost_web_session"]; ok {
		t.Fatal("a wrong password started a session")
	}
	// No CSRF token: refused before the password is looked at.
	p = b.form(webapp.SignInPath, url.Values{"csrf": {"x"}, "email": {"alice@a.example"}, "password": {"correct horse battery"}})
	wantWeb(t, "no csrf", p, http.StatusForbidden)
	// Signing in.
	b.get(webapp.SignInPath)
	resp := b.form(webapp.SignInPath, url.Values{"email": {"alice@a.example"}, "password": {"correct horse battery"}, "return": {"/public/local"}})
	if resp.code != http.StatusSeeOther || resp.header.Get("Location") != "/public/local" {
		t.Fatalf("sign in: %d %q", resp.code, resp.header.Get("Location"))
	}
	raw := strings.Join(resp.header.Values("Set-Cookie"), "\n")
	for _, want := range []string{"__Host-roost_web_session=", "path=/", "secure", "HttpOnly", "SameSite=Strict", "max-age=2592000"} {
		if !strings.Contains(strings.Split(raw[strings.Index(raw, "__Host-roost_web_session"):], "\n")[0], want) {
			t.Errorf("session cookie lacks %s: %s", want, raw)
		}
	}
	home := b.get("/home")
	wantWeb(t, "home", home, 200, "hello from the API", `aria-current="page"`, `action="/compose"`,
		`<script src="/web/static/app.js" defer></script>`, `action="/auth/sign_out"`, `@alice`)
	csp := home.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
	if strings.Contains(home.body, w.tokens[w.aliceA.ID]) || strings.Contains(home.body, b.cookies["__Host-roost_web_session"].Value) {
		t.Error("the page shows a token")
	}
	js := b.get("/web/static/app.js")
	if js.code != 200 || !strings.Contains(js.header.Get("Content-Type"), "javascript") {
		t.Errorf("app.js: %d %q", js.code, js.header.Get("Content-Type"))
	}
	// Signed in, the sign-in page goes on.
	if p := b.get(webapp.SignInPath + "?return=/notifications"); p.code != http.StatusSeeOther || p.header.Get("Location") != "/notifications" {
		t.Errorf("sign-in page when signed in: %d %q", p.code, p.header.Get("Location"))
	}
}

// No open redirect: only paths of this site are returned to.
func TestIssue18WebAppReturnIsSameSiteOnly(t *testing.T) {
	t.Parallel()
	w := newAppWorld(t)
	for _, ret := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "evil", "/%0d%0aSet-Cookie:x"} {
		b := w.browser(t, "a.example")
		b.get(webapp.SignInPath)
		p := b.form(webapp.SignInPath, url.Values{"email": {"alice@a.example"}, "password": {"correct horse battery"}, "return": {ret}})
		loc := p.header.Get("Location")
		if p.code != http.StatusSeeOther || (loc != "/home" && loc != ret) || strings.Contains(loc, "evil") && !strings.HasPrefix(loc, "/%") {
			t.Errorf("return %q: %d %q", ret, p.code, loc)
		}
		if strings.HasPrefix(loc, "//") || strings.Contains(loc, "://") || strings.Contains(loc, "\\") {
			t.Errorf("return %q redirected off site: %q", ret, loc)
		}
	}
}

// Signing out revokes the session's token: a copy of the cookie kept
// from before signs nobody in.
func TestIssue18WebAppSignOutRevokes(t *testing.T) {
	t.Parallel()
	w := newAppWorld(t)
	b := w.browser(t, "a.example")
	b.signIn(w.aliceA)
	stolen := *b.cookies["__Host-roost_web_session"]
	b.get("/home")
	if p := b.form("/auth/sign_out", url.Values{"csrf": {"bad"}}); p.code != http.StatusForbidden {
		t.Fatalf("sign-out without CSRF: %d", p.code)
	}
	if p := b.get("/home"); p.code != 200 {
		t.Fatalf("a refused sign-out signed out: %d", p.code)
	}
	if p := b.form("/auth/sign_out", url.Values{}); p.code != http.StatusSeeOther {
		t.Fatalf("sign out: %d", p.code)
	}
	if _, ok := b.cookies["__Host-roost_web_session"]; ok {
		t.Error("the session cookie was kept")
	}
	thief := w.browser(t, "a.example")
	thief.cookies[stolen.Name] = &stolen
	if p := thief.get("/home"); p.code != http.StatusSeeOther {
		t.Errorf("a revoked session's cookie: %d", p.code)
	}
	// The token is revoked for the client API too.
	resp := w.do(t, http.MethodGet, "a.example", "/api/v1/accounts/verify_credentials", nil, "Authorization", "Bearer "+stolen.Value)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the revoked token still works on the API: %d", resp.StatusCode)
	}
}

// Tenant isolation: a session of tenant A signs nobody in on tenant B, and
// tenant B's session cannot read or act on tenant A's per-account data (a
// followers-only post, a list): 404, nothing changed. (A public post of
// tenant A is another server's public post to tenant B, as on the client
// API.)
func TestIssue18WebAppTenantIsolation(t *testing.T) {
	t.Parallel()
	w := newAppWorld(t)
	code, body := w.apiCall(t, w.bob, http.MethodPost, "/api/v1/statuses", map[string]any{"status": "followers only on A", "visibility": "private"})
	var st struct{ ID string }
	if json.Unmarshal([]byte(body), &st) != nil || code != 200 {
		t.Fatalf("post: %d %s", code, body)
	}
	idA := st.ID
	code, body = w.apiCall(t, w.aliceA, http.MethodPost, "/api/v1/lists", map[string]any{"title": "A's list"})
	var list struct{ ID string }
	if json.Unmarshal([]byte(body), &list) != nil || code != 200 {
		t.Fatalf("list: %d %s", code, body)
	}
	a := w.browser(t, "a.example")
	a.signIn(w.aliceA)
	// The same cookie presented on b.example (a browser never sends it: it
	// is host-only; a thief might).
	onB := w.browser(t, "b.example")
	for k, v := range a.cookies {
		onB.cookies[k] = v
	}
	if p := onB.get("/home"); p.code != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), webapp.SignInPath) {
		t.Errorf("tenant A's session on tenant B: %d %q", p.code, p.header.Get("Location"))
	}
	if p := onB.form("/statuses/"+idA+"/favourite", url.Values{"on": {"1"}}); p.code != http.StatusSeeOther ||
		!strings.HasPrefix(p.header.Get("Location"), webapp.SignInPath) {
		t.Errorf("tenant A's session acting on tenant B: %d %q", p.code, p.header.Get("Location"))
	}
	b := w.browser(t, "b.example")
	b.signIn(w.aliceB)
	b.get("/home")
	for _, path := range []string{"/statuses/" + idA + "/favourite", "/statuses/" + idA + "/reblog", "/statuses/" + idA + "/bookmark",
		"/statuses/" + idA + "/delete", "/statuses/" + idA + "/redraft", "/statuses/" + idA + "/edit", "/statuses/" + idA + "/report",
		"/lists/" + list.ID + "/delete"} {
		if p := b.form(path, url.Values{"on": {"1"}, "status": {"changed"}}); p.code != http.StatusNotFound {
			t.Errorf("tenant B acting on tenant A's %s: %d", path, p.code)
		}
	}
	for _, path := range []string{"/statuses/" + idA, "/statuses/" + idA + "/edit", "/statuses/" + idA + "/report", "/compose?in_reply_to=" + idA,
		"/web/fragment/statuses/" + idA, "/lists/" + list.ID} {
		if p := b.get(path); p.code != http.StatusNotFound || strings.Contains(p.body, "followers only on A") || strings.Contains(p.body, "A's list") {
			t.Errorf("tenant B reading tenant A's %s: %d", path, p.code)
		}
	}
	_, body = w.apiCall(t, w.bob, http.MethodGet, "/api/v1/statuses/"+idA, nil)
	if !strings.Contains(body, `"favourites_count":0`) || !strings.Contains(body, `"reblogs_count":0`) || !strings.Contains(body, "followers only on A") {
		t.Errorf("tenant A's post changed: %s", body)
	}
	if code, _ := w.apiCall(t, w.aliceA, http.MethodGet, "/api/v1/lists/"+list.ID, nil); code != 200 {
		t.Errorf("tenant A's list: %d", code)
	}
}

// The actions on a post: each a CSRF-guarded form that calls the client
// API and comes back (303), or answers the script 204; without the token,
// 403 and nothing changed.
func TestIssue18WebAppActions(t *testing.T) {
	t.Parallel()
	w := newAppWorld(t)
	id := w.postAs(t, w.bob, "a post to act on")
	b := w.browser(t, "a.example")
	b.signIn(w.aliceA)
	b.get("/public/local")
	state := func() map[string]any {
		_, body := w.apiCall(t, w.aliceA, http.MethodGet, "/api/v1/statuses/"+id, nil)
		var m map[string]any
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if p := b.form("/statuses/"+id+"/favourite", url.Values{"on": {"1"}, "csrf": {""}}); p.code != http.StatusForbidden {
		t.Fatalf("no token: %d", p.code)
	}
	if state()["favourited"] != false {
		t.Fatal("a refused form favourited")
	}
	p := b.form("/statuses/"+id+"/favourite", url.Values{"on": {"1"}, "return": {"/public/local"}})
	if p.code != http.StatusSeeOther || p.header.Get("Location") != "/public/local" {
		t.Fatalf("favourite: %d %q", p.code, p.header.Get("Location"))
	}
	for _, step := range []struct{ path, on, field string }{
		{"reblog", "1", "reblogged"}, {"bookmark", "1", "bookmarked"}, {"favourite", "0", "favourited"},
	} {
		p := b.form("/statuses/"+id+"/"+step.path, url.Values{"on": {step.on}}, "Accept", "application/json")
		if p.code != http.StatusNoContent {
			t.Fatalf("%s: %d %s", step.path, p.code, p.body)
		}
		if got := state()[step.field]; got != (step.on == "1") {
			t.Errorf("%s: %s = %v", step.path, step.field, got)
		}
	}
	wantWeb(t, "local", b.get("/public/local"), 200, `action="/statuses/`+id+`/reblog"`, `aria-pressed="true">Boost`,
		"Follow @bob@a.example", "Mute @bob@a.example", "Report")
	// Follow, mute and undo, through the account forms.
	bob := strconv.FormatInt(w.bob.ID, 10)
	for _, step := range []string{"follow", "mute"} {
		if p := b.form("/accounts/"+bob+"/"+step, url.Values{"on": {"1"}}); p.code != http.StatusSeeOther {
			t.Fatalf("%s: %d %s", step, p.code, p.body)
		}
	}
	_, rel := w.apiCall(t, w.aliceA, http.MethodGet, "/api/v1/accounts/relationships?id[]="+bob, nil)
	if !strings.Contains(rel, `"following":true`) || !strings.Contains(rel, `"muting":true`) {
		t.Errorf("relationship after follow and mute: %s", rel)
	}
	// Another's post cannot be deleted; one's own can.
	if p := b.form("/statuses/"+id+"/delete", url.Values{}); p.code == http.StatusSeeOther {
		t.Errorf("deleted bob's post")
	}
	mine := w.postAs(t, w.aliceA, "mine to delete")
	if p := b.form("/statuses/"+mine+"/delete", url.Values{"return": {"/statuses/" + mine}}); p.code != http.StatusSeeOther || p.header.Get("Location") != "/home" {
		t.Errorf("delete: %d %q", p.code, p.header.Get("Location"))
	}
	// Report, with the form.
	wantWeb(t, "report form", b.get("/statuses/"+id+"/report"), 200, `name="comment"`)
	if p := b.form("/statuses/"+id+"/report", url.Values{"comment": {"spam"}, "category": {"spam"}}); p.code != http.StatusSeeOther {
		t.Errorf("report: %d %s", p.code, p.body)
	}
	// Delete and redraft puts the text back in the form.
	redo := w.postAs(t, w.aliceA, "a draft to redo")
	wantWeb(t, "redraft", b.form("/statuses/"+redo+"/redraft", url.Values{}), 200, ">a draft to redo</textarea>")
	// Edit, own posts only.
	edit := w.postAs(t, w.aliceA, "before the edit")
	wantWeb(t, "edit form", b.get("/statuses/"+edit+"/edit"), 200, ">before the edit</textarea>", `action="/statuses/`+edit+`/edit"`)
	if p := b.get("/statuses/" + id + "/edit"); p.code != http.StatusNotFound {
		t.Errorf("edit form of bob's post: %d", p.code)
	}
	b.get("/statuses/" + edit + "/edit")
	if p := b.form("/statuses/"+edit+"/edit", url.Values{"status": {"after the edit"}}); p.code != http.StatusSeeOther {
		t.Fatalf("edit: %d %s", p.code, p.body)
	}
	wantWeb(t, "edited post", b.get("/statuses/"+edit), 200, "after the edit", `class="edited"`, "Pin on profile")
	if p := b.form("/statuses/"+edit+"/pin", url.Values{"on": {"1"}}); p.code != http.StatusSeeOther {
		t.Fatalf("pin: %d %s", p.code, p.body)
	}
	if _, body := w.apiCall(t, w.aliceA, http.MethodGet, "/api/v1/statuses/"+edit, nil); !strings.Contains(body, `"pinned":true`) {
		t.Errorf("not pinned: %s", body)
	}
}

func pngFile(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	img.Set(1, 1, color.RGBA{255, 0, 0, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Compose: text, content warning, visibility, language, an image with alt
// text and focus, and a poll, in one multipart form; a refused post shows
// the form again with what was typed.
func TestIssue18WebAppComposeWithMediaAndPoll(t *testing.T) {
	t.Parallel()
	w := newAppWorld(t)
	b := w.browser(t, "a.example")
	b.signIn(w.aliceA)
	wantWeb(t, "compose", b.get("/compose"), 200, `enctype="multipart/form-data"`, `name="file0"`, `name="alt0"`, `name="focus0"`,
		`name="poll_0"`, `name="spoiler_text"`, `name="visibility"`, `name="language"`)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range map[string]string{"csrf": b.csrf(), "status": "owls or larks? #birds", "spoiler_text": "a question",
		"visibility": "unlisted", "language": "en", "alt0": "a red dot", "focus0": "0.5,-0.5"} {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file0", "dot.png")
	fw.Write(pngFile(t))
	mw.Close()
	p := b.send(http.MethodPost, "/compose", mw.FormDataContentType(), &body)
	if p.code != http.StatusSeeOther || p.header.Get("Location") != "/home" {
		t.Fatalf("compose: %d %q %s", p.code, p.header.Get("Location"), p.body)
	}
	// A poll (Mastodon allows media or a poll, not both).
	p = b.form("/compose", url.Values{"status": {"owls or larks?"}, "poll_0": {"owls"}, "poll_1": {"larks"}, "poll_expires_in": {"3600"},
		"poll_multiple": {"1"}})
	if p.code != http.StatusSeeOther {
		t.Fatalf("compose a poll: %d %s", p.code, p.body)
	}
	_, list := w.apiCall(t, w.aliceA, http.MethodGet, "/api/v1/accounts/"+strconv.FormatInt(w.aliceA.ID, 10)+"/statuses", nil)
	var ss []struct {
		SpoilerText      string  `json:"spoiler_text"`
		Visibility       string  `json:"visibility"`
		Language         *string `json:"language"`
		MediaAttachments []struct {
			Description string
			Meta        struct{ Focus struct{ X, Y float64 } }
		} `json:"media_attachments"`
		Poll *struct{ Options []struct{ Title string } }
	}
	if err := json.Unmarshal([]byte(list), &ss); err != nil || len(ss) != 2 {
		t.Fatalf("statuses: %v %s", err, list)
	}
	s := ss[1]
	if s.SpoilerText != "a question" || s.Visibility != "unlisted" || s.Language == nil || *s.Language != "en" ||
		len(s.MediaAttachments) != 1 || s.MediaAttachments[0].Description != "a red dot" || s.MediaAttachments[0].Meta.Focus.X != 0.5 {
		t.Errorf("posted %s", list)
	}
	if ss[0].Poll == nil || len(ss[0].Poll.Options) != 2 {
		t.Errorf("posted poll %s", list)
	}
	wantWeb(t, "home", b.get("/home"), 200, `<summary>a question</summary>`, `alt="a red dot"`, "owls", "larks", "votes")
	// A refused post: the form again, with the text and the reason.
	p = b.form("/compose", url.Values{"status": {strings.Repeat("x", 6000)}})
	wantWeb(t, "refused", p, http.StatusUnprocessableEntity, `id="compose-error"`, "xxxxxxxx</textarea>")
	// A reply from the compose page.
	wantWeb(t, "reply", b.get("/compose?in_reply_to="+w.postAs(t, w.bob, "ask me")), 200, "ask me", `name="in_reply_to_id"`, "@bob ")
	// Completion answers accounts from the client API's search.
	if p := b.get("/web/complete?q=%40bo"); p.code != 200 || !strings.Contains(p.body, `"value":"@bob"`) {
		t.Errorf("completion: %d %s", p.code, p.body)
	}
}

// Notifications are grouped as Mastodon's web UI groups them, and the
// timelines page by max_id.
func TestIssue18WebAppNotificationsAndPaging(t *testing.T) {
	t.Parallel()
	w := newAppWorld(t)
	mine := w.postAs(t, w.aliceA, "a post to like")
	for _, a := range []*federation.Account{w.bob} {
		if code, body := w.apiCall(t, a, http.MethodPost, "/api/v1/statuses/"+mine+"/favourite", nil); code != 200 {
			t.Fatalf("favourite: %d %s", code, body)
		}
		w.apiCall(t, a, http.MethodPost, "/api/v1/statuses/"+mine+"/reblog", nil)
	}
	w.postAs(t, w.bob, "hey @alice")
	b := w.browser(t, "a.example")
	b.signIn(w.aliceA)
	if p := b.get("/web/unread"); p.code != 200 || !strings.Contains(p.body, `"count":"3"`) {
		t.Errorf("unread: %d %s", p.code, p.body)
	}
	wantWeb(t, "notifications", b.get("/notifications"), 200, "favourited your post", "boosted your post", "mentioned you", "data-notifications")
	if p := b.get("/web/unread"); !strings.Contains(p.body, `"count":"0"`) {
		t.Errorf("unread after reading: %s", p.body)
	}
	for i := 0; i < 25; i++ {
		w.postAs(t, w.aliceA, "numbered post "+strconv.Itoa(i)+".")
	}
	first := b.get("/home")
	wantWeb(t, "home page 1", first, 200, "numbered post 24.", `rel="next"`)
	if strings.Contains(first.body, "numbered post 4.") {
		t.Error("page 1 shows an old post")
	}
	next := regexp.MustCompile(`href="(/home\?max_id=\d+)" rel="next"`).FindStringSubmatch(first.body)
	if next == nil {
		t.Fatalf("no next link")
	}
	wantWeb(t, "home page 2", b.get(next[1]), 200, "numbered post 4.", "a post to like", `>Newest</a>`)
	for _, path := range []string{"/public/local", "/public", "/tags/birds", "/foryou", "/lists", "/bookmarks", "/favourites", "/statuses/" + mine} {
		wantWeb(t, path, b.get(path), 200)
	}
	// A list: made from the form, its timeline shown; another's list 404.
	if p := b.form("/lists", url.Values{"title": {"friends"}}); p.code != http.StatusSeeOther {
		t.Fatalf("new list: %d %s", p.code, p.body)
	}
	lists := b.get("/lists")
	m := regexp.MustCompile(`href="/lists/(\d+)">friends`).FindStringSubmatch(lists.body)
	if m == nil {
		t.Fatalf("lists: %s", lists.body)
	}
	wantWeb(t, "list", b.get("/lists/"+m[1]), 200, "friends")
	other := w.browser(t, "a.example")
	other.signIn(w.bob)
	if p := other.get("/lists/" + m[1]); p.code != http.StatusNotFound {
		t.Errorf("bob opened alice's list: %d", p.code)
	}
	// Signed out, a hashtag is the public page.
	if p := w.browser(t, "a.example").get("/tags/birds"); p.code != 200 || strings.Contains(p.body, "app.js") {
		t.Errorf("signed-out hashtag: %d", p.code)
	}
}

// Every form of the web app, from the app's route table (so forms added
// later are covered): a post without the CSRF field, or with a token that
// is not the browser's, is refused with 403 before anything runs, and the
// signed-in victim's post, favourites and session are unchanged.
func TestIssue18WebAppCSRFEveryForm(t *testing.T) {
	t.Parallel()
	w := newAppWorld(t)
	id := w.postAs(t, w.aliceA, "a post eve wants gone")
	victim := w.browser(t, "a.example")
	victim.signIn(w.aliceA)
	victim.get("/home")
	other := w.browser(t, "a.example")
	other.get(webapp.SignInPath) // eve's own, real token
	notWeb := regexp.MustCompile(`^/(api|oauth|users|inbox|actor|admin|billing|nodeinfo|\.well-known)(/|$)`)
	var paths []string
	for _, r := range w.app.GetRoutes(true) {
		if r.Method == http.MethodPost && !notWeb.MatchString(r.Path) {
			paths = append(paths, regexp.MustCompile(`:[a-z_]+`).ReplaceAllString(r.Path, id))
		}
	}
	if len(paths) < 10 {
		t.Fatalf("only %d web app forms found: %v", len(paths), paths)
	}
	for _, path := range paths {
		for name, token := range map[string]string{"no field": "", "another browser's token": other.csrf()} {
			v := url.Values{"on": {"1"}, "status": {"changed by eve"}, "title": {"eve"}}
			if token != "" {
				v.Set("csrf", token)
			} else {
				v["csrf"] = nil
			}
			p := victim.send(http.MethodPost, path, "application/x-www-form-urlencoded", strings.NewReader(v.Encode()))
			if p.code != http.StatusForbidden || !strings.Contains(p.body, "Form expired") {
				t.Errorf("%s with %s: %d", path, name, p.code)
			}
		}
	}
	code, body := w.apiCall(t, w.aliceA, http.MethodGet, "/api/v1/statuses/"+id, nil)
	if code != 200 || !strings.Contains(body, "a post eve wants gone") || !strings.Contains(body, `"favourites_count":0`) ||
		!strings.Contains(body, `"reblogs_count":0`) || strings.Contains(body, `"bookmarked":true`) {
		t.Errorf("the victim's post changed: %d %s", code, body)
	}
	if _, body := w.apiCall(t, w.aliceA, http.MethodGet, "/api/v1/lists", nil); strings.Contains(body, `"title":"eve"`) {
		t.Errorf("a list was made: %s", body)
	}
	if p := victim.get("/home"); p.code != 200 {
		t.Errorf("the victim was signed out: %d", p.code)
	}
}
