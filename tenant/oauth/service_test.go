package oauth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-social/roost/internal/errs"
)

// memStore is an in-memory Store: enough of the contract to drive the
// service's own rules (the SQL is tested in tenant/postgres).
type memStore struct {
	mu      sync.Mutex
	apps    []*App
	secrets map[int64][]byte
	codes   map[string]*Code
	used    map[string]bool
	tokens  []*StoredToken
	hashes  map[int64][]byte // token id -> access hash
	revoked map[int64]bool
	touched []time.Time
}

func newMemStore() *memStore {
	return &memStore{secrets: map[int64][]byte{}, codes: map[string]*Code{}, used: map[string]bool{},
		hashes: map[int64][]byte{}, revoked: map[int64]bool{}}
}

func (m *memStore) CreateApp(_ context.Context, app *App, secretHash []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	app.ID = int64(len(m.apps) + 1)
	m.apps = append(m.apps, app)
	m.secrets[app.ID] = secretHash
	return nil
}

func (m *memStore) AppByClientID(_ context.Context, tenantID int64, clientID string) (*App, []byte, error) {
	for _, a := range m.apps {
		if a.TenantID == tenantID && a.ClientID == clientID {
			return a, m.secrets[a.ID], nil
		}
	}
	return nil, nil, errs.E(errs.NotFound, "no app")
}

func (m *memStore) AppByID(_ context.Context, tenantID, appID int64) (*App, error) {
	for _, a := range m.apps {
		if a.TenantID == tenantID && a.ID == appID {
			return a, nil
		}
	}
	return nil, errs.E(errs.NotFound, "no app")
}

func (m *memStore) CreateCode(_ context.Context, _ int64, c *Code) error {
	m.codes[string(c.Hash)] = c
	return nil
}

func (m *memStore) RedeemCode(ctx context.Context, codeHash []byte, appID int64, issue func(*Code) (*NewToken, error)) (*Token, error) {
	c, ok := m.codes[string(codeHash)]
	if !ok || c.AppID != appID || m.used[string(codeHash)] {
		return nil, errs.E(errs.NotFound, "no code")
	}
	m.used[string(codeHash)] = true
	nt, err := issue(c)
	if err != nil {
		return nil, err
	}
	return m.CreateToken(ctx, nt)
}

func (m *memStore) RevokeCodeTokens(_ context.Context, codeHash []byte, _ int64) (int64, error) {
	var n int64
	for _, t := range m.tokens {
		if bytes.Equal(t.CodeHash, codeHash) && !m.revoked[t.ID] {
			m.revoked[t.ID] = true
			n++
		}
	}
	return n, nil
}

func (m *memStore) CreateToken(_ context.Context, t *NewToken) (*Token, error) {
	st := &StoredToken{Token: Token{ID: int64(len(m.tokens) + 1), TenantID: t.TenantID, AppID: t.AppID,
		AccountID: t.AccountID, Scopes: t.Scopes}, CodeHash: t.CodeHash}
	m.tokens = append(m.tokens, st)
	m.hashes[st.ID] = t.TokenHash
	return &st.Token, nil
}

func (m *memStore) RotateRefresh(context.Context, int64, int64, []byte, func(*StoredToken) (*NewToken, error)) (*Token, error) {
	return nil, errs.E(errs.NotFound, "no refresh token")
}

func (m *memStore) RevokeRefreshFamily(context.Context, int64, int64, []byte) (int64, error) {
	return 0, nil
}

func (m *memStore) RevokeToken(context.Context, int64, int64, []byte) error { return nil }

func (m *memStore) TokenByHash(_ context.Context, tenantID int64, tokenHash []byte) (*StoredToken, error) {
	for _, t := range m.tokens {
		if t.TenantID == tenantID && bytes.Equal(m.hashes[t.ID], tokenHash) && !m.revoked[t.ID] {
			cp := *t
			return &cp, nil
		}
	}
	return nil, errs.E(errs.NotFound, "no token")
}

func (m *memStore) TouchToken(_ context.Context, id int64, at time.Time) error {
	m.touched = append(m.touched, at)
	for _, t := range m.tokens {
		if t.ID == id {
			t.LastUsedAt = at
		}
	}
	return nil
}

// clock is an injected clock the tests move by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

const redirect = "https://app.example/cb"

// setup registers an app (read write) on tenant 1.
func setup(t *testing.T) (*Service, *memStore, *clock, *App, string) {
	t.Helper()
	store := newMemStore()
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	s := &Service{Store: store, Now: clk.now}
	app, secret, err := s.RegisterApp(context.Background(), 1, "App", "", redirect, "read write")
	if err != nil {
		t.Fatal(err)
	}
	return s, store, clk, app, secret
}

