package oauth_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/api/httpx"
	apioauth "github.com/roost-social/roost/api/oauth"
	"github.com/roost-social/roost/federation"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/oauth"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const (
	password = "correct horse battery"
	cb       = "https://app.example/callback"
	verifier = "a-verifier-of-at-least-forty-three-characters.~_0123456789"
)

// world is two tenants on one instance: A on a.example with alice and bob,
// B on b.example (service domain social.b.example) with an alice owned by
// the same login as A's.
type world struct {
	app              *fiber.App
	db               *pgxpool.Pool
	svc              *oauth.Service
	tenantA, tenantB *tenant.Tenant
	aliceA, aliceB   *federation.Account
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	db := testenv.DB(t)
	tenants, accounts, store := tenantpg.New(db), fedpg.New(db), tenantpg.NewOAuthStore(db)
	w := &world{db: db, svc: &oauth.Service{Store: store}}
	var err error
	if w.tenantA, err = tenants.CreateTenant(ctx, "Tenant A", tenant.NewDomain{Domain: "a.example", Verified: true}); err != nil {
		t.Fatal(err)
	}
	if w.tenantB, err = tenants.CreateTenant(ctx, "Tenant B", tenant.NewDomain{Domain: "b.example", ServiceDomain: "social.b.example", Verified: true}); err != nil {
		t.Fatal(err)
	}
	hash, err := tenant.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(tn *tenant.Tenant, domain, user, email string) *federation.Account {
		keys, err := federation.GenerateKeyPair()
		if err != nil {
			t.Fatal(err)
		}
		a, err := accounts.CreateAccount(ctx, federation.NewAccount{
			TenantID: tn.ID, Domain: domain, Username: user, Email: email, Password: password, PasswordHash: hash, Keys: keys,
		})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	w.aliceA = mk(w.tenantA, "a.example", "alice", "alice@mail.example")
	w.aliceB = mk(w.tenantB, "b.example", "alice", "alice@mail.example")
	mk(w.tenantA, "a.example", "bob", "bob@mail.example")

	sites := tenant.NewHostCache(tenants, time.Minute, 100)
	w.app = fiber.New(fiber.Config{ErrorHandler: httpx.ErrorHandler})
	w.app.Use(func(c *fiber.Ctx) error { // as api's host routing
		host, err := tenant.NormalizeHost(c.Hostname())
		if err != nil {
			return errs.E(errs.NotFound, "unknown host")
		}
		site, err := sites.Resolve(c.UserContext(), host)
		if err != nil {
			return err
		}
		httpx.SetSite(c, site)
		return c.Next()
	})
	(&apioauth.Handler{OAuth: w.svc, Logins: store, URL: httpx.URLConfig{Scheme: "https"}}).Register(w.app)
	return w
}

// response is a read response.
type response struct {
	*http.Response
	body string
}

func (r response) json(t *testing.T, status int) map[string]any {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("status %d, want %d; body %s", r.StatusCode, status, r.body)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

// wantOAuthError checks an RFC 6749 error answer.
func (r response) wantOAuthError(t *testing.T, status int, code string) {
	t.Helper()
	m := r.json(t, status)
	if m["error"] != code || m["error_description"] == "" || m["error_description"] == nil {
		t.Fatalf("error body %v, want error %s with a description", m, code)
	}
}

func (w *world) do(t *testing.T, method, host, target string, body io.Reader, headers ...string) response {
	t.Helper()
	return send(t, w.app, method, host, target, body, headers...)
}

func send(t *testing.T, app *fiber.App, method, host, target string, body io.Reader, headers ...string) response {
	t.Helper()
	req := httptest.NewRequest(method, target, body)
	req.Host = host
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp, string(b)}
}

func (w *world) postForm(t *testing.T, host, path string, v url.Values, headers ...string) response {
	t.Helper()
	return w.do(t, http.MethodPost, host, path, strings.NewReader(v.Encode()),
		append([]string{"Content-Type", "application/x-www-form-urlencoded"}, headers...)...)
}

func (w *world) postJSON(t *testing.T, host, path string, v any, headers ...string) response {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return w.do(t, http.MethodPost, host, path, strings.NewReader(string(b)), append([]string{"Content-Type", "application/json"}, headers...)...)
}

type client struct {
	ID, Secret string
}

// register registers an app over HTTP.
func (w *world) register(t *testing.T, host, redirects, scopes string) client {
	t.Helper()
	m := w.postForm(t, host, "/api/v1/apps", url.Values{"client_name": {"Test App"}, "redirect_uris": {redirects}, "scopes": {scopes}}).json(t, 200)
	return client{m["client_id"].(string), m["client_secret"].(string)}
}

func challenge(v string) string {
	h := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

func authQuery(c client, redirect, scope, state string, extra ...string) url.Values {
	q := url.Values{"response_type": {"code"}, "client_id": {c.ID}, "redirect_uri": {redirect}, "scope": {scope}, "state": {state}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return q
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// form is the authorization page as a browser holds it: its hidden fields
// and the CSRF cookie it was given.
type form struct {
	page   response
	fields url.Values
	cookie *http.Cookie
}

func (w *world) openAuthorize(t *testing.T, host string, q url.Values) form {
	t.Helper()
	r := w.do(t, http.MethodGet, host, "/oauth/authorize?"+q.Encode(), nil)
	if r.StatusCode != 200 {
		t.Fatalf("authorize page: status %d: %s", r.StatusCode, r.body)
	}
	f := form{page: r, fields: url.Values{}}
	for _, m := range hiddenRE.FindAllStringSubmatch(r.body, -1) {
		f.fields.Set(m[1], html.UnescapeString(m[2]))
	}
	for _, c := range r.Cookies() {
		if strings.Contains(c.Name, "csrf") {
			f.cookie = c
		}
	}
	if f.cookie == nil || f.fields.Get("csrf") == "" {
		t.Fatalf("authorize page without CSRF cookie or field: %v", r.Header)
	}
	return f
}

func (w *world) submit(t *testing.T, host string, f form, email, pass, decision string) response {
	t.Helper()
	v := url.Values{}
	for k, vs := range f.fields {
		v[k] = vs
	}
	v.Set("email", email)
	v.Set("password", pass)
	v.Set("decision", decision)
	return w.postForm(t, host, "/oauth/authorize", v, "Cookie", f.cookie.Name+"="+f.cookie.Value)
}

// approve runs the browser flow and returns the code from the redirect.
func (w *world) approve(t *testing.T, host string, q url.Values) string {
	t.Helper()
	r := w.submit(t, host, w.openAuthorize(t, host, q), "alice@mail.example", password, "approve")
	if r.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d: %s", r.StatusCode, r.body)
	}
	loc, err := url.Parse(r.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != q.Get("redirect_uri") {
		t.Fatalf("redirected to %s, want %s", r.Header.Get("Location"), q.Get("redirect_uri"))
	}
	if loc.Query().Get("state") != q.Get("state") {
		t.Fatalf("state %q, want %q", loc.Query().Get("state"), q.Get("state"))
	}
	code := loc.Query().Get("code")
	if code == "" {
		t.Fatalf("no code in %s", loc)
	}
	return code
}

func (w *world) exchangeCode(t *testing.T, host string, c client, code, redirect, verifier string) response {
	t.Helper()
	v := url.Values{"grant_type": {"authorization_code"}, "client_id": {c.ID}, "code": {code}, "redirect_uri": {redirect}}
	if c.Secret != "" {
		v.Set("client_secret", c.Secret)
	}
	if verifier != "" {
		v.Set("code_verifier", verifier)
	}
	return w.postForm(t, host, "/oauth/token", v)
}

func (w *world) verify(t *testing.T, host, token string) response {
	t.Helper()
	return w.do(t, http.MethodGet, host, "/api/v1/apps/verify_credentials", nil, "Authorization", "Bearer "+token)
}

func (w *world) count(t *testing.T, sql string) int {
	t.Helper()
	var n int
	if err := w.db.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRegisterApp(t *testing.T) {
	t.Parallel()
	w := newWorld(t)

	r := w.postForm(t, "a.example", "/api/v1/apps", url.Values{
		"client_name": {"My App"}, "redirect_uris[]": {cb, "myapp://oauth"}, "scopes": {"read write"}, "website": {"https://my.example"},
	})
	if r.Header.Get("Access-Control-Allow-Origin") != "*" || r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", r.Header)
	}
	m := r.json(t, 200)
	for k, want := range map[string]any{
		"name": "My App", "website": "https://my.example", "redirect_uri": cb + "\nmyapp://oauth", "vapid_key": "",
		"client_secret_expires_at": 0.0,
	} {
		if m[k] != want {
			t.Errorf("%s = %#v, want %#v", k, m[k], want)
		}
	}
	if id, _ := m["id"].(string); id == "" {
		t.Errorf("id %#v is not a string", m["id"])
	}
	if s, _ := json.Marshal(m["scopes"]); string(s) != `["read","write"]` {
		t.Errorf("scopes %s", s)
	}
	if s, _ := json.Marshal(m["redirect_uris"]); string(s) != `["`+cb+`","myapp://oauth"]` {
		t.Errorf("redirect_uris %s", s)
	}
	for _, k := range []string{"client_id", "client_secret"} {
		if s, _ := m[k].(string); len(s) != 43 {
			t.Errorf("%s %#v is not 32 bytes of base64url", k, m[k])
		}
	}

	// JSON with an array, JSON with a string, query parameters.
	m = w.postJSON(t, "a.example", "/api/v1/apps", map[string]any{"client_name": "J", "redirect_uris": []string{cb, oauth.OOB}}).json(t, 200)
	if s, _ := json.Marshal(m["redirect_uris"]); string(s) != `["`+cb+`","`+oauth.OOB+`"]` || m["website"] != nil {
		t.Errorf("JSON array: redirect_uris %s, website %#v", s, m["website"])
	}
	if s, _ := json.Marshal(m["scopes"]); string(s) != `["read"]` {
		t.Errorf("default scopes %s", s)
	}
	m = w.postJSON(t, "a.example", "/api/v1/apps", map[string]any{"client_name": "J", "redirect_uris": cb + " " + oauth.OOB, "scopes": "read push"}).json(t, 200)
	if s, _ := json.Marshal(m["redirect_uris"]); string(s) != `["`+cb+`","`+oauth.OOB+`"]` {
		t.Errorf("JSON string: redirect_uris %s", s)
	}
	m = w.do(t, http.MethodPost, "a.example", "/api/v1/apps?"+url.Values{"client_name": {"Q"}, "redirect_uris": {oauth.OOB}}.Encode(), nil).json(t, 200)
	if m["name"] != "Q" || m["redirect_uri"] != oauth.OOB {
		t.Errorf("query parameters: %v", m)
	}

	for _, v := range []url.Values{
		{"redirect_uris": {cb}},
		{"client_name": {"x"}},
		{"client_name": {"x"}, "redirect_uris": {"//evil.example/cb"}},
		{"client_name": {"x"}, "redirect_uris": {"javascript:alert(1)"}},
		{"client_name": {"x"}, "redirect_uris": {cb}, "scopes": {"read root"}},
	} {
		if msg := w.postForm(t, "a.example", "/api/v1/apps", v).json(t, 422)["error"]; msg == "" || msg == nil {
			t.Errorf("%v: no error message", v)
		}
	}
	w.postJSON(t, "a.example", "/api/v1/apps", "not an object").json(t, 422)
}

func TestAuthorizationCodeFlow(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	app := w.register(t, "a.example", cb, "read write")
	q := authQuery(app, cb, "read write:statuses", "st&ate=1", "code_challenge", challenge(verifier), "code_challenge_method", "S256",
		"force_login", "true", "lang", "fr")

	f := w.openAuthorize(t, "a.example", q)
	h := f.page.Header
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "form-action 'self' https://app.example;", "frame-ancestors 'none'", "style-src 'sha256-"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	style := regexp.MustCompile(`(?s)<style>(.*)</style>`).FindStringSubmatch(f.page.body)
	if sum := sha256.Sum256([]byte(style[1])); !strings.Contains(csp, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") {
		t.Error("the CSP's style hash does not match the page's style")
	}
	if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Cache-Control") != "no-store" ||
		!strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Errorf("page headers %v", h)
	}
	if c := f.cookie; c.Name != "__Host-roost_oauth_csrf" || !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" {
		t.Errorf("CSRF cookie %+v", c)
	}
	for _, want := range []string{"Test App", "a.example", "Read all your account", "Publish, edit and delete your posts", `name="email"`, `name="password"`, ">Authorize<", ">Deny<"} {
		if !strings.Contains(f.page.body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(f.page.body, "<script") || strings.Contains(f.page.body, "http://") {
		t.Error("page loads something")
	}
	if f.fields.Get("state") != "st&ate=1" || f.fields.Get("scope") != "read write:statuses" {
		t.Errorf("hidden fields %v", f.fields)
	}

	r := w.submit(t, "a.example", f, "alice@mail.example", password, "approve")
	if r.StatusCode != http.StatusFound {
		t.Fatalf("status %d: %s", r.StatusCode, r.body)
	}
	loc, _ := url.Parse(r.Header.Get("Location"))
	code := loc.Query().Get("code")
	if loc.Query().Get("state") != "st&ate=1" || code == "" || !strings.HasPrefix(r.Header.Get("Location"), cb+"?") {
		t.Fatalf("redirected to %s", r.Header.Get("Location"))
	}

	// A public client: the verifier alone, in JSON.
	public := client{ID: app.ID}
	tr := w.postJSON(t, "a.example", "/oauth/token", map[string]string{
		"grant_type": "authorization_code", "client_id": public.ID, "code": code, "redirect_uri": cb, "code_verifier": verifier,
	})
	if tr.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("token response Cache-Control %q", tr.Header.Get("Cache-Control"))
	}
	m := tr.json(t, 200)
	token, _ := m["access_token"].(string)
	if len(token) != 43 || m["token_type"] != "Bearer" || m["scope"] != "read write:statuses" || m["created_at"].(float64) < float64(time.Now().Add(-time.Minute).Unix()) {
		t.Fatalf("token response %v", m)
	}
	if _, ok := m["expires_in"]; ok {
		t.Error("tokens do not expire, yet expires_in is set")
	}
	tok, err := w.svc.Authenticate(context.Background(), w.tenantA.ID, token)
	if err != nil || tok.AccountID != w.aliceA.ID || !tok.Scopes.Allows("write:statuses") || tok.Scopes.Allows("write:media") {
		t.Fatalf("Authenticate = %+v, %v", tok, err)
	}
	if _, err := w.svc.Authenticate(context.Background(), w.tenantB.ID, token); !errs.Is(err, errs.Unauthorized) {
		t.Fatalf("A's token on B: %v", err)
	}

	v := w.verify(t, "a.example", token).json(t, 200)
	if v["name"] != "Test App" || v["client_secret"] != nil || v["client_id"] != nil {
		t.Fatalf("verify_credentials %v", v)
	}
	if s, _ := json.Marshal(v["scopes"]); string(s) != `["read","write"]` {
		t.Errorf("verify_credentials scopes %s (the app's)", s)
	}
	for _, host := range []string{"b.example", "social.b.example"} {
		bad := w.verify(t, host, token)
		if bad.json(t, 401)["error"] != "The access token is invalid" {
			t.Fatalf("verify_credentials on %s: %s", host, bad.body)
		}
	}
	for _, hdr := range [][]string{nil, {"Authorization", "Bearer "}, {"Authorization", "Bearer nope"}, {"Authorization", "Basic " + token}} {
		r := w.do(t, http.MethodGet, "a.example", "/api/v1/apps/verify_credentials", nil, hdr...)
		if r.json(t, 401)["error"] != "The access token is invalid" {
			t.Fatalf("verify_credentials with %v: %s", hdr, r.body)
		}
	}
}

func TestAuthorizeLoginAndCSRF(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	app := w.register(t, "a.example", cb, "read")
	q := authQuery(app, cb, "read", "s1")

	t.Run("wrong login", func(t *testing.T) {
		var msg string
		for _, c := range []struct{ email, pass string }{
			{"alice@mail.example", "wrong password"},
			{"nobody@mail.example", password},
			{"", ""},
		} {
			r := w.submit(t, "a.example", w.openAuthorize(t, "a.example", q), c.email, c.pass, "approve")
			if r.StatusCode != http.StatusUnprocessableEntity || r.Header.Get("Location") != "" || strings.Contains(r.body, "code=") {
				t.Fatalf("%s: status %d, location %q", c.email, r.StatusCode, r.Header.Get("Location"))
			}
			m := regexp.MustCompile(`<p class="error" role="alert">([^<]*)</p>`).FindStringSubmatch(r.body)
			if m == nil {
				t.Fatalf("%s: no error on the page", c.email)
			}
			if msg != "" && m[1] != msg {
				t.Fatalf("errors differ: %q, %q", msg, m[1])
			}
			msg = m[1]
			if !strings.Contains(r.body, `name="password"`) || r.Header.Get("X-Frame-Options") != "DENY" {
				t.Fatal("the form is not shown again")
			}
		}
		// A login works only where it owns an account: bob on A, not on B.
		f := w.openAuthorize(t, "a.example", q)
		if r := w.submit(t, "a.example", f, "bob@mail.example", password, "approve"); r.StatusCode != http.StatusFound {
			t.Fatalf("bob on a.example: %d", r.StatusCode)
		}
		appB := w.register(t, "b.example", cb, "read")
		f = w.openAuthorize(t, "b.example", authQuery(appB, cb, "read", "s"))
		if r := w.submit(t, "b.example", f, "bob@mail.example", password, "approve"); r.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("bob on b.example: %d", r.StatusCode)
		}
		if n := w.count(t, "select count(*) from oauth_codes"); n != 1 {
			t.Fatalf("%d codes, want only bob's", n)
		}
	})

	t.Run("CSRF", func(t *testing.T) {
		before := w.count(t, "select count(*) from oauth_codes")
		f := w.openAuthorize(t, "a.example", q)
		other := w.openAuthorize(t, "a.example", q) // a fresh browser: another cookie
		if other.cookie.Value == f.cookie.Value {
			t.Fatal("two browsers got the same CSRF token")
		}
		post := func(field string, cookie *http.Cookie) response {
			v := url.Values{}
			for k, vs := range f.fields {
				v[k] = vs
			}
			v.Set("csrf", field)
			v.Set("email", "alice@mail.example")
			v.Set("password", password)
			v.Set("decision", "approve")
			var hdr []string
			if cookie != nil {
				hdr = []string{"Cookie", cookie.Name + "=" + cookie.Value}
			}
			return w.postForm(t, "a.example", "/oauth/authorize", v, hdr...)
		}
		for name, r := range map[string]response{
			"no cookie":                post(f.fields.Get("csrf"), nil),
			"no field":                 post("", f.cookie),
			"another browser's cookie": post(f.fields.Get("csrf"), other.cookie),
			"altered field":            post(alter(f.fields.Get("csrf")), f.cookie),
			"cookie without __Host-":   post(f.fields.Get("csrf"), &http.Cookie{Name: "roost_oauth_csrf", Value: f.cookie.Value}),
		} {
			if r.StatusCode != http.StatusForbidden || r.Header.Get("Location") != "" {
				t.Errorf("%s: status %d, location %q", name, r.StatusCode, r.Header.Get("Location"))
			}
		}
		if n := w.count(t, "select count(*) from oauth_codes"); n != before {
			t.Fatal("a refused form issued a code")
		}
		// The same browser reopening the page keeps its token.
		if again := w.do(t, http.MethodGet, "a.example", "/oauth/authorize?"+q.Encode(), nil, "Cookie", f.cookie.Name+"="+f.cookie.Value); !strings.Contains(again.body, f.cookie.Value) {
			t.Error("reopening the page changed the CSRF token")
		}
	})

	t.Run("deny", func(t *testing.T) {
		r := w.submit(t, "a.example", w.openAuthorize(t, "a.example", q), "", "", "deny")
		loc, _ := url.Parse(r.Header.Get("Location"))
		if r.StatusCode != http.StatusFound || loc.Query().Get("error") != "access_denied" || loc.Query().Get("state") != "s1" || loc.Query().Get("code") != "" {
			t.Fatalf("deny: %d %s", r.StatusCode, r.Header.Get("Location"))
		}
	})
}

// SECURITY 26: a bad client or redirect URI is an error page, never a
// redirect; other errors go back to the (verified) redirect URI.
func TestAuthorizeRedirectURI(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	reg := "https://app.example/cb?x=1"
	app := w.register(t, "a.example", reg, "read")
	appB := w.register(t, "b.example", reg, "read")

	wantPage := func(name string, r response) {
		t.Helper()
		if r.StatusCode != http.StatusBadRequest || r.Header.Get("Location") != "" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: status %d, location %q", name, r.StatusCode, r.Header.Get("Location"))
		}
	}
	for _, bad := range []string{
		"", "https://app.example/cb?x=1&y=2", "https://app.example/cb", "https://app.example/CB?x=1", "https://APP.example/cb?x=1",
		"https://app.example/cb/?x=1", "//evil.example/cb", "https://evil.example/cb?x=1", "https://app.example/cb?x=1#f",
		"https://app.example.evil.example/cb?x=1", oauth.OOB,
	} {
		wantPage("GET "+bad, w.do(t, http.MethodGet, "a.example", "/oauth/authorize?"+authQuery(app, bad, "read", "s").Encode(), nil))
	}
	// An unknown client, or another tenant's.
	wantPage("unknown client", w.do(t, http.MethodGet, "a.example", "/oauth/authorize?"+authQuery(client{ID: "nope"}, reg, "read", "s").Encode(), nil))
	wantPage("B's app on A", w.do(t, http.MethodGet, "a.example", "/oauth/authorize?"+authQuery(appB, reg, "read", "s").Encode(), nil))

	// The POST checks again, after a valid CSRF check.
	f := w.openAuthorize(t, "a.example", authQuery(app, reg, "read", "s"))
	f.fields.Set("redirect_uri", "https://evil.example/cb?x=1")
	wantPage("POST evil", w.submit(t, "a.example", f, "alice@mail.example", password, "approve"))
	f.fields.Set("redirect_uri", reg)
	f.fields.Set("client_id", appB.ID)
	wantPage("POST B's app", w.submit(t, "a.example", f, "alice@mail.example", password, "approve"))
	if n := w.count(t, "select count(*) from oauth_codes"); n != 0 {
		t.Fatalf("%d codes issued", n)
	}

	// Other errors are a page too, naming the error, since anyone can
	// register any redirect URI (issue 14 finding 10; the whole table is
	// TestIssue14Finding10AuthorizeNeverRedirectsBeforeTheUserActs).
	for _, c := range []struct {
		q    url.Values
		want string
	}{
		{authQuery(app, reg, "read", "s", "response_type", "token"), "unsupported_response_type"},
		{authQuery(app, reg, "write", "s"), "invalid_scope"},
		{authQuery(app, reg, "read", "s", "code_challenge", challenge(verifier), "code_challenge_method", "plain"), "invalid_request"},
		{authQuery(app, reg, "read", "s", "code_challenge", challenge(verifier)), "invalid_request"},
	} {
		r := w.do(t, http.MethodGet, "a.example", "/oauth/authorize?"+c.q.Encode(), nil)
		wantPage(c.want, r)
		if !strings.Contains(r.body, c.want) {
			t.Errorf("%v: the page does not name %s", c.q, c.want)
		}
	}
}

func TestOutOfBand(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	app := w.register(t, "a.example", oauth.OOB, "read")
	f := w.openAuthorize(t, "a.example", authQuery(app, oauth.OOB, "read", ""))
	if csp := f.page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self';") {
		t.Errorf("CSP %q", csp)
	}
	r := w.submit(t, "a.example", f, "alice@mail.example", password, "approve")
	if r.StatusCode != 200 || r.Header.Get("Location") != "" {
		t.Fatalf("OOB: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	m := regexp.MustCompile(`class="code" type="text" value="([^"]+)"`).FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no code on the page: %s", r.body)
	}
	w.exchangeCode(t, "a.example", app, m[1], oauth.OOB, "").json(t, 200)
	// Deny shows a page too: there is nowhere to redirect.
	r = w.submit(t, "a.example", w.openAuthorize(t, "a.example", authQuery(app, oauth.OOB, "read", "")), "", "", "deny")
	if r.StatusCode != http.StatusBadRequest || r.Header.Get("Location") != "" {
		t.Fatalf("OOB deny: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
}

// SECURITY 27 over HTTP.
func TestTokenCodeRedemption(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	app := w.register(t, "a.example", cb, "read")
	other := w.register(t, "a.example", cb, "read")

	code := w.approve(t, "a.example", authQuery(app, cb, "read", "s"))
	m := w.exchangeCode(t, "a.example", app, code, cb, "").json(t, 200)
	token := m["access_token"].(string)
	if m["refresh_token"] == nil {
		t.Error("a confidential client got no refresh token")
	}
	w.verify(t, "a.example", token).json(t, 200)
	w.exchangeCode(t, "a.example", app, code, cb, "").wantOAuthError(t, 400, "invalid_grant")
	w.verify(t, "a.example", token).json(t, 401)

	code = w.approve(t, "a.example", authQuery(app, cb, "read", "s"))
	w.exchangeCode(t, "a.example", other, code, cb, "").wantOAuthError(t, 400, "invalid_grant")
	w.exchangeCode(t, "a.example", app, code, cb+"/", "").wantOAuthError(t, 400, "invalid_grant")
	w.exchangeCode(t, "a.example", client{ID: app.ID, Secret: other.Secret}, code, cb, "").wantOAuthError(t, 401, "invalid_client")
	w.exchangeCode(t, "b.example", app, code, cb, "").wantOAuthError(t, 401, "invalid_client")

	code = w.approve(t, "a.example", authQuery(app, cb, "read", "s", "code_challenge", challenge(verifier), "code_challenge_method", "S256"))
	w.exchangeCode(t, "a.example", client{ID: app.ID}, code, cb, verifier+"x").wantOAuthError(t, 400, "invalid_grant")
	w.exchangeCode(t, "a.example", client{ID: app.ID}, code, cb, verifier).wantOAuthError(t, 400, "invalid_grant") // spent
	code = w.approve(t, "a.example", authQuery(app, cb, "read", "s", "code_challenge", challenge(verifier), "code_challenge_method", "S256"))
	if m := w.exchangeCode(t, "a.example", client{ID: app.ID}, code, cb, verifier).json(t, 200); m["refresh_token"] != nil {
		t.Error("a public client got a refresh token")
	}

	w.postForm(t, "a.example", "/oauth/token", url.Values{"grant_type": {"password"}, "client_id": {app.ID}, "client_secret": {app.Secret}}).
		wantOAuthError(t, 400, "unsupported_grant_type")
	w.postForm(t, "a.example", "/oauth/token", url.Values{"client_id": {app.ID}, "client_secret": {app.Secret}}).
		wantOAuthError(t, 400, "invalid_request")
	w.do(t, http.MethodPost, "a.example", "/oauth/token", strings.NewReader("{"), "Content-Type", "application/json").
		wantOAuthError(t, 400, "invalid_request")
}

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

func TestClientCredentialsAndScopes(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	app := w.register(t, "a.example", oauth.OOB, "read")

	m := w.postForm(t, "a.example", "/oauth/token", url.Values{"grant_type": {"client_credentials"}}, "Authorization", basic(app.ID, app.Secret)).json(t, 200)
	if m["scope"] != "read" || m["refresh_token"] != nil {
		t.Fatalf("client_credentials %v", m)
	}
	tok, err := w.svc.Authenticate(context.Background(), w.tenantA.ID, m["access_token"].(string))
	if err != nil || tok.AccountID != 0 {
		t.Fatalf("app token %+v, %v", tok, err)
	}
	w.verify(t, "a.example", m["access_token"].(string)).json(t, 200)

	// Scope escalation: a read app asking for write.
	w.postForm(t, "a.example", "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ID}, "client_secret": {app.Secret}, "scope": {"write"}}).
		wantOAuthError(t, 400, "invalid_scope")
	w.postForm(t, "a.example", "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ID}, "client_secret": {app.Secret}, "scope": {"read write"}}).
		wantOAuthError(t, 400, "invalid_scope")

	bad := w.postForm(t, "a.example", "/oauth/token", url.Values{"grant_type": {"client_credentials"}}, "Authorization", basic(app.ID, "wrong"))
	bad.wantOAuthError(t, 401, "invalid_client")
	if !strings.HasPrefix(bad.Header.Get("WWW-Authenticate"), "Basic") {
		t.Errorf("WWW-Authenticate %q", bad.Header.Get("WWW-Authenticate"))
	}
	w.postForm(t, "a.example", "/oauth/token", url.Values{"grant_type": {"client_credentials"}}, "Authorization", "Basic %%%").
		wantOAuthError(t, 401, "invalid_client")
	w.postForm(t, "a.example", "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_secret": {app.Secret}}, "Authorization", basic(app.ID, app.Secret)).
		wantOAuthError(t, 400, "invalid_request")
	w.postForm(t, "a.example", "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ID}}).
		wantOAuthError(t, 401, "invalid_client")

	// Tenant binding: A's app does not exist at B's token endpoint.
	for _, host := range []string{"b.example", "social.b.example"} {
		w.postForm(t, host, "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ID}, "client_secret": {app.Secret}}).
			wantOAuthError(t, 401, "invalid_client")
	}
}

func TestRefreshAndRevoke(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	app := w.register(t, "a.example", cb, "read write")
	refresh := func(token, scope string) response {
		return w.postForm(t, "a.example", "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}, "scope": {scope}},
			"Authorization", basic(app.ID, app.Secret))
	}
	m := w.exchangeCode(t, "a.example", app, w.approve(t, "a.example", authQuery(app, cb, "read write", "s")), cb, "").json(t, 200)
	access, ref := m["access_token"].(string), m["refresh_token"].(string)

	refresh(ref, "read write follow").wantOAuthError(t, 400, "invalid_scope")
	m2 := refresh(ref, "read").json(t, 200)
	if m2["scope"] != "read" || m2["access_token"] == access || m2["refresh_token"] == ref || m2["refresh_token"] == nil {
		t.Fatalf("refreshed %v", m2)
	}
	w.verify(t, "a.example", access).json(t, 401)
	w.verify(t, "a.example", m2["access_token"].(string)).json(t, 200)
	refresh(ref, "").wantOAuthError(t, 400, "invalid_grant")

	// Revoke: unknown token 200, the right one 200 and dead.
	m = w.exchangeCode(t, "a.example", app, w.approve(t, "a.example", authQuery(app, cb, "read", "s")), cb, "").json(t, 200)
	access = m["access_token"].(string)
	for _, tok := range []string{"unknown", access} {
		r := w.postForm(t, "a.example", "/oauth/revoke", url.Values{"token": {tok}, "client_id": {app.ID}, "client_secret": {app.Secret}})
		if r.json(t, 200) == nil {
			t.Fatal("no body")
		}
	}
	w.verify(t, "a.example", access).json(t, 401)
	w.postForm(t, "a.example", "/oauth/revoke", url.Values{"token": {access}, "client_id": {app.ID}, "client_secret": {"wrong"}}).
		wantOAuthError(t, 401, "invalid_client")
	w.postForm(t, "b.example", "/oauth/revoke", url.Values{"token": {access}, "client_id": {app.ID}, "client_secret": {app.Secret}}).
		wantOAuthError(t, 401, "invalid_client")
}

func TestMetadata(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for host, base := range map[string]string{"a.example": "https://a.example", "b.example": "https://b.example"} {
		r := w.do(t, http.MethodGet, host, "/.well-known/oauth-authorization-server", nil)
		m := r.json(t, 200)
		for k, want := range map[string]string{
			"issuer": base + "/", "authorization_endpoint": base + "/oauth/authorize", "token_endpoint": base + "/oauth/token",
			"revocation_endpoint": base + "/oauth/revoke", "app_registration_endpoint": base + "/api/v1/apps",
		} {
			if m[k] != want {
				t.Errorf("%s: %s = %v, want %s", host, k, m[k], want)
			}
		}
		for k, want := range map[string]string{
			"response_types_supported": `["code"]`, "code_challenge_methods_supported": `["S256"]`,
			"grant_types_supported": `["authorization_code","client_credentials","refresh_token"]`,
		} {
			if s, _ := json.Marshal(m[k]); string(s) != want {
				t.Errorf("%s: %s = %s, want %s", host, k, s, want)
			}
		}
		scopes, _ := json.Marshal(m["scopes_supported"])
		if !strings.Contains(string(scopes), `"read"`) || !strings.Contains(string(scopes), `"write:statuses"`) {
			t.Errorf("scopes_supported %s", scopes)
		}
		if r.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Error("no CORS header")
		}
	}
	if r := w.do(t, http.MethodOptions, "a.example", "/oauth/token", nil, "Origin", "https://client.example", "Access-Control-Request-Method", "POST"); r.StatusCode != 204 ||
		r.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("preflight: %d %v", r.StatusCode, r.Header)
	}
}

// alter changes a token's first character (the last one of a base64
// string may carry only padding bits, so changing it can decode the same).
func alter(tok string) string {
	c := byte('A')
	if tok[0] == 'A' {
		c = 'B'
	}
	return string(c) + tok[1:]
}
