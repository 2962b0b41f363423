package oauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"github.com/roost-social/roost/internal/text"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/roost-social/roost/internal/errs"
)

// OOB is the redirect URI of apps that cannot receive a redirect: the
// code is shown to the user, who pastes it into the app.
const OOB = "urn:ietf:wg:oauth:2.0:oob"

// CodeTTL is how long an authorization code may be redeemed.
const CodeTTL = 10 * time.Minute

// touchEvery bounds how often a token's last_used_at is written.
const touchEvery = time.Minute

// Limits on what an app registers (the schema checks them too).
const (
	maxNameRunes    = 200
	maxURILen       = 2000
	maxRedirectURIs = 16
)

// App is a client application registered on one tenant.
type App struct {
	ID           int64
	TenantID     int64
	Name         string
	Website      string // empty when none
	RedirectURIs []string
	Scopes       Scopes
	ClientID     string
	CreatedAt    time.Time
}

// AllowsRedirectURI reports whether uri is one of the app's registered
// redirect URIs, byte for byte: no normalisation, no prefix matching.
func (a *App) AllowsRedirectURI(uri string) bool {
	return uri != "" && slices.Contains(a.RedirectURIs, uri)
}

// Code is a stored authorization code; the code itself is never stored,
// only its SHA-256 Hash.
type Code struct {
	Hash                []byte
	AppID               int64
	AccountID           int64
	RedirectURI         string
	Scopes              Scopes
	CodeChallenge       string // empty without PKCE
	CodeChallengeMethod string
	ExpiresAt           time.Time
}

// NewToken is a token to store: hashes only.
type NewToken struct {
	TenantID    int64
	AppID       int64
	AccountID   int64 // zero for an app-only token
	TokenHash   []byte
	RefreshHash []byte // nil: no refresh token
	// CodeHash is the authorization code the token descends from (through
	// refreshes too): a replayed code revokes every token issued from it.
	CodeHash []byte
	Scopes   Scopes
}

// StoredToken is a live token as the Store keeps it.
type StoredToken struct {
	Token
	CodeHash   []byte
	LastUsedAt time.Time // zero: never used
}

// Store persists apps, codes and tokens. Every lookup is scoped by tenant
// (codes through their app). Implementations MUST be safe for concurrent
// use.
type Store interface {
	// CreateApp stores app (its ID and CreatedAt are set) with the hash
	// of its client secret.
	CreateApp(ctx context.Context, app *App, secretHash []byte) error
	// AppByClientID returns the tenant's app and its secret hash, or
	// errs.NotFound (also for another tenant's app).
	AppByClientID(ctx context.Context, tenantID int64, clientID string) (*App, []byte, error)
	// AppByID returns the tenant's app, or errs.NotFound.
	AppByID(ctx context.Context, tenantID, appID int64) (*App, error)

	// CreateCode stores c, or returns errs.NotFound if c.AccountID is not
	// a local account of tenantID.
	CreateCode(ctx context.Context, tenantID int64, c *Code) error
	// RedeemCode atomically marks the unused code codeHash of appID used
	// and, in the same transaction, calls issue with it; the token issue
	// returns is stored and returned. When issue fails the code stays
	// used (a bad attempt burns it) and no token is stored. A code that
	// is unknown, of another app or used already is errs.NotFound. A
	// concurrent redemption waits for this one to commit.
	RedeemCode(ctx context.Context, codeHash []byte, appID int64, issue func(*Code) (*NewToken, error)) (*Token, error)
	// RevokeCodeTokens revokes every token of appID issued from the code.
	RevokeCodeTokens(ctx context.Context, codeHash []byte, appID int64) (int64, error)

	// CreateToken stores t.
	CreateToken(ctx context.Context, t *NewToken) (*Token, error)
	// RotateRefresh atomically revokes the live token of (tenantID,
	// appID) whose refresh hash is refreshHash and stores the token issue
	// returns for it. When issue fails nothing changes. An unknown,
	// revoked or foreign refresh token is errs.NotFound.
	RotateRefresh(ctx context.Context, tenantID, appID int64, refreshHash []byte, issue func(old *StoredToken) (*NewToken, error)) (*Token, error)
	// RevokeRefreshFamily revokes every token descending from the same
	// authorization code as the (revoked) token of refreshHash: a rotated
	// refresh token presented again means it leaked.
	RevokeRefreshFamily(ctx context.Context, tenantID, appID int64, refreshHash []byte) (int64, error)
	// RevokeToken revokes the app's token whose access or refresh hash is
	// hash; an unknown one is not an error.
	RevokeToken(ctx context.Context, tenantID, appID int64, hash []byte) error

	// TokenByHash returns the tenant's live (unrevoked) token by access
	// token hash, with its app's name and website, or errs.NotFound. It is
	// the hot path of every API request: one indexed query.
	TokenByHash(ctx context.Context, tenantID int64, tokenHash []byte) (*StoredToken, error)
	// TouchToken sets the token's last use to at.
	TouchToken(ctx context.Context, tokenID int64, at time.Time) error
}

