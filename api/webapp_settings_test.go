package api_test

import (
	"bytes"
	"context"

	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
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
	"github.com/roost-social/roost/federation/relme"
	"github.com/roost-social/roost/federation/social/media"
	mediapg "github.com/roost-social/roost/federation/social/media/postgres"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant/factor"
	"github.com/roost-social/roost/tenant/oauth"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

// Issue 18: the web app's settings pages, search, profiles and follow
// requests, signed in through a web session on each tenant.

// settingsWorld is world with the client API, the web app and its
// settings' use cases, and a page on links.example (served by the test)
// that profile fields may point at.
type settingsWorld struct {
	*world
	bob     *federation.Account
	oauth   *oauth.Service
	factors *factor.Service
	relme   *relme.Verifier
	// linkPage is what links.example serves at "/".
	linkPage string
}

func newSettingsWorld(t *testing.T) *settingsWorld {
	t.Helper()
	ctx := context.Background()
	w := &settingsWorld{world: newWorld(t)}
	links := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(rw, w.linkPage)
	}))
	t.Cleanup(links.Close)
	fc := fetch.New(fetch.Config{Resolve: map[string]string{"links.example": "http://" + links.Listener.Addr().String()}})
	store := tenantpg.NewOAuthStore(w.db)
	w.oauth = &oauth.Service{Store: store}
	w.factors = &factor.Service{Store: tenantpg.NewFactorStore(w.db)}
	rdb, prefix := testenv.Redis(t)
	queue := &delivery.Queue{Store: w.accounts, Redis: rdb, Prefix: prefix}
	ob := &outbox.Service{Keys: &actors.Keys{Store: w.accounts, Fetch: fc},
		Follows: w.accounts, Locals: &inbox.SiteLocals{Sites: w.opts.Sites, Accounts: w.accounts, Scheme: "https"},
		Send: queue, Publisher: w.accounts, Dispatch: queue, Mover: w.accounts, Store: w.accounts}
	o := w.opts
	o.Metrics = nil
	m := &mastodon.Handler{Auth: w.oauth, Views: w.accounts, Client: w.accounts, Accounts: w.accounts,
		Outbox: ob, Sites: o.Sites, URL: o.URL, Polls: w.accounts}
	m.UseSocialStore(w.accounts, ob)
	m.Threads, m.InstanceData = w.accounts, w.accounts
	m.Media = &media.Service{Store: mediapg.New(w.db), Blobs: media.NewLocalStore(t.TempDir())}
	w.relme = &relme.Verifier{Fetch: fc, Store: w.accounts, Log: o.Log}
	m.RelMe = w.relme
	m.Archives = &mastodon.Archives{Jobs: w.accounts, Dir: t.TempDir(), MaxUpload: 1 << 20}
	o.Mastodon = m
	o.Statuses = w.accounts
	o.Public = &public.Handler{Accounts: w.accounts, Views: w.accounts, Source: m, URL: o.URL, Log: o.Log}
	deletions := &portability.AccountDeletions{Store: w.accounts, Factors: w.factors}
	o.Web = webapp.New(webapp.Deps{OAuth: w.oauth, Logins: store, Accounts: w.accounts, URL: o.URL, Log: o.Log,
		Settings: webapp.Settings{Apps: &oauth.Authorizations{Store: store}, Factors: w.factors,
			Deletions: deletions, Archives: w.accounts}})
	o.DeletedAccounts = deletions
	w.opts = o
	w.app = api.New(o)
	var err error
	if w.bob, err = w.accounts.AccountByUsername(ctx, w.tenantA.ID, "a.example", "bob"); err != nil {
		t.Fatal(err)
	}
	return w
}

// browser is one signed-in web session: its cookies on its host.
type browser struct {
	w       *settingsWorld
	host    string
	cookies []*http.Cookie
	csrf    string
}

