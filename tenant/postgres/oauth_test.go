package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/oauth"
)

const oauthPassword = "correct horse battery"

var oauthPasswordHash = sync.OnceValue(func() string {
	h, err := tenant.HashPassword(oauthPassword)
	if err != nil {
		panic(err)
	}
	return h
})

// clock is a settable time for Service.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// oauthWorld is two tenants, each with an alice owned by the same login.
type oauthWorld struct {
	db               *pgxpool.Pool
	store            *OAuthStore
	svc              *oauth.Service
	clock            *clock
	tenantA, tenantB *tenant.Tenant
	aliceA, aliceB   int64
}

func newOAuthWorld(t *testing.T) *oauthWorld {
	t.Helper()
	s, db := newStore(t)
	w := &oauthWorld{db: db, store: NewOAuthStore(db), clock: &clock{t: time.Now()}}
	w.svc = &oauth.Service{Store: w.store, Now: w.clock.Now}
	w.tenantA = create(t, s, "A", "a.example", "")
	w.tenantB = create(t, s, "B", "b.example", "social.b.example")
	w.aliceA = addAccount(t, db, w.tenantA.ID, "a.example", "alice", "alice@mail.example")
	w.aliceB = addAccount(t, db, w.tenantB.ID, "b.example", "alice", "alice@mail.example")
	return w
}