// Logins checks a user's email and password on a tenant's handle domain.
type Logins interface {
	// Login returns the local account, on domain of tenantID, of the login
	// with email and password (the oldest, when it owns several there). A
	// wrong email or password, or a login without an account there, is
	// errs.Unauthorized with a message that does not say which.
	Login(ctx context.Context, tenantID int64, domain, email, password string) (accountID int64, username string, err error)
}

// RFC 6749 error codes (§4.1.2.1, §5.2) and RFC 7009's.
const (
	ErrInvalidRequest          = "invalid_request"
	ErrInvalidClient           = "invalid_client"
	ErrInvalidGrant            = "invalid_grant"
	ErrUnauthorizedClient      = "unauthorized_client"
	ErrUnsupportedGrantType    = "unsupported_grant_type"
	ErrInvalidScope            = "invalid_scope"
	ErrAccessDenied            = "access_denied"
	ErrUnsupportedResponseType = "unsupported_response_type"
	ErrUnsupportedTokenType    = "unsupported_token_type"
	ErrServerError             = "server_error"
)

// Error is an OAuth 2 protocol error: an RFC 6749 code and a description
// fit for the client. It unwraps to an *errs.Error (Unauthorized for
// invalid_client, Invalid otherwise), so errs.CodeOf works on it.
type Error struct {
	Code        string
	Description string
	Err         error // the cause, for logs only
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Description + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Description
}

// Unwrap gives the errs view of the error.
func (e *Error) Unwrap() error {
	code := errs.Invalid
	switch e.Code {
	case ErrInvalidClient:
		code = errs.Unauthorized
	case ErrAccessDenied, ErrUnauthorizedClient:
		code = errs.Forbidden
	case ErrServerError:
		code = errs.Internal
	}
	return &errs.Error{Code: code, Message: e.Description, Err: e.Err}
}

// Status is the HTTP status of the error at the token endpoint: 401 for
// invalid_client, 400 otherwise (RFC 6749 §5.2).
func (e *Error) Status() int {
	if e.Code == ErrInvalidClient {
		return 401
	}
	return 400
}

// AsError returns err's *Error, if it carries one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

func oauthErr(code, description string) *Error { return &Error{Code: code, Description: description} }

var (
	errClient = oauthErr(ErrInvalidClient,
		"Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.")
	errGrant = oauthErr(ErrInvalidGrant,
		"The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.")
	errScope = oauthErr(ErrInvalidScope, "The requested scope is invalid, unknown, or malformed.")
)

// errTokenInvalid is every failed Authenticate, whatever the reason.
var errTokenInvalid = errs.E(errs.Unauthorized, "The access token is invalid")

// Service applies OAuth 2 on top of a Store.
type Service struct {
	Store Store
	Now   func() time.Time // time.Now when nil
}