// signIn starts a web session for a, as the sign-in form does once the
// password (and code) were accepted.
func (w *settingsWorld) signIn(t *testing.T, a *federation.Account) *browser {
	t.Helper()
	g, err := w.oauth.SignInWeb(context.Background(), a.TenantID, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{w: w, host: a.Domain, cookies: []*http.Cookie{{Name: "__Host-roost_web_session", Value: g.AccessToken}}}
	b.open(t, "/settings") // takes the form token
	return b
}

// open GETs path, keeping the cookies and the page's form token.
func (b *browser) open(t *testing.T, path string) (int, string) {
	t.Helper()
	return b.send(t, http.MethodGet, path, "", nil)
}

// post sends a form, with the page's form token unless form has one.
func (b *browser) post(t *testing.T, path string, form url.Values) (int, string) {
	t.Helper()
	if form.Get("csrf") == "" {
		form.Set("csrf", b.csrf)
	}
	return b.send(t, http.MethodPost, path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) send(t *testing.T, method, path, ct string, body io.Reader) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, body)
	req.Host = b.host
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for _, c := range b.cookies {
		req.AddCookie(c)
	}
	resp, err := b.w.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	for _, c := range resp.Cookies() {
		b.setCookie(c)
	}
	page := readAll(t, resp.Body)
	if m := csrfField.FindStringSubmatch(page); m != nil {
		b.csrf = m[1]
	}
	if loc := resp.Header.Get("Location"); resp.StatusCode == http.StatusSeeOther && method == http.MethodPost {
		return resp.StatusCode, loc
	}
	return resp.StatusCode, page
}

func (b *browser) setCookie(c *http.Cookie) {
	for i, old := range b.cookies {
		if old.Name == c.Name {
			b.cookies[i] = c
			return
		}
	}
	b.cookies = append(b.cookies, c)
}