// addAccount creates a local account owned by the login of email
// (created with oauthPassword when new).
func addAccount(t *testing.T, db *pgxpool.Pool, tenantID int64, domain, username, email string) int64 {
	t.Helper()
	ctx := context.Background()
	var userID, accountID int64
	err := db.QueryRow(ctx, `select id from users where lower(email) = lower($1)`, email).Scan(&userID)
	if err != nil {
		if err := db.QueryRow(ctx, `insert into users (email, password_hash) values ($1, $2) returning id`,
			email, oauthPasswordHash()).Scan(&userID); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.QueryRow(ctx, `insert into accounts (tenant_id, domain, username, public_key_pem, private_key_pem)
		values ($1, $2, $3, 'pub', 'priv') returning id`, tenantID, domain, username).Scan(&accountID); err != nil {
		t.Fatal(err)
	}
	exec(t, db, `insert into user_accounts (user_id, account_id) values ($1, $2)`, userID, accountID)
	return accountID
}

type testApp struct {
	*oauth.App
	secret string
}

func (w *oauthWorld) register(t *testing.T, tenantID int64, redirects, scopes string) testApp {
	t.Helper()
	app, secret, err := w.svc.RegisterApp(context.Background(), tenantID, "Test App", "https://app.example", redirects, scopes)
	if err != nil {
		t.Fatalf("RegisterApp(%q, %q): %v", redirects, scopes, err)
	}
	return testApp{app, secret}
}

func (w *oauthWorld) authorize(t *testing.T, app testApp, account int64, redirect, scope, challenge string) string {
	t.Helper()
	method := ""
	if challenge != "" {
		method = "S256"
	}
	code, err := w.svc.Authorize(context.Background(), app.App, account, redirect, scope, challenge, method)
	if err != nil {
		t.Fatalf("Authorize: %v", err)
	}
	return code
}

func (w *oauthWorld) exchange(t *testing.T, tenantID int64, r oauth.TokenRequest) *oauth.Grant {
	t.Helper()
	g, err := w.svc.Exchange(context.Background(), tenantID, r)
	if err != nil {
		t.Fatalf("Exchange(%s): %v", r.GrantType, err)
	}
	return g
}

func codeRequest(app testApp, code, redirect string) oauth.TokenRequest {
	return oauth.TokenRequest{GrantType: "authorization_code", ClientID: app.ClientID, ClientSecret: app.secret, Code: code, RedirectURI: redirect}
}

func wantOAuthError(t *testing.T, err error, code string) {
	t.Helper()
	e, ok := oauth.AsError(err)
	if !ok || e.Code != code {
		t.Fatalf("error %v, want OAuth error %s", err, code)
	}
	if e.Description == "" {
		t.Fatalf("OAuth error %s has no description", code)
	}
}

func (w *oauthWorld) wantAuth(t *testing.T, tenantID int64, bearer string) *oauth.Token {
	t.Helper()
	tok, err := w.svc.Authenticate(context.Background(), tenantID, bearer)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	return tok
}

func (w *oauthWorld) wantNoAuth(t *testing.T, tenantID int64, bearer string) {
	t.Helper()
	tok, err := w.svc.Authenticate(context.Background(), tenantID, bearer)
	if !errs.Is(err, errs.Unauthorized) {
		t.Fatalf("Authenticate = %+v, %v; want %s", tok, err, errs.Unauthorized)
	}
}

func sha(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func pkce(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

const (
	cb       = "https://app.example/callback"
	verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-plus-some-more"
)

func TestOAuthRegisterApp(t *testing.T) {
	t.Parallel()
	w := newOAuthWorld(t)
	ctx := context.Background()

	app, secret, err := w.svc.RegisterApp(ctx, w.tenantA.ID, "  My App ", "https://my.example/", cb+" myapp://oauth\n"+oauth.OOB+" "+cb, "write read")
	if err != nil {
		t.Fatal(err)
	}
	if app.ID == 0 || app.TenantID != w.tenantA.ID || app.Name != "My App" || app.Website != "https://my.example/" ||
		strings.Join(app.RedirectURIs, " ") != cb+" myapp://oauth "+oauth.OOB || app.Scopes.String() != "read write" || app.CreatedAt.IsZero() {
		t.Fatalf("RegisterApp = %+v", app)
	}
	for _, s := range []string{app.ClientID, secret} {
		if b, err := base64.RawURLEncoding.DecodeString(s); err != nil || len(b) != 32 {
			t.Fatalf("%q is not 32 bytes of base64url without padding", s)
		}
	}
	var stored []byte
	if err := w.db.QueryRow(ctx, `select client_secret_hash from oauth_apps where id = $1`, app.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if string(stored) != string(sha(secret)) {
		t.Fatal("the client secret is not stored as its SHA-256")
	}
	got, err := w.svc.AppByClientID(ctx, w.tenantA.ID, app.ClientID)
	if err != nil || got.ID != app.ID || got.Scopes.String() != "read write" || len(got.RedirectURIs) != 3 {
		t.Fatalf("AppByClientID = %+v, %v", got, err)
	}
	if got, err := w.svc.AppByClientID(ctx, w.tenantB.ID, app.ClientID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("AppByClientID on another tenant = %+v, %v; want not found", got, err)
	}

	// Defaults: read, no website.
	def, _, err := w.svc.RegisterApp(ctx, w.tenantA.ID, "Default", "", oauth.OOB, "")
	if err != nil || def.Scopes.String() != "read" || def.Website != "" {
		t.Fatalf("RegisterApp with defaults = %+v, %v", def, err)
	}

	var seventeen string
	for i := range 17 {
		seventeen += fmt.Sprintf("https://app.example/%d ", i)
	}
	bad := []struct{ name, website, uris, scopes string }{
		{"", "", cb, "read"},
		{strings.Repeat("x", 201), "", cb, "read"},
		{"ctl\x00", "", cb, "read"},
		{"x", "javascript:alert(1)", cb, "read"},
		{"x", "", "", "read"},
		{"x", "", "/relative", "read"},
		{"x", "", "//evil.example/cb", "read"},
		{"x", "", "app.example/cb", "read"},
		{"x", "", "javascript:alert(1)", "read"},
		{"x", "", "JavaScript:alert(1)", "read"},
		{"x", "", "data:text/html,hi", "read"},
		{"x", "", "https://app.example/cb#frag", "read"},
		{"x", "", "https://user:pw@app.example/cb", "read"},
		{"x", "", "https:///nohost", "read"},
		{"x", "", "https://app.example/caf\u00e9", "read"},
		{"x", "", "https://app.example/" + strings.Repeat("a", 2000), "read"},
		{"x", "", seventeen, "read"},
		{"x", "", cb, "read sudo"},
	}
	for _, b := range bad {
		if app, _, err := w.svc.RegisterApp(ctx, w.tenantA.ID, b.name, b.website, b.uris, b.scopes); !errs.Is(err, errs.Invalid) {
			t.Errorf("RegisterApp(%q, %q, %q, %q) = %+v, %v; want invalid", b.name, b.website, truncated(b.uris), b.scopes, app, err)
		}
	}
	if n := count(t, w.db, "oauth_apps"); n != 2 {
		t.Fatalf("%d apps stored, want 2", n)
	}
}

func truncated(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

func TestOAuthAuthorizationCodeFlow(t *testing.T) {
	t.Parallel()
	w := newOAuthWorld(t)
	ctx := context.Background()
	app := w.register(t, w.tenantA.ID, cb, "read write")

	code := w.authorize(t, app, w.aliceA, cb, "read", "")
	if b, err := base64.RawURLEncoding.DecodeString(code); err != nil || len(b) != 32 {
		t.Fatalf("code %q is not 32 bytes of base64url", code)
	}
	if n := count(t, w.db, `oauth_codes where code_hash = '\x`+hexOf(sha(code))+`' and expires_at > now() + interval '9 minutes'`); n != 1 {
		t.Fatal("the code is not stored by hash with a 10 minute life")
	}
	g := w.exchange(t, w.tenantA.ID, codeRequest(app, code, cb))
	if g.AccessToken == "" || g.RefreshToken == "" || g.AccessToken == g.RefreshToken {
		t.Fatalf("grant %+v", g)
	}
	if g.Token.AccountID != w.aliceA || g.Token.Scopes.String() != "read" || g.Token.AppID != app.ID || g.Token.TenantID != w.tenantA.ID {
		t.Fatalf("grant token %+v", g.Token)
	}
	var tokenHash, refreshHash, codeHash []byte
	if err := w.db.QueryRow(ctx, `select token_hash, refresh_hash, code_hash from oauth_tokens where id = $1`, g.Token.ID).
		Scan(&tokenHash, &refreshHash, &codeHash); err != nil {
		t.Fatal(err)
	}
	if string(tokenHash) != string(sha(g.AccessToken)) || string(refreshHash) != string(sha(g.RefreshToken)) || string(codeHash) != string(sha(code)) {
		t.Fatal("tokens are not stored as SHA-256 hashes bound to their code")
	}

	tok := w.wantAuth(t, w.tenantA.ID, g.AccessToken)
	if tok.ID != g.Token.ID || tok.AccountID != w.aliceA || tok.AppName != "Test App" || tok.AppWebsite != "https://app.example" ||
		!tok.Scopes.Allows("read:statuses") || tok.Scopes.Allows("write") {
		t.Fatalf("Authenticate = %+v", tok)
	}

	// last_used_at is written at most once a minute.
	lastUsed := func() time.Time {
		var at time.Time
		if err := w.db.QueryRow(ctx, `select last_used_at from oauth_tokens where id = $1`, tok.ID).Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	first := lastUsed()
	w.clock.Add(30 * time.Second)
	w.wantAuth(t, w.tenantA.ID, g.AccessToken)
	if !lastUsed().Equal(first) {
		t.Fatal("last_used_at rewritten within a minute")
	}
	w.clock.Add(31 * time.Second)
	w.wantAuth(t, w.tenantA.ID, g.AccessToken)
	if !lastUsed().After(first) {
		t.Fatal("last_used_at not updated after a minute")
	}

	for _, bad := range []string{"", "nope", g.RefreshToken, code, app.secret, app.ClientID, strings.Repeat("x", 5000)} {
		w.wantNoAuth(t, w.tenantA.ID, bad)
	}
	// The tenant binding: a token of A is nothing on B.
	w.wantNoAuth(t, w.tenantB.ID, g.AccessToken)
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// SECURITY 26: the redirect URI must be one registered, byte for byte.
func TestOAuthRedirectURIExactMatch(t *testing.T) {
	t.Parallel()
	w := newOAuthWorld(t)
	reg := "https://app.example/cb?x=1"
	app := w.register(t, w.tenantA.ID, reg+" myapp://oauth", "read")
	for _, ok := range []string{reg, "myapp://oauth"} {
		w.authorize(t, app, w.aliceA, ok, "read", "")
	}
	for _, bad := range []string{
		"", "https://app.example/cb?x=1&y=2", "https://app.example/cb", "https://app.example/cb?x=2",
		"https://app.example/CB?x=1", "https://APP.example/cb?x=1", "HTTPS://app.example/cb?x=1",
		"https://app.example/cb/?x=1", "https://app.example/cb?x=1#frag", "https://app.example/cb?x=1/../../evil",
		"https://app.example:443/cb?x=1", "https://app.example.evil.example/cb?x=1", "https://evil.example/https://app.example/cb?x=1",
		"//evil.example/cb", "//app.example/cb?x=1", "https://app.example/cb?x=1 ", " https://app.example/cb?x=1",
		"myapp://oauth/", "MYAPP://oauth", "myapp://oauth?x", oauth.OOB,
	} {
		code, err := w.svc.Authorize(context.Background(), app.App, w.aliceA, bad, "read", "", "")
		wantOAuthError(t, err, oauth.ErrInvalidRequest)
		if code != "" {
			t.Fatalf("Authorize(%q) issued a code", bad)
		}
	}
	if n := count(t, w.db, "oauth_codes"); n != 2 {
		t.Fatalf("%d codes stored, want 2", n)
	}
}

func TestOAuthScopes(t *testing.T) {
	t.Parallel()
	w := newOAuthWorld(t)
	ctx := context.Background()
	read := w.register(t, w.tenantA.ID, cb, "read")
	for _, s := range []string{"write", "read write", "follow", "admin:read", "write:statuses", "read bogus"} {
		_, err := w.svc.Authorize(ctx, read.App, w.aliceA, cb, s, "", "")
		wantOAuthError(t, err, oauth.ErrInvalidScope)
		_, err = w.svc.Exchange(ctx, w.tenantA.ID, oauth.TokenRequest{GrantType: "client_credentials", ClientID: read.ClientID, ClientSecret: read.secret, Scope: s})
		wantOAuthError(t, err, oauth.ErrInvalidScope)
	}
	for _, s := range []string{"", "read", "read:statuses read:accounts", "read+read:lists"} {
		w.authorize(t, read, w.aliceA, cb, s, "")
	}
	granular := w.register(t, w.tenantA.ID, cb, "read:statuses write:statuses")
	_, err := w.svc.Authorize(ctx, granular.App, w.aliceA, cb, "read", "", "")
	wantOAuthError(t, err, oauth.ErrInvalidScope)
	code := w.authorize(t, granular, w.aliceA, cb, "write:statuses", "")
	g := w.exchange(t, w.tenantA.ID, codeRequest(granular, code, cb))
	if g.Token.Scopes.String() != "write:statuses" {
		t.Fatalf("scopes %v", g.Token.Scopes)
	}
}

func TestOAuthPKCE(t *testing.T) {
	t.Parallel()
	w := newOAuthWorld(t)
	ctx := context.Background()
	app := w.register(t, w.tenantA.ID, cb, "read")
	challenge := pkce(verifier)

	for _, c := range []struct{ challenge, method string }{
		{challenge, "plain"}, {challenge, ""}, {challenge, "s256"}, {"", "S256"}, {"short", "S256"}, {challenge + "!", "S256"},
	} {
		_, err := w.svc.Authorize(ctx, app.App, w.aliceA, cb, "read", c.challenge, c.method)
		wantOAuthError(t, err, oauth.ErrInvalidRequest)
	}

	// A public client: client_id and verifier, no secret. No refresh token.
	code := w.authorize(t, app, w.aliceA, cb, "read", challenge)
	public := oauth.TokenRequest{GrantType: "authorization_code", ClientID: app.ClientID, Code: code, RedirectURI: cb, CodeVerifier: verifier}
	g := w.exchange(t, w.tenantA.ID, public)
	if g.RefreshToken != "" {
		t.Fatal("a public client got a refresh token")
	}
	w.wantAuth(t, w.tenantA.ID, g.AccessToken)

	// A confidential client using PKCE too.
	code = w.authorize(t, app, w.aliceA, cb, "read", challenge)
	r := codeRequest(app, code, cb)
	r.CodeVerifier = verifier
	if g := w.exchange(t, w.tenantA.ID, r); g.RefreshToken == "" {
		t.Fatal("a confidential client got no refresh token")
	}

	// A bad verifier is refused, and spends the code.
	code = w.authorize(t, app, w.aliceA, cb, "read", challenge)
	for _, bad := range []string{verifier + "x", challenge, strings.Repeat("a", 43)} {
		r := codeRequest(app, code, cb)
		r.CodeVerifier = bad
		_, err := w.svc.Exchange(ctx, w.tenantA.ID, r)
		wantOAuthError(t, err, oauth.ErrInvalidGrant)
	}
	r = codeRequest(app, code, cb)
	r.CodeVerifier = verifier
	_, err := w.svc.Exchange(ctx, w.tenantA.ID, r)
	wantOAuthError(t, err, oauth.ErrInvalidGrant)

	// A PKCE code without its verifier is refused.
	code = w.authorize(t, app, w.aliceA, cb, "read", challenge)
	_, err = w.svc.Exchange(ctx, w.tenantA.ID, codeRequest(app, code, cb))
	wantOAuthError(t, err, oauth.ErrInvalidGrant)

	// A verifier for a code issued without a challenge is refused (a
	// downgrade), and a public client cannot redeem such a code at all.
	code = w.authorize(t, app, w.aliceA, cb, "read", "")
	r = codeRequest(app, code, cb)
	r.CodeVerifier = verifier
	_, err = w.svc.Exchange(ctx, w.tenantA.ID, r)
	wantOAuthError(t, err, oauth.ErrInvalidGrant)
	code = w.authorize(t, app, w.aliceA, cb, "read", "")
	_, err = w.svc.Exchange(ctx, w.tenantA.ID, oauth.TokenRequest{GrantType: "authorization_code", ClientID: app.ClientID, Code: code, RedirectURI: cb})
	wantOAuthError(t, err, oauth.ErrInvalidClient)
	public.Code, public.CodeVerifier = code, verifier
	_, err = w.svc.Exchange(ctx, w.tenantA.ID, public)
	wantOAuthError(t, err, oauth.ErrInvalidGrant)
}

// SECURITY 27: a code is single-use, of one app, for one redirect URI, and
// a replay revokes what it issued.
func TestOAuthCodeRedemption(t *testing.T) {
	t.Parallel()
	w := newOAuthWorld(t)
	ctx := context.Background()
	app := w.register(t, w.tenantA.ID, cb+" "+oauth.OOB, "read write")
	other := w.register(t, w.tenantA.ID, cb, "read write")

	t.Run("redeemed twice", func(t *testing.T) {
		code := w.authorize(t, app, w.aliceA, cb, "read", "")
		g := w.exchange(t, w.tenantA.ID, codeRequest(app, code, cb))
		w.wantAuth(t, w.tenantA.ID, g.AccessToken)
		_, err := w.svc.Exchange(ctx, w.tenantA.ID, codeRequest(app, code, cb))
		wantOAuthError(t, err, oauth.ErrInvalidGrant)
		w.wantNoAuth(t, w.tenantA.ID, g.AccessToken)
		_, err = w.svc.Exchange(ctx, w.tenantA.ID, oauth.TokenRequest{GrantType: "refresh_token", ClientID: app.ClientID, ClientSecret: app.secret, RefreshToken: g.RefreshToken})
		wantOAuthError(t, err, oauth.ErrInvalidGrant)
	})

	t.Run("refreshed tokens of a replayed code are revoked too", func(t *testing.T) {
		code := w.authorize(t, app, w.aliceA, cb, "read", "")
		g := w.exchange(t, w.tenantA.ID, codeRequest(app, code, cb))
		g2 := w.exchange(t, w.tenantA.ID, oauth.TokenRequest{GrantType: "refresh_token", ClientID: app.ClientID, ClientSecret: app.secret, RefreshToken: g.RefreshToken})
		w.wantAuth(t, w.tenantA.ID, g2.AccessToken)
		_, err := w.svc.Exchange(ctx, w.tenantA.ID, codeRequest(app, code, cb))
		wantOAuthError(t, err, oauth.ErrInvalidGrant)
		w.wantNoAuth(t, w.tenantA.ID, g2.AccessToken)
	})

	t.Run("another app's code", func(t *testing.T) {
		code := w.authorize(t, app, w.aliceA, cb, "read", "")
		_, err := w.svc.Exchange(ctx, w.tenantA.ID, codeRequest(other, code, cb))
		wantOAuthError(t, err, oauth.ErrInvalidGrant)
		// Refused without spending it: its own app still redeems it.
		w.exchange(t, w.tenantA.ID, codeRequest(app, code, cb))
	})

	t.Run("another redirect URI", func(t *testing.T) {
		code := w.authorize(t, app, w.aliceA, cb, "read", "")
		for _, bad := range []string{oauth.OOB, cb + "/", ""} {
			_, err := w.svc.Exchange(ctx, w.tenantA.ID, codeRequest(app, code, bad))
			if e, _ := oauth.AsError(err); e == nil || (e.Code != oauth.ErrInvalidGrant && e.Code != oauth.ErrInvalidRequest) {
				t.Fatalf("redirect_uri %q: %v", bad, err)
			}
		}
	})

	t.Run("expired", func(t *testing.T) {
		code := w.authorize(t, app, w.aliceA, cb, "read", "")
		w.clock.Add(oauth.CodeTTL + time.Second)
		_, err := w.svc.Exchange(ctx, w.tenantA.ID, codeRequest(app, code, cb))
		wantOAuthError(t, err, oauth.ErrInvalidGrant)
	})

	t.Run("client authentication", func(t *testing.T) {
		code := w.authorize(t, app, w.aliceA, cb, "read", "")
		for _, r := range []oauth.TokenRequest{
			{ClientID: app.ClientID, ClientSecret: other.secret},
			{ClientID: app.ClientID, ClientSecret: app.secret + "x"},
			{ClientID: "nobody", ClientSecret: app.secret},
			{ClientSecret: app.secret},
			{ClientID: app.ClientID},
		} {
			r.GrantType, r.Code, r.RedirectURI = "authorization_code", code, cb
			_, err := w.svc.Exchange(ctx, w.tenantA.ID, r)
			wantOAuthError(t, err, oauth.ErrInvalidClient)
			if e, _ := oauth.AsError(err); e.Status() != 401 || !errs.Is(err, errs.Unauthorized) {
				t.Fatalf("invalid_client: status %d, errs code %s", e.Status(), errs.CodeOf(err))
			}
		}
		// None of that spent the code.
		w.exchange(t, w.tenantA.ID, codeRequest(app, code, cb))
	})

	t.Run("unknown grant type", func(t *testing.T) {
		_, err := w.svc.Exchange(ctx, w.tenantA.ID, oauth.TokenRequest{GrantType: "password", ClientID: app.ClientID, ClientSecret: app.secret})
		wantOAuthError(t, err, oauth.ErrUnsupportedGrantType)
		_, err = w.svc.Exchange(ctx, w.tenantA.ID, oauth.TokenRequest{ClientID: app.ClientID, ClientSecret: app.secret})
		wantOAuthError(t, err, oauth.ErrInvalidRequest)
	})

	t.Run("concurrent redemptions", func(t *testing.T) {
		code := w.authorize(t, app, w.aliceA, cb, "read", "")
		const n = 8
		var wg sync.WaitGroup
		grants := make(chan *oauth.Grant, n)
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				g, err := w.svc.Exchange(ctx, w.tenantA.ID, codeRequest(app, code, cb))
				if err == nil {
					grants <- g
				} else if e, ok := oauth.AsError(err); !ok || e.Code != oauth.ErrInvalidGrant {
					t.Errorf("concurrent exchange: %v", err)
				}
			}()
		}
		wg.Wait()
		close(grants)
		var won []*oauth.Grant
		for g := range grants {
			won = append(won, g)
		}
		if len(won) != 1 {
			t.Fatalf("%d concurrent redemptions succeeded, want 1", len(won))
		}
		// The losers were replays, and replays revoke.
		w.wantNoAuth(t, w.tenantA.ID, won[0].AccessToken)
	})
}

func TestOAuthClientCredentials(t *testing.T) {
	t.Parallel()
	w := newOAuthWorld(t)
	ctx := context.Background()
	app := w.register(t, w.tenantA.ID, oauth.OOB, "read write")
	g := w.exchange(t, w.tenantA.ID, oauth.TokenRequest{GrantType: "client_credentials", ClientID: app.ClientID, ClientSecret: app.secret})
	if g.RefreshToken != "" || g.Token.AccountID != 0 || g.Token.Scopes.String() != "read" {
		t.Fatalf("client_credentials grant %+v, token %+v", g, g.Token)
	}
	tok := w.wantAuth(t, w.tenantA.ID, g.AccessToken)
	if tok.AccountID != 0 || tok.AppID != app.ID {
		t.Fatalf("app token %+v", tok)
	}
	g = w.exchange(t, w.tenantA.ID, oauth.TokenRequest{GrantType: "client_credentials", ClientID: app.ClientID, ClientSecret: app.secret, Scope: "write read"})
	if g.Token.Scopes.String() != "read write" {
		t.Fatalf("scopes %v", g.Token.Scopes)
	}
	_, err := w.svc.Exchange(ctx, w.tenantA.ID, oauth.TokenRequest{GrantType: "client_credentials", ClientID: app.ClientID})
	wantOAuthError(t, err, oauth.ErrInvalidClient)
	// The tenant binding: A's app does not exist on B.
	_, err = w.svc.Exchange(ctx, w.tenantB.ID, oauth.TokenRequest{GrantType: "client_credentials", ClientID: app.ClientID, ClientSecret: app.secret})
	wantOAuthError(t, err, oauth.ErrInvalidClient)
}

func TestOAuthRefresh(t *testing.T) {
	t.Parallel()
	w := newOAuthWorld(t)
	ctx := context.Background()
	app := w.register(t, w.tenantA.ID, cb, "read write")
	other := w.register(t, w.tenantA.ID, cb, "read write")
	refresh := func(a testApp, token, scope string) (*oauth.Grant, error) {
		return w.svc.Exchange(ctx, w.tenantA.ID, oauth.TokenRequest{GrantType: "refresh_token", ClientID: a.ClientID, ClientSecret: a.secret, RefreshToken: token, Scope: scope})
	}

	g := w.exchange(t, w.tenantA.ID, codeRequest(app, w.authorize(t, app, w.aliceA, cb, "read write", ""), cb))

	// Another app, an unknown token, a widened scope: refused, nothing spent.
	_, err := refresh(other, g.RefreshToken, "")
	wantOAuthError(t, err, oauth.ErrInvalidGrant)
	_, err = refresh(app, "nope", "")
	wantOAuthError(t, err, oauth.ErrInvalidGrant)
	_, err = refresh(app, g.RefreshToken, "read write follow")
	wantOAuthError(t, err, oauth.ErrInvalidScope)
	_, err = w.svc.Exchange(ctx, w.tenantA.ID, oauth.TokenRequest{GrantType: "refresh_token", ClientID: app.ClientID, RefreshToken: g.RefreshToken})
	wantOAuthError(t, err, oauth.ErrInvalidClient)
	_, err = w.svc.Exchange(ctx, w.tenantB.ID, oauth.TokenRequest{GrantType: "refresh_token", ClientID: app.ClientID, ClientSecret: app.secret, RefreshToken: g.RefreshToken})
	wantOAuthError(t, err, oauth.ErrInvalidClient)
	w.wantAuth(t, w.tenantA.ID, g.AccessToken)

	// Rotation: new tokens; the old pair stops working.
	g2, err := refresh(app, g.RefreshToken, "read")
	if err != nil {
		t.Fatal(err)
	}
	if g2.AccessToken == g.AccessToken || g2.RefreshToken == "" || g2.RefreshToken == g.RefreshToken ||
		g2.Token.Scopes.String() != "read" || g2.Token.AccountID != w.aliceA {
		t.Fatalf("refreshed grant %+v, token %+v", g2, g2.Token)
	}
	w.wantNoAuth(t, w.tenantA.ID, g.AccessToken)
	w.wantAuth(t, w.tenantA.ID, g2.AccessToken)

	g3, err := refresh(app, g2.RefreshToken, "")
	if err != nil || g3.Token.Scopes.String() != "read" {
		t.Fatalf("second refresh = %+v, %v", g3, err)
	}
	w.wantAuth(t, w.tenantA.ID, g3.AccessToken)

	// The rotated-away refresh token, presented again, ends the session.
	_, err = refresh(app, g.RefreshToken, "")
	wantOAuthError(t, err, oauth.ErrInvalidGrant)
	w.wantNoAuth(t, w.tenantA.ID, g3.AccessToken)
	_, err = refresh(app, g3.RefreshToken, "")
	wantOAuthError(t, err, oauth.ErrInvalidGrant)
}

func TestOAuthRevoke(t *testing.T) {
	t.Parallel()
	w := newOAuthWorld(t)
	ctx := context.Background()
	app := w.register(t, w.tenantA.ID, cb, "read")
	other := w.register(t, w.tenantA.ID, cb, "read")
	issue := func() *oauth.Grant {
		return w.exchange(t, w.tenantA.ID, codeRequest(app, w.authorize(t, app, w.aliceA, cb, "read", ""), cb))
	}

	g := issue()
	// Unknown tokens, or another app's, are not errors and revoke nothing.
	for _, tok := range []string{"unknown", strings.Repeat("x", 500)} {
		if err := w.svc.Revoke(ctx, w.tenantA.ID, app.ClientID, app.secret, tok); err != nil {
			t.Fatalf("Revoke(%q) = %v", tok, err)
		}
	}
	if err := w.svc.Revoke(ctx, w.tenantA.ID, other.ClientID, other.secret, g.AccessToken); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.Revoke(ctx, w.tenantB.ID, app.ClientID, app.secret, g.AccessToken); !errs.Is(err, errs.Unauthorized) {
		t.Fatalf("Revoke on another tenant = %v", err)
	}
	err := w.svc.Revoke(ctx, w.tenantA.ID, app.ClientID, app.secret+"x", g.AccessToken)
	wantOAuthError(t, err, oauth.ErrInvalidClient)
	w.wantAuth(t, w.tenantA.ID, g.AccessToken)

	if err := w.svc.Revoke(ctx, w.tenantA.ID, app.ClientID, app.secret, g.AccessToken); err != nil {
		t.Fatal(err)
	}
	w.wantNoAuth(t, w.tenantA.ID, g.AccessToken)
	_, err = w.svc.Exchange(ctx, w.tenantA.ID, oauth.TokenRequest{GrantType: "refresh_token", ClientID: app.ClientID, ClientSecret: app.secret, RefreshToken: g.RefreshToken})
	wantOAuthError(t, err, oauth.ErrInvalidGrant)

	// By refresh token: the access token goes with it.
	g = issue()
	if err := w.svc.Revoke(ctx, w.tenantA.ID, app.ClientID, app.secret, g.RefreshToken); err != nil {
		t.Fatal(err)
	}
	w.wantNoAuth(t, w.tenantA.ID, g.AccessToken)
}

func TestOAuthTenantBinding(t *testing.T) {
	t.Parallel()
	w := newOAuthWorld(t)
	ctx := context.Background()
	appA := w.register(t, w.tenantA.ID, cb, "read")
	appB := w.register(t, w.tenantB.ID, cb, "read")

	// An account of tenant B cannot be authorized for tenant A's app.
	_, err := w.svc.Authorize(ctx, appA.App, w.aliceB, cb, "read", "", "")
	if !errs.Is(err, errs.NotFound) {
		t.Fatalf("Authorize for another tenant's account = %v", err)
	}
	codeA := w.authorize(t, appA, w.aliceA, cb, "read", "")
	_, err = w.svc.Exchange(ctx, w.tenantB.ID, codeRequest(appA, codeA, cb))
	wantOAuthError(t, err, oauth.ErrInvalidClient)
	_, err = w.svc.Exchange(ctx, w.tenantB.ID, codeRequest(appB, codeA, cb))
	wantOAuthError(t, err, oauth.ErrInvalidGrant)
	gA := w.exchange(t, w.tenantA.ID, codeRequest(appA, codeA, cb))
	w.wantAuth(t, w.tenantA.ID, gA.AccessToken)
	w.wantNoAuth(t, w.tenantB.ID, gA.AccessToken)

	gB := w.exchange(t, w.tenantB.ID, codeRequest(appB, w.authorize(t, appB, w.aliceB, cb, "read", ""), cb))
	if tok := w.wantAuth(t, w.tenantB.ID, gB.AccessToken); tok.AccountID != w.aliceB || tok.TenantID != w.tenantB.ID {
		t.Fatalf("B's token %+v", tok)
	}
	w.wantNoAuth(t, w.tenantA.ID, gB.AccessToken)
	if _, err := w.svc.App(ctx, w.tenantB.ID, appA.ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("App across tenants = %v", err)
	}
}

func TestOAuthLogin(t *testing.T) {
	t.Parallel()
	w := newOAuthWorld(t)
	ctx := context.Background()
	// The login owns a second, newer account on a.example, and bob has
	// his own login.
	addAccount(t, w.db, w.tenantA.ID, "a.example", "alice2", "alice@mail.example")
	bob := addAccount(t, w.db, w.tenantA.ID, "a.example", "bob", "bob@mail.example")

	id, name, err := w.store.Login(ctx, w.tenantA.ID, "a.example", " Alice@Mail.Example ", oauthPassword)
	if err != nil || id != w.aliceA || name != "alice" {
		t.Fatalf("Login = %d, %q, %v; want alice of a.example", id, name, err)
	}
	id, _, err = w.store.Login(ctx, w.tenantB.ID, "b.example", "alice@mail.example", oauthPassword)
	if err != nil || id != w.aliceB {
		t.Fatalf("Login on B = %d, %v", id, err)
	}
	id, name, err = w.store.Login(ctx, w.tenantA.ID, "a.example", "bob@mail.example", oauthPassword)
	if err != nil || id != bob || name != "bob" {
		t.Fatalf("Login bob = %d, %q, %v", id, name, err)
	}

	var msg string
	for _, c := range []struct {
		tenantID              int64
		domain, email, passwd string
	}{
		{w.tenantA.ID, "a.example", "alice@mail.example", "wrong password"},
		{w.tenantA.ID, "a.example", "alice@mail.example", ""},
		{w.tenantA.ID, "a.example", "nobody@mail.example", oauthPassword},
		{w.tenantA.ID, "a.example", "", oauthPassword},
		{w.tenantA.ID, "b.example", "alice@mail.example", oauthPassword},        // B's domain asked of tenant A
		{w.tenantB.ID, "a.example", "alice@mail.example", oauthPassword},        // A's domain asked of tenant B
		{w.tenantB.ID, "social.b.example", "alice@mail.example", oauthPassword}, // a service domain has no accounts
		{w.tenantB.ID, "b.example", "bob@mail.example", oauthPassword},          // bob has no account on B
	} {
		id, _, err := w.store.Login(ctx, c.tenantID, c.domain, c.email, c.passwd)
		if !errs.Is(err, errs.Unauthorized) || id != 0 {
			t.Fatalf("Login(%d, %s, %s) = %d, %v; want unauthorized", c.tenantID, c.domain, c.email, id, err)
		}
		if msg == "" {
			msg = errs.MessageOf(err)
		} else if errs.MessageOf(err) != msg {
			t.Fatalf("Login failures differ: %q vs %q", msg, errs.MessageOf(err))
		}
	}
	if strings.Contains(strings.ToLower(msg), "unknown") || strings.Contains(strings.ToLower(msg), "no such") {
		t.Fatalf("login failure message %q tells which", msg)
	}
}