var _ Authenticator = (*Service)(nil)

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// RegisterApp registers an app on a tenant and returns it with its client
// secret, which is shown this once: only its hash is kept. redirectURIs
// is a whitespace-separated list of absolute URIs (or OOB); scopes a
// space-separated list (DefaultScopes when empty).
func (s *Service) RegisterApp(ctx context.Context, tenantID int64, name, website, redirectURIs, scopes string) (*App, string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, "", errs.E(errs.Invalid, "client_name can't be blank")
	}
	if utf8.RuneCountInString(name) > maxNameRunes || !utf8.ValidString(name) || hasControl(name) {
		return nil, "", errs.E(errs.Invalid, "client_name must be at most %d characters, without control characters", maxNameRunes)
	}
	website = strings.TrimSpace(website)
	if website != "" && !validWebsite(website) {
		return nil, "", errs.E(errs.Invalid, "website must be an http or https URL")
	}
	var uris []string
	for _, u := range strings.Fields(redirectURIs) {
		if !slices.Contains(uris, u) {
			uris = append(uris, u)
		}
	}
	if len(uris) == 0 {
		return nil, "", errs.E(errs.Invalid, "redirect_uris can't be blank")
	}
	if len(uris) > maxRedirectURIs {
		return nil, "", errs.E(errs.Invalid, "at most %d redirect_uris", maxRedirectURIs)
	}
	for _, u := range uris {
		if err := checkRedirectURI(u); err != nil {
			return nil, "", err
		}
	}
	sc, err := ParseScopes(scopes)
	if err != nil {
		return nil, "", err
	}
	clientID, secret := newSecret(), newSecret()
	app := &App{TenantID: tenantID, Name: name, Website: website, RedirectURIs: uris, Scopes: sc, ClientID: clientID}
	if err := s.Store.CreateApp(ctx, app, hash(secret)); err != nil {
		return nil, "", err
	}
	return app, secret, nil
}

// checkRedirectURI accepts OOB and absolute URIs without a fragment,
// credentials, whitespace or non-ASCII, and refuses schemes a browser
// would run or read locally.
func checkRedirectURI(raw string) error {
	bad := func(why string) error {
		return errs.E(errs.Invalid, "redirect_uri %q %s", text.Clip(raw, 100), why)
	}
	if raw == OOB {
		return nil
	}
	if len(raw) > maxURILen {
		return bad("is too long")
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] <= ' ' || raw[i] >= 0x7f {
			return bad("must be ASCII without spaces or control characters")
		}
	}
	if strings.Contains(raw, "#") {
		return bad("must not have a fragment")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || !validScheme(u.Scheme) {
		return bad("must be an absolute URI")
	}
	scheme := strings.ToLower(u.Scheme)
	switch scheme {
	case "javascript", "data", "vbscript", "file", "blob", "about", "filesystem":
		return bad("has a forbidden scheme")
	case "http", "https":
		if u.Host == "" || u.Opaque != "" {
			return bad("must name a host")
		}
	default:
		if u.Host == "" && u.Opaque == "" && u.Path == "" {
			return bad("must be an absolute URI")
		}
	}
	if u.User != nil {
		return bad("must not carry credentials")
	}
	return nil
}

func validScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

func validWebsite(raw string) bool {
	if len(raw) > maxURILen || hasControl(raw) || strings.ContainsAny(raw, " \t") {
		return false
	}
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			return true
		}
	}
	return false
}

// AppByClientID returns the tenant's app with that client_id, or
// errs.NotFound.
func (s *Service) AppByClientID(ctx context.Context, tenantID int64, clientID string) (*App, error) {
	if clientID == "" || len(clientID) > 200 {
		return nil, errs.E(errs.NotFound, "unknown client")
	}
	app, _, err := s.Store.AppByClientID(ctx, tenantID, clientID)
	return app, err
}