// multipart posts a multipart form with files (name → content).
func (b *browser) multipart(t *testing.T, path string, form url.Values, files map[string][]byte) (int, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if form.Get("csrf") == "" {
		form.Set("csrf", b.csrf)
	}
	for k, vs := range form {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	for name, data := range files {
		fw, _ := mw.CreateFormFile(name, name+".png")
		fw.Write(data)
	}
	mw.Close()
	return b.send(t, http.MethodPost, path, mw.FormDataContentType(), &body)
}

func pngBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	img.Set(1, 1, color.RGBA{0, 128, 255, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func wantStatus(t *testing.T, what string, got, want int, body string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: status %d, want %d:\n%s", what, got, want, body)
	}
}

func wantIn(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, s := range wants {
		if !strings.Contains(body, s) {
			t.Fatalf("%s: no %q in:\n%s", what, s, body)
		}
	}
}

// Issue 18 (settings 1): the profile page edits the profile through the
// client API's update_credentials: name, bio, avatar and header,
// locked/bot/discoverable, and fields — a link field pointing at a page
// that links back with rel=me shows as verified once checked.
func TestIssue18SettingsProfile(t *testing.T) {
	w := newSettingsWorld(t)
	b := w.signIn(t, w.aliceA)
	code, page := b.open(t, "/settings/profile")
	wantStatus(t, "profile page", code, 200, page)
	wantIn(t, "profile page", page, `name="display_name" value="alice of a.example"`, `name="field_name_3"`)

	w.linkPage = `<html><body><a rel="me" href="https://a.example/@alice">me</a></body></html>`
	form := url.Values{"display_name": {"Alice A."}, "note": {"Hello <there>"}, "locked": {"1"}, "discoverable": {"1"},
		"field_name_0": {"Site"}, "field_value_0": {"http://links.example/"}, "field_name_1": {"Pronouns"}, "field_value_1": {"she/her"}}
	code, loc := b.multipart(t, "/settings/profile", form, map[string][]byte{"avatar": pngBytes(t)})
	wantStatus(t, "save", code, http.StatusSeeOther, loc)
	if loc != "/settings/profile?done=saved" {
		t.Fatalf("saved to %q", loc)
	}
	w.relme.Wait()
	a, err := w.accounts.AccountByID(context.Background(), w.aliceA.ID)
	if err != nil {
		t.Fatal(err)
	}
	if a.DisplayName != "Alice A." || !a.Locked || a.Bot || len(a.Fields) != 2 || a.AvatarURL == "" {
		t.Fatalf("saved profile: %+v", a)
	}
	code, page = b.open(t, "/settings/profile?done=saved")
	wantStatus(t, "profile page after", code, 200, page)
	wantIn(t, "profile page after", page, `id="notice"`, `id="field-0-verified"`, `value="she/her"`, `Hello &lt;there&gt;`)
	if strings.Contains(page, `id="field-1-verified"`) {
		t.Error("a field that is no link shows verified")
	}

	// Refused by the client API's rules: shown on the page, nothing saved.
	code, page = b.multipart(t, "/settings/profile", url.Values{"display_name": {strings.Repeat("x", 31)}}, nil)
	wantStatus(t, "too long", code, http.StatusUnprocessableEntity, page)
	wantIn(t, "too long", page, `id="form-error"`, "Display name is too long")
	if a2, _ := w.accounts.AccountByID(context.Background(), w.aliceA.ID); a2.DisplayName != "Alice A." {
		t.Errorf("a refused form changed the name to %q", a2.DisplayName)
	}
}

// Issue 18 (settings 2): the preferences page sets the posting defaults
// (update_credentials' source[privacy|language|sensitive]).
func TestIssue18SettingsPreferences(t *testing.T) {
	w := newSettingsWorld(t)
	b := w.signIn(t, w.aliceA)
	code, page := b.open(t, "/settings/preferences")
	wantStatus(t, "preferences page", code, 200, page)
	code, loc := b.post(t, "/settings/preferences", url.Values{"privacy": {"private"}, "language": {"de"}, "sensitive": {"1"}})
	wantStatus(t, "save", code, http.StatusSeeOther, loc)
	code, page = b.open(t, "/settings/preferences")
	wantStatus(t, "preferences page after", code, 200, page)
	wantIn(t, "preferences after", page, `<option value="private" selected>`, `<option value="de" selected>`, `name="sensitive" value="1" checked`)
	code, page = b.post(t, "/settings/preferences", url.Values{"privacy": {"everyone"}})
	wantStatus(t, "bad visibility", code, http.StatusUnprocessableEntity, page)
}

// Issue 18 (settings 3): filters are created, edited (keywords added and
// removed, expiry kept) and deleted through the client API's v2 filters.
func TestIssue18SettingsFilters(t *testing.T) {
	w := newSettingsWorld(t)
	b := w.signIn(t, w.aliceA)
	code, page := b.open(t, "/filters/new")
	wantStatus(t, "new filter page", code, 200, page)
	code, loc := b.post(t, "/filters", url.Values{"title": {"Spoilers"}, "context_home": {"1"}, "context_thread": {"1"},
		"filter_action": {"hide"}, "expires_in": {"86400"}, "keywords": {"ending\nfinale\n"}, "whole_word": {"1"}})
	wantStatus(t, "create", code, http.StatusSeeOther, loc)
	fs, err := w.accounts.Filters(context.Background(), w.aliceA.ID)
	if err != nil || len(fs) != 1 || fs[0].Action != "hide" || len(fs[0].Keywords) != 2 || fs[0].ExpiresAt == nil {
		t.Fatalf("created: %+v %v", fs, err)
	}
	id := fmt.Sprint(fs[0].ID)
	code, page = b.open(t, "/filters")
	wantStatus(t, "list", code, 200, page)
	wantIn(t, "list", page, `id="filter-`+id+`"`, "Spoilers", "<q>finale</q>")
	code, page = b.open(t, "/filters/"+id+"/edit")
	wantStatus(t, "edit page", code, 200, page)
	wantIn(t, "edit page", page, "ending\nfinale", `name="context_thread" value="1" checked`)
	code, loc = b.post(t, "/filters/"+id, url.Values{"title": {"Spoilers!"}, "context_home": {"1"}, "filter_action": {"warn"},
		"expires_in": {"keep"}, "keywords": {"finale\nplot twist"}})
	wantStatus(t, "update", code, http.StatusSeeOther, loc)
	f, err := w.accounts.Filter(context.Background(), w.aliceA.ID, fs[0].ID)
	if err != nil || f.Title != "Spoilers!" || f.Action != "warn" || len(f.Keywords) != 2 || f.ExpiresAt == nil {
		t.Fatalf("updated: %+v %v", f, err)
	}
	for _, k := range f.Keywords {
		if k.Keyword == "ending" {
			t.Error("a keyword taken off the list stayed")
		}
	}
	code, page = b.post(t, "/filters", url.Values{"title": {""}, "context_home": {"1"}})
	wantStatus(t, "blank title", code, http.StatusUnprocessableEntity, page)
	wantIn(t, "blank title", page, "Title can")
	code, loc = b.post(t, "/filters/"+id+"/delete", url.Values{})
	wantStatus(t, "delete", code, http.StatusSeeOther, loc)
	if fs, _ := w.accounts.Filters(context.Background(), w.aliceA.ID); len(fs) != 0 {
		t.Errorf("deleted filter still there: %+v", fs)
	}
}

// Issue 18 (settings 4): authorised apps lists the apps holding the
// account's tokens (this browser's web app among them); revoking an app
// stops its tokens; revoking the web app signs this browser out.
func TestIssue18SettingsAuthorizedApps(t *testing.T) {
	w := newSettingsWorld(t)
	b := w.signIn(t, w.aliceA)
	tok := mintToken(t, w.oauth, w.aliceA)
	bobTok := mintToken(t, w.oauth, w.bob)
	code, page := b.open(t, "/oauth/authorized_applications")
	wantStatus(t, "apps page", code, 200, page)
	wantIn(t, "apps page", page, "finding 3", oauth.WebAppName, "(this browser)")
	tk, err := w.oauth.Authenticate(context.Background(), w.tenantA.ID, tok)
	if err != nil {
		t.Fatal(err)
	}
	code, loc := b.post(t, fmt.Sprintf("/oauth/authorized_applications/%d/revoke", tk.AppID), url.Values{})
	wantStatus(t, "revoke", code, http.StatusSeeOther, loc)
	if _, err := w.oauth.Authenticate(context.Background(), w.tenantA.ID, tok); err == nil {
		t.Error("the revoked app's token still works")
	}
	if _, err := w.oauth.Authenticate(context.Background(), w.tenantA.ID, bobTok); err != nil {
		t.Error("bob's token of another app was revoked")
	}
	code, page = b.open(t, "/oauth/authorized_applications")
	wantStatus(t, "apps page after", code, 200, page)
	if strings.Contains(page, "finding 3") {
		t.Error("the revoked app is still listed")
	}
	web, err := w.oauth.WebApp(context.Background(), w.tenantA.ID)
	if err != nil {
		t.Fatal(err)
	}
	code, loc = b.post(t, fmt.Sprintf("/oauth/authorized_applications/%d/revoke", web.ID), url.Values{})
	wantStatus(t, "revoke the web app", code, http.StatusSeeOther, loc)
	if code, _ := b.open(t, "/settings"); code != http.StatusSeeOther {
		t.Errorf("still signed in after revoking the web app: %d", code)
	}
}

// Issue 18 (search 5): search finds people, following from the results
// and from a profile inside the app (the client API's follow), a locked
// account's follow requests accepted on /follow_requests, and a handle
// of another site opened at /@user@domain.
func TestIssue18SearchProfilesFollowRequests(t *testing.T) {
	w := newSettingsWorld(t)
	ctx := context.Background()
	if _, err := w.db.Exec(ctx, `update accounts set locked = true where id = $1`, w.bob.ID); err != nil {
		t.Fatal(err)
	}
	alice, bob := w.signIn(t, w.aliceA), w.signIn(t, w.bob)
	code, page := alice.open(t, "/search?q=bob")
	wantStatus(t, "search", code, 200, page)
	bobID := fmt.Sprint(w.bob.ID)
	wantIn(t, "search", page, `id="person-`+bobID+`"`, `href="/accounts/`+bobID+`"`, `id="follow-`+bobID+`">Follow<`)
	code, loc := alice.post(t, "/accounts/"+bobID+"/follow", url.Values{"on": {"1"}, "return": {"/accounts/" + bobID}})
	wantStatus(t, "follow", code, http.StatusSeeOther, loc)
	code, page = alice.open(t, "/accounts/"+bobID)
	wantStatus(t, "profile", code, 200, page)
	wantIn(t, "profile", page, "Your follow request is waiting.", "Cancel request")

	code, page = bob.open(t, "/follow_requests")
	wantStatus(t, "requests", code, 200, page)
	aliceID := fmt.Sprint(w.aliceA.ID)
	wantIn(t, "requests", page, `id="request-`+aliceID+`"`)
	code, loc = bob.post(t, "/follow_requests/"+aliceID+"/authorize", url.Values{})
	wantStatus(t, "accept", code, http.StatusSeeOther, loc)
	code, page = alice.open(t, "/accounts/"+bobID)
	wantStatus(t, "profile after", code, 200, page)
	wantIn(t, "profile after", page, "You follow this account.", ">Unfollow<")
	code, page = bob.open(t, "/follow_requests")
	if code != 200 || strings.Contains(page, `id="request-`+aliceID+`"`) {
		t.Errorf("the accepted request is still listed: %d", code)
	}

	// Another site's account on this instance, by handle.
	code, page = alice.open(t, "/@alice@b.example")
	wantStatus(t, "by handle", code, 200, page)
	wantIn(t, "by handle", page, "@alice@b.example", `id="follow"`)
	code, page = alice.open(t, "/accounts/x1")
	wantStatus(t, "bad id", code, 404, page)
}

// signInForm posts the sign-in form as a new browser on host.
func (w *settingsWorld) signInForm(t *testing.T, host, email string) (*browser, int, string) {
	t.Helper()
	b := &browser{w: w, host: host}
	b.open(t, "/auth/sign_in")
	code, body := b.post(t, "/auth/sign_in", url.Values{"email": {email}, "password": {"correct horse battery"}})
	return b, code, body
}

var challengeField = regexp.MustCompile(`name="challenge" value="([^"]+)"`)

// Issue 18 (settings 7): two-factor sign-in is set up on the settings
// page (key, QR code, a code confirms it, recovery codes shown once);
// the web sign-in then asks for a code after the password, takes a code
// once and a recovery code once; switching it off takes a code.
func TestIssue18SettingsTwoFactor(t *testing.T) {
	w := newSettingsWorld(t)
	b := w.signIn(t, w.aliceA)
	code, page := b.open(t, "/settings/otp_authentication")
	wantStatus(t, "otp page", code, 200, page)
	wantIn(t, "otp page", page, `id="otp-begin"`)
	code, loc := b.post(t, "/settings/otp_authentication/begin", url.Values{})
	wantStatus(t, "begin", code, http.StatusSeeOther, loc)
	code, page = b.open(t, "/settings/otp_authentication")
	wantStatus(t, "enrol page", code, 200, page)
	m := regexp.MustCompile(`id="otp-secret">([A-Z2-7]+)<`).FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, `<svg id="otp-qr"`) || !strings.Contains(page, "otpauth://totp/a.example:alice@a.example?") {
		t.Fatalf("enrolment page: %s", page)
	}
	secret := m[1]
	code, page = b.post(t, "/settings/otp_authentication/confirm", url.Values{"code": {"000000"}})
	wantStatus(t, "wrong code", code, http.StatusUnprocessableEntity, page)
	now := time.Now()
	otp, _ := totp.GenerateCode(secret, now.Add(-30*time.Second))
	code, page = b.post(t, "/settings/otp_authentication/confirm", url.Values{"code": {otp}})
	wantStatus(t, "confirm", code, 200, page)
	recovery := regexp.MustCompile(`<li><code>([a-z0-9-]+)</code></li>`).FindAllStringSubmatch(page, -1)
	if len(recovery) != factor.RecoveryCodes {
		t.Fatalf("recovery codes: %s", page)
	}

	// The password alone signs in no more.
	nb, code, page := w.signInForm(t, "a.example", "alice@a.example")
	ch := challengeField.FindStringSubmatch(page)
	if code != 200 || ch == nil {
		t.Fatalf("sign-in did not ask for the code: %d %s", code, page)
	}
	if c, _ := nb.open(t, "/settings"); c != http.StatusSeeOther {
		t.Fatal("signed in before the code")
	}
	code, page = nb.post(t, "/auth/sign_in/otp", url.Values{"challenge": {ch[1]}, "code": {"123456"}})
	wantStatus(t, "wrong sign-in code", code, http.StatusUnprocessableEntity, page)
	otp, _ = totp.GenerateCode(secret, now)
	code, loc = nb.post(t, "/auth/sign_in/otp", url.Values{"challenge": {ch[1]}, "code": {otp}})
	wantStatus(t, "sign-in code", code, http.StatusSeeOther, loc)
	if c, _ := nb.open(t, "/settings"); c != 200 {
		t.Fatalf("not signed in after the code: %d", c)
	}
	// The same code again, on a new sign-in: refused; a recovery code: once.
	nb2, _, page := w.signInForm(t, "a.example", "alice@a.example")
	ch = challengeField.FindStringSubmatch(page)
	if code, _ := nb2.post(t, "/auth/sign_in/otp", url.Values{"challenge": {ch[1]}, "code": {otp}}); code != http.StatusUnprocessableEntity {
		t.Errorf("a code worked twice: %d", code)
	}
	if code, _ := nb2.post(t, "/auth/sign_in/otp", url.Values{"challenge": {ch[1]}, "code": {recovery[0][1]}}); code != http.StatusSeeOther {
		t.Errorf("a recovery code: %d", code)
	}
	// Tenant B's alice (the same login) has no second factor.
	if _, code, _ := w.signInForm(t, "b.example", "alice@b.example"); code != http.StatusSeeOther {
		t.Errorf("B's alice was asked for A's factor: %d", code)
	}
	code, loc = b.post(t, "/settings/otp_authentication/disable", url.Values{"code": {recovery[1][1]}})
	wantStatus(t, "disable", code, http.StatusSeeOther, loc)
	if _, code, _ := w.signInForm(t, "a.example", "alice@a.example"); code != http.StatusSeeOther {
		t.Errorf("still asked for a code after turning it off: %d", code)
	}
}

// Issue 18 (settings, tenant isolation): every settings POST acts on the
// signed-in account of the request's tenant only. Sent with another
// tenant's session it signs nobody in (to the sign-in page); naming
// another account's filter, app or follow request it is refused as
// missing; without the form token it is refused first. In every case
// nothing of anyone changes.
func TestIssue18SettingsIsolation(t *testing.T) {
	w := newSettingsWorld(t)
	ctx := context.Background()
	bobFilter, err := w.accounts.SaveFilter(ctx, w.bob.ID, &federation.Filter{Title: "bob's", Context: []string{"home"}, Action: "warn"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	bobTok := mintToken(t, w.oauth, w.bob)
	bt, err := w.oauth.Authenticate(ctx, w.tenantA.ID, bobTok)
	if err != nil {
		t.Fatal(err)
	}
	carol := w.signIn(t, w.aliceB) // a session of tenant B
	carolTok := mintToken(t, w.oauth, w.aliceB)
	ct, err := w.oauth.Authenticate(ctx, w.tenantB.ID, carolTok)
	if err != nil {
		t.Fatal(err)
	}
	alice := w.signIn(t, w.aliceA)
	snapshot := func() string {
		var s string
		err := w.db.QueryRow(ctx, `select concat_ws('|',
			(select string_agg(concat_ws(',', id, display_name, note, locked, discoverable, fields::text, default_privacy, also_known_as::text, moved_to_uri), ';' order by id) from accounts),
			(select string_agg(concat_ws(',', id, account_id, title, filter_action), ';' order by id) from filters),
			(select count(*) from oauth_tokens where revoked_at is not null),
			(select count(*) from account_factors),
			(select count(*) from follows),
			(select count(*) from account_deletions), (select count(*) from archive_exports), (select count(*) from archive_imports))`).Scan(&s)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	forms := []struct {
		path string
		form url.Values
	}{
		{"/settings/profile", url.Values{"display_name": {"Hacked"}, "locked": {"1"}}},
		{"/settings/preferences", url.Values{"privacy": {"direct"}}},
		{"/filters", url.Values{"title": {"x"}, "context_home": {"1"}}},
		{"/filters/" + fmt.Sprint(bobFilter.ID), url.Values{"title": {"taken"}, "context_home": {"1"}}},
		{"/filters/" + fmt.Sprint(bobFilter.ID) + "/delete", url.Values{}},
		{fmt.Sprintf("/oauth/authorized_applications/%d/revoke", bt.AppID), url.Values{}},
		{fmt.Sprintf("/oauth/authorized_applications/%d/revoke", ct.AppID), url.Values{}},
		{"/follow_requests/" + fmt.Sprint(w.bob.ID) + "/authorize", url.Values{}},
		{"/follow_requests/" + fmt.Sprint(w.aliceB.ID) + "/reject", url.Values{}},
		{"/accounts/" + fmt.Sprint(w.bob.ID) + "/follow", url.Values{"on": {"1"}}},
		{"/settings/otp_authentication/begin", url.Values{}},
		{"/settings/otp_authentication/confirm", url.Values{"code": {"123456"}}},
		{"/settings/otp_authentication/disable", url.Values{"code": {"123456"}}},
		{"/settings/aliases", url.Values{"acct": {"alice@b.example"}}},
		{"/settings/aliases/remove", url.Values{"acct": {"alice@b.example"}}},
		{"/settings/migration", url.Values{"acct": {"alice@b.example"}, "understood": {"1"}}},
		{"/settings/export", url.Values{}},
		{"/settings/import", url.Values{"publish": {"1"}}},
		{"/settings/delete", url.Values{"password": {"correct horse battery"}, "understood": {"1"}}},
	}
	before := snapshot()
	for _, f := range forms {
		// Tenant B's session on tenant A's host: nobody is signed in.
		b := &browser{w: w, host: "a.example", cookies: carol.cookies, csrf: carol.csrf}
		if code, loc := b.post(t, f.path, cloneForm(f.form)); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/auth/sign_in") {
			t.Errorf("%s with tenant B's session: %d %s", f.path, code, loc)
		}
		// No form token: refused before anything runs.
		if code, _ := alice.post(t, f.path, withField(f.form, "csrf", "x")); code != http.StatusForbidden {
			t.Errorf("%s without the form token: %d", f.path, code)
		}
		if got := snapshot(); got != before {
			t.Fatalf("%s changed something:\n%s\n%s", f.path, before, got)
		}
	}
	// Another account's ids with alice's own session: missing.
	for _, f := range forms[3:9] {
		if code, page := alice.post(t, f.path, cloneForm(f.form)); code != http.StatusNotFound {
			t.Errorf("%s with another account's id: %d %s", f.path, code, page)
		}
	}
	if got := snapshot(); got != before {
		t.Fatalf("another account's ids changed something:\n%s\n%s", before, got)
	}
}

func cloneForm(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func withField(v url.Values, k, val string) url.Values {
	out := cloneForm(v)
	out.Set(k, val)
	return out
}

// Issue 18 (settings 6): aliases and moving the account through the
// client API's roost/aliases and roost/migration: the new account (on
// another tenant here) names the old one as an alias, and the old one
// moves there from its settings page.
func TestIssue18SettingsAliasesAndMove(t *testing.T) {
	w := newSettingsWorld(t)
	ctx := context.Background()
	old, target := w.signIn(t, w.aliceA), w.signIn(t, w.aliceB)
	code, page := target.open(t, "/settings/aliases")
	wantStatus(t, "aliases page", code, 200, page)
	code, loc := target.post(t, "/settings/aliases", url.Values{"acct": {"alice@a.example"}})
	wantStatus(t, "add alias", code, http.StatusSeeOther, loc)
	_, page = target.open(t, "/settings/aliases")
	wantIn(t, "aliases after", page, "https://a.example/users/alice")
	code, page = old.post(t, "/settings/migration", url.Values{"acct": {"alice@b.example"}})
	wantStatus(t, "move unconfirmed", code, http.StatusUnprocessableEntity, page)
	code, _ = old.post(t, "/settings/migration", url.Values{"acct": {"nobody@b.example"}, "understood": {"1"}})
	if code == http.StatusSeeOther {
		t.Fatalf("moved to an unknown account: %d", code)
	}
	code, loc = old.post(t, "/settings/migration", url.Values{"acct": {"alice@b.example"}, "understood": {"1"}})
	wantStatus(t, "move", code, http.StatusSeeOther, loc)
	a, err := w.accounts.AccountByID(ctx, w.aliceA.ID)
	if err != nil || a.MovedTo != "https://social.b.example/users/alice" {
		t.Fatalf("moved to %q, %v", a.MovedTo, err)
	}
	code, page = old.open(t, "/settings/migration")
	wantStatus(t, "migration page after", code, 200, page)
	wantIn(t, "migration page after", page, `id="moved-to"`)
}