func challengeOf(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func codeOf(err error) string {
	if e, ok := AsError(err); ok {
		return e.Code
	}
	return ""
}

func TestScopesAllowsParentsAndLegacyFollow(t *testing.T) {
	cases := []struct {
		have  Scopes
		scope string
		want  bool
	}{
		{Scopes{"read"}, "read:statuses", true},
		{Scopes{"read"}, "read", true},
		{Scopes{"read"}, "write:statuses", false},
		{Scopes{"read:statuses"}, "read", false},
		{Scopes{"read:statuses"}, "read:lists", false},
		{Scopes{"admin:read"}, "admin:read:accounts", true},
		{Scopes{"admin:read"}, "admin:write:accounts", false},
		{Scopes{"follow"}, "write:follows", true},
		{Scopes{"follow"}, "read:blocks", true},
		{Scopes{"follow"}, "write:statuses", false},
		{Scopes{"write"}, "writes", false}, // a prefix is not a parent
		{nil, "read", false},
	}
	for _, c := range cases {
		if got := c.have.Allows(c.scope); got != c.want {
			t.Errorf("%v.Allows(%q) = %v, want %v", c.have, c.scope, got, c.want)
		}
	}
}

func TestParseScopes(t *testing.T) {
	got, err := ParseScopes("write read+read:lists,read")
	if err != nil || got.String() != "read read:lists write" {
		t.Fatalf("ParseScopes = %v, %v", got, err)
	}
	if got, _ := ParseScopes("  "); got.String() != "read" {
		t.Errorf("empty scope = %v, want the default", got)
	}
	if _, err := ParseScopes("read nope"); errs.CodeOf(err) != errs.Invalid || !strings.Contains(err.Error(), "nope") {
		t.Errorf("unknown scope: %v", err)
	}
	if !(Scopes{"read:lists"}).Within(Scopes{"read"}) || (Scopes{"write"}).Within(Scopes{"read"}) {
		t.Error("Within is wrong")
	}
}

func TestCheckAuthorizationPKCEAndScopes(t *testing.T) {
	s, _, _, app, _ := setup(t)
	ok := strings.Repeat("a", 43)
	cases := []struct {
		name, redirect, scope, challenge, method, code string
	}{
		{"foreign redirect", "https://evil.example/cb", "read", "", "", ErrInvalidRequest},
		{"redirect prefix", redirect + "/x", "read", "", "", ErrInvalidRequest},
		{"scope above the app's", redirect, "follow", "", "", ErrInvalidScope},
		{"unknown scope", redirect, "read bogus", "", "", ErrInvalidScope},
		{"method without challenge", redirect, "read", "", "S256", ErrInvalidRequest},
		{"plain method", redirect, "read", ok, "plain", ErrInvalidRequest},
		{"no method", redirect, "read", ok, "", ErrInvalidRequest},
		{"short challenge", redirect, "read", strings.Repeat("a", 42), "S256", ErrInvalidRequest},
		{"bad character", redirect, "read", strings.Repeat("a", 42) + "+", "S256", ErrInvalidRequest},
		{"S256", redirect, "read:statuses", ok, "S256", ""},
		{"no PKCE", redirect, "", "", "", ""},
	}
	for _, c := range cases {
		_, err := s.CheckAuthorization(app, c.redirect, c.scope, c.challenge, c.method)
		if got := codeOf(err); got != c.code || (c.code == "" && err != nil) {
			t.Errorf("%s: error %v (code %q), want code %q", c.name, err, got, c.code)
		}
	}
}

func TestExchangeCodeWithPKCE(t *testing.T) {
	ctx := context.Background()
	s, _, _, app, _ := setup(t)
	verifier := strings.Repeat("v", 50)
	code, err := s.Authorize(ctx, app, 7, redirect, "read", challengeOf(verifier), "S256")
	if err != nil {
		t.Fatal(err)
	}
	req := TokenRequest{GrantType: "authorization_code", ClientID: app.ClientID, Code: code, RedirectURI: redirect,
		CodeVerifier: strings.Repeat("w", 50)}
	// A wrong verifier burns the code.
	if _, err := s.Exchange(ctx, 1, req); codeOf(err) != ErrInvalidGrant {
		t.Fatalf("wrong verifier: %v", err)
	}
	code, _ = s.Authorize(ctx, app, 7, redirect, "read", challengeOf(verifier), "S256")
	req.Code, req.CodeVerifier = code, verifier
	g, err := s.Exchange(ctx, 1, req)
	if err != nil {
		t.Fatal(err)
	}
	if g.RefreshToken != "" {
		t.Error("a public client got a refresh token")
	}
	if g.Token.AccountID != 7 || g.Token.Scopes.String() != "read" {
		t.Errorf("token = %+v", g.Token)
	}
	// The same code again: refused, and the token it gave is revoked.
	if _, err := s.Exchange(ctx, 1, req); codeOf(err) != ErrInvalidGrant {
		t.Fatalf("replayed code: %v", err)
	}
	if _, err := s.Authenticate(ctx, 1, g.AccessToken); errs.CodeOf(err) != errs.Unauthorized {
		t.Errorf("token of a replayed code still works: %v", err)
	}
}

func TestExchangeCodeVerifierWithoutChallengeIsRefused(t *testing.T) {
	ctx := context.Background()
	s, _, _, app, secret := setup(t)
	code, err := s.Authorize(ctx, app, 7, redirect, "read", "", "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Exchange(ctx, 1, TokenRequest{GrantType: "authorization_code", ClientID: app.ClientID, ClientSecret: secret,
		Code: code, RedirectURI: redirect, CodeVerifier: strings.Repeat("v", 50)})
	if codeOf(err) != ErrInvalidGrant {
		t.Fatalf("downgrade: %v", err)
	}
}