// App returns the tenant's app by id, or errs.NotFound.
func (s *Service) App(ctx context.Context, tenantID, appID int64) (*App, error) {
	return s.Store.AppByID(ctx, tenantID, appID)
}

// CheckAuthorization validates an authorization request for app and
// returns the scopes it asks for: redirectURI one of the app's, byte for
// byte (invalid_request); scope known and within the app's
// (invalid_scope); PKCE, when used, with method S256 (invalid_request).
// Callers check the redirect URI themselves first: an error about it must
// never be redirected to it.
func (s *Service) CheckAuthorization(app *App, redirectURI, scope, codeChallenge, method string) (Scopes, error) {
	if !app.AllowsRedirectURI(redirectURI) {
		return nil, oauthErr(ErrInvalidRequest, "The redirect_uri is not one registered for this application.")
	}
	sc, err := ParseScopes(scope)
	if err != nil || !sc.Within(app.Scopes) {
		return nil, errScope
	}
	switch {
	case codeChallenge == "" && method != "":
		return nil, oauthErr(ErrInvalidRequest, "code_challenge_method without code_challenge.")
	case codeChallenge == "":
	case method != "S256":
		return nil, oauthErr(ErrInvalidRequest, "code_challenge_method must be S256.")
	case !validPKCE(codeChallenge):
		return nil, oauthErr(ErrInvalidRequest, "code_challenge must be 43 to 128 characters of [A-Za-z0-9-._~].")
	}
	return sc, nil
}

// validPKCE reports whether s is a well-formed code verifier or challenge
// (RFC 7636 §4.1): 43 to 128 unreserved characters.
func validPKCE(s string) bool {
	if len(s) < 43 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// Authorize issues an authorization code for accountID, who approved app's
// request; see CheckAuthorization for the checks. The code is single-use
// and expires after CodeTTL.
func (s *Service) Authorize(ctx context.Context, app *App, accountID int64, redirectURI, scope, codeChallenge, method string) (string, error) {
	sc, err := s.CheckAuthorization(app, redirectURI, scope, codeChallenge, method)
	if err != nil {
		return "", err
	}
	if accountID <= 0 {
		return "", errs.E(errs.Invalid, "no account")
	}
	code := newSecret()
	c := &Code{
		Hash: hash(code), AppID: app.ID, AccountID: accountID, RedirectURI: redirectURI, Scopes: sc,
		CodeChallenge: codeChallenge, ExpiresAt: s.now().Add(CodeTTL),
	}
	if codeChallenge != "" {
		c.CodeChallengeMethod = method
	}
	if err := s.Store.CreateCode(ctx, app.TenantID, c); err != nil {
		return "", err
	}
	return code, nil
}

// TokenRequest is a token endpoint request (RFC 6749 §4.1.3, §4.4.2, §6).
type TokenRequest struct {
	GrantType    string
	ClientID     string
	ClientSecret string // empty for a public client redeeming a PKCE code
	Code         string
	RedirectURI  string
	CodeVerifier string
	RefreshToken string
	Scope        string
}

// Grant is what the token endpoint issued. The tokens are shown this once.
type Grant struct {
	AccessToken  string
	RefreshToken string // empty when none was issued
	Token        *Token
}

// Exchange serves the token endpoint on a tenant: authorization_code,
// client_credentials and refresh_token grants. Its failures are *Error
// with an RFC 6749 code; anything else is a server error.
func (s *Service) Exchange(ctx context.Context, tenantID int64, r TokenRequest) (*Grant, error) {
	switch r.GrantType {
	case "authorization_code":
		return s.exchangeCode(ctx, tenantID, r)
	case "client_credentials":
		return s.clientCredentials(ctx, tenantID, r)
	case "refresh_token":
		return s.refresh(ctx, tenantID, r)
	case "":
		return nil, oauthErr(ErrInvalidRequest, "grant_type is required.")
	}
	return nil, oauthErr(ErrUnsupportedGrantType, "The authorization grant type is not supported by the authorization server.")
}

// client identifies the app of clientID on the tenant and checks its
// secret when one is given; authenticated says whether one was.
func (s *Service) client(ctx context.Context, tenantID int64, clientID, secret string) (app *App, authenticated bool, err error) {
	if clientID == "" || len(clientID) > 200 || len(secret) > 200 {
		return nil, false, errClient
	}
	app, secretHash, err := s.Store.AppByClientID(ctx, tenantID, clientID)
	if errs.Is(err, errs.NotFound) {
		return nil, false, errClient
	}
	if err != nil {
		return nil, false, err
	}
	if secret == "" {
		return app, false, nil
	}
	if subtle.ConstantTimeCompare(hash(secret), secretHash) != 1 {
		return nil, false, errClient
	}
	return app, true, nil
}

func (s *Service) exchangeCode(ctx context.Context, tenantID int64, r TokenRequest) (*Grant, error) {
	app, authenticated, err := s.client(ctx, tenantID, r.ClientID, r.ClientSecret)
	if err != nil {
		return nil, err
	}
	if !authenticated && r.CodeVerifier == "" {
		// A public client proves itself with the PKCE verifier alone.
		return nil, errClient
	}
	if r.Code == "" || len(r.Code) > 200 {
		return nil, oauthErr(ErrInvalidRequest, "code is required.")
	}
	if r.RedirectURI == "" {
		return nil, oauthErr(ErrInvalidRequest, "redirect_uri is required.")
	}
	codeHash := hash(r.Code)
	g := &Grant{AccessToken: newSecret()}
	if authenticated {
		g.RefreshToken = newSecret()
	}
	now := s.now()
	tok, err := s.Store.RedeemCode(ctx, codeHash, app.ID, func(c *Code) (*NewToken, error) {
		if !now.Before(c.ExpiresAt) || c.RedirectURI != r.RedirectURI {
			return nil, errGrant
		}
		if c.CodeChallenge == "" {
			if r.CodeVerifier != "" {
				// No challenge was sent: a verifier now is a downgrade attempt.
				return nil, errGrant
			}
		} else if !verifyPKCE(c.CodeChallenge, r.CodeVerifier) {
			return nil, errGrant
		}
		return &NewToken{
			TenantID: tenantID, AppID: app.ID, AccountID: c.AccountID, Scopes: c.Scopes, CodeHash: codeHash,
			TokenHash: hash(g.AccessToken), RefreshHash: optHash(g.RefreshToken),
		}, nil
	})
	if errs.Is(err, errs.NotFound) {
		// Unknown, another app's, or redeemed already: if redeemed by this
		// app, whoever holds it now is not who should (RFC 6749 §4.1.2).
		if _, rerr := s.Store.RevokeCodeTokens(ctx, codeHash, app.ID); rerr != nil {
			return nil, rerr
		}
		return nil, errGrant
	}
	if err != nil {
		return nil, err
	}
	return s.grant(g, tok, app), nil
}

// verifyPKCE checks verifier against an S256 challenge in constant time.
func verifyPKCE(challenge, verifier string) bool {
	if !validPKCE(verifier) {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	want := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}

func (s *Service) clientCredentials(ctx context.Context, tenantID int64, r TokenRequest) (*Grant, error) {
	app, authenticated, err := s.client(ctx, tenantID, r.ClientID, r.ClientSecret)
	if err != nil {
		return nil, err
	}
	if !authenticated {
		return nil, errClient
	}
	sc, err := ParseScopes(r.Scope)
	if err != nil || !sc.Within(app.Scopes) {
		return nil, errScope
	}
	g := &Grant{AccessToken: newSecret()}
	tok, err := s.Store.CreateToken(ctx, &NewToken{TenantID: tenantID, AppID: app.ID, TokenHash: hash(g.AccessToken), Scopes: sc})
	if err != nil {
		return nil, err
	}
	return s.grant(g, tok, app), nil
}

func (s *Service) refresh(ctx context.Context, tenantID int64, r TokenRequest) (*Grant, error) {
	app, authenticated, err := s.client(ctx, tenantID, r.ClientID, r.ClientSecret)
	if err != nil {
		return nil, err
	}
	if !authenticated {
		return nil, errClient
	}
	if r.RefreshToken == "" || len(r.RefreshToken) > 200 {
		return nil, oauthErr(ErrInvalidRequest, "refresh_token is required.")
	}
	var asked Scopes
	if strings.TrimSpace(r.Scope) != "" {
		if asked, err = ParseScopes(r.Scope); err != nil {
			return nil, errScope
		}
	}
	oldHash := hash(r.RefreshToken)
	g := &Grant{AccessToken: newSecret(), RefreshToken: newSecret()}
	tok, err := s.Store.RotateRefresh(ctx, tenantID, app.ID, oldHash, func(old *StoredToken) (*NewToken, error) {
		sc := old.Scopes
		if asked != nil {
			// A refresh may narrow the scopes, never widen them (RFC 6749 §6).
			if !asked.Within(old.Scopes) {
				return nil, errScope
			}
			sc = asked
		}
		return &NewToken{
			TenantID: tenantID, AppID: app.ID, AccountID: old.AccountID, Scopes: sc, CodeHash: old.CodeHash,
			TokenHash: hash(g.AccessToken), RefreshHash: hash(g.RefreshToken),
		}, nil
	})
	if errs.Is(err, errs.NotFound) {
		// A refresh token that was rotated away, presented again, has
		// leaked: end the whole session (RFC 9700 §4.14.2).
		if _, rerr := s.Store.RevokeRefreshFamily(ctx, tenantID, app.ID, oldHash); rerr != nil {
			return nil, rerr
		}
		return nil, errGrant
	}
	if err != nil {
		return nil, err
	}
	return s.grant(g, tok, app), nil
}

func (s *Service) grant(g *Grant, tok *Token, app *App) *Grant {
	tok.AppName, tok.AppWebsite = app.Name, app.Website
	g.Token = tok
	return g
}

// Revoke revokes an access or refresh token of the app (RFC 7009). The app
// is identified by clientID; a secret, when given, must be right. An
// unknown token, or another app's, is not an error and revokes nothing.
func (s *Service) Revoke(ctx context.Context, tenantID int64, clientID, clientSecret, token string) error {
	app, _, err := s.client(ctx, tenantID, clientID, clientSecret)
	if err != nil {
		return err
	}
	if token == "" {
		return oauthErr(ErrInvalidRequest, "token is required.")
	}
	if len(token) > 200 {
		return nil
	}
	return s.Store.RevokeToken(ctx, tenantID, app.ID, hash(token))
}

// Authenticate resolves a bearer token on a tenant. A token unknown,
// revoked or issued on another tenant is errs.Unauthorized, alike.
func (s *Service) Authenticate(ctx context.Context, tenantID int64, bearer string) (*Token, error) {
	if bearer == "" || len(bearer) > 200 {
		return nil, errTokenInvalid
	}
	st, err := s.Store.TokenByHash(ctx, tenantID, hash(bearer))
	if errs.Is(err, errs.NotFound) {
		return nil, errTokenInvalid
	}
	if err != nil {
		return nil, err
	}
	if now := s.now(); st.LastUsedAt.IsZero() || now.Sub(st.LastUsedAt) >= touchEvery {
		// Bookkeeping only: a failure must not fail the request.
		_ = s.Store.TouchToken(ctx, st.ID, now)
	}
	tok := st.Token
	return &tok, nil
}

// newSecret returns 32 random bytes, base64url without padding.
func newSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hash is how tokens, codes and secrets are stored: SHA-256.
func hash(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

func optHash(secret string) []byte {
	if secret == "" {
		return nil
	}
	return hash(secret)
}