func TestCodeExpiresAfterCodeTTL(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		after time.Duration
		ok    bool
	}{{CodeTTL - time.Second, true}, {CodeTTL, false}, {CodeTTL + time.Hour, false}} {
		s, _, clk, app, secret := setup(t)
		code, err := s.Authorize(ctx, app, 7, redirect, "read", "", "")
		if err != nil {
			t.Fatal(err)
		}
		clk.t = clk.t.Add(c.after)
		g, err := s.Exchange(ctx, 1, TokenRequest{GrantType: "authorization_code", ClientID: app.ClientID,
			ClientSecret: secret, Code: code, RedirectURI: redirect})
		if c.ok && (err != nil || g.RefreshToken == "") {
			t.Errorf("after %v: %v (a confidential client gets a refresh token)", c.after, err)
		}
		if !c.ok && codeOf(err) != ErrInvalidGrant {
			t.Errorf("after %v: %v, want invalid_grant", c.after, err)
		}
	}
}

func TestExchangeRefusesWrongClientAndRedirect(t *testing.T) {
	ctx := context.Background()
	s, _, _, app, secret := setup(t)
	code, _ := s.Authorize(ctx, app, 7, redirect, "read", "", "")
	base := TokenRequest{GrantType: "authorization_code", ClientID: app.ClientID, ClientSecret: secret, Code: code, RedirectURI: redirect}
	wrongSecret := base
	wrongSecret.ClientSecret = "nope"
	if _, err := s.Exchange(ctx, 1, wrongSecret); codeOf(err) != ErrInvalidClient {
		t.Errorf("wrong secret: %v", err)
	}
	if _, err := s.Exchange(ctx, 2, base); codeOf(err) != ErrInvalidClient {
		t.Errorf("another tenant: %v", err)
	}
	noProof := base
	noProof.ClientSecret = ""
	if _, err := s.Exchange(ctx, 1, noProof); codeOf(err) != ErrInvalidClient {
		t.Errorf("public client without a verifier: %v", err)
	}
	otherRedirect := base
	otherRedirect.RedirectURI = redirect + "?x"
	if _, err := s.Exchange(ctx, 1, otherRedirect); codeOf(err) != ErrInvalidGrant {
		t.Errorf("other redirect: %v", err)
	}
	if _, err := s.Exchange(ctx, 1, TokenRequest{}); codeOf(err) != ErrInvalidRequest {
		t.Errorf("no grant type: %v", err)
	}
	if _, err := s.Exchange(ctx, 1, TokenRequest{GrantType: "password"}); codeOf(err) != ErrUnsupportedGrantType {
		t.Errorf("password grant: %v", err)
	}
}

func TestAuthenticateIsPerTenantAndTouchesOncePerMinute(t *testing.T) {
	ctx := context.Background()
	s, store, clk, app, secret := setup(t)
	g, err := s.Exchange(ctx, 1, TokenRequest{GrantType: "client_credentials", ClientID: app.ClientID, ClientSecret: secret, Scope: "read"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, 2, g.AccessToken); errs.CodeOf(err) != errs.Unauthorized {
		t.Errorf("another tenant's token: %v", err)
	}
	for _, step := range []time.Duration{0, 30 * time.Second, 31 * time.Second} {
		clk.t = clk.t.Add(step)
		tok, err := s.Authenticate(ctx, 1, g.AccessToken)
		if err != nil || tok.AccountID != 0 {
			t.Fatalf("Authenticate = %+v, %v", tok, err)
		}
	}
	if len(store.touched) != 2 {
		t.Errorf("touched %d times over 61 s of use, want 2 (once a minute)", len(store.touched))
	}
}
