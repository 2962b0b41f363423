package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pgutil"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/oauth"
)

// OAuthStore implements oauth.Store and oauth.Logins on a pgx pool.
type OAuthStore struct {
	db *pgxpool.Pool
}

var (
	_ oauth.Store  = (*OAuthStore)(nil)
	_ oauth.Logins = (*OAuthStore)(nil)
)

// NewOAuthStore returns an OAuthStore on db.
func NewOAuthStore(db *pgxpool.Pool) *OAuthStore { return &OAuthStore{db: db} }

// querier is what a pool and a transaction share.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func scopesOf(s string) oauth.Scopes { return oauth.Scopes(strings.Fields(s)) }

// CreateApp stores app with its secret hash.
func (s *OAuthStore) CreateApp(ctx context.Context, app *oauth.App, secretHash []byte) error {
	err := s.db.QueryRow(ctx, `
		insert into oauth_apps (tenant_id, name, website, redirect_uris, scopes, client_id, client_secret_hash)
		values ($1, $2, nullif($3, ''), $4, $5, $6, $7)
		returning id, created_at`,
		app.TenantID, app.Name, app.Website, app.RedirectURIs, app.Scopes.String(), app.ClientID, secretHash).
		Scan(&app.ID, &app.CreatedAt)
	if err != nil {
		return fmt.Errorf("insert oauth app: %w", err)
	}
	return nil
}

const appColumns = `id, tenant_id, name, coalesce(website, ''), redirect_uris, scopes, client_id, created_at`

func scanApp(row pgx.Row, extra ...any) (*oauth.App, error) {
	a := &oauth.App{}
	var scopes string
	err := row.Scan(append([]any{&a.ID, &a.TenantID, &a.Name, &a.Website, &a.RedirectURIs, &scopes, &a.ClientID, &a.CreatedAt}, extra...)...)
	if err != nil {
		return nil, pgutil.NotFound(err, "unknown client")
	}
	a.Scopes = scopesOf(scopes)
	return a, nil
}

// AppByClientID returns the tenant's app and its secret hash.
func (s *OAuthStore) AppByClientID(ctx context.Context, tenantID int64, clientID string) (*oauth.App, []byte, error) {
	var secretHash []byte
	a, err := scanApp(s.db.QueryRow(ctx, `select `+appColumns+`, client_secret_hash from oauth_apps
		where client_id = $1 and tenant_id = $2`, clientID, tenantID), &secretHash)
	if err != nil {
		return nil, nil, err
	}
	return a, secretHash, nil
}

// AppByID returns the tenant's app.
func (s *OAuthStore) AppByID(ctx context.Context, tenantID, appID int64) (*oauth.App, error) {
	return scanApp(s.db.QueryRow(ctx, `select `+appColumns+` from oauth_apps
		where id = $1 and tenant_id = $2`, appID, tenantID))
}

// CreateCode stores c if its account and app are the tenant's.
func (s *OAuthStore) CreateCode(ctx context.Context, tenantID int64, c *oauth.Code) error {
	tag, err := s.db.Exec(ctx, `
		insert into oauth_codes (code_hash, app_id, account_id, redirect_uri, scopes,
		                         code_challenge, code_challenge_method, expires_at)
		select $1, $2, $3, $4, $5, nullif($6, ''), nullif($7, ''), $8
		where exists (select 1 from accounts where id = $3 and tenant_id = $9)
		  and exists (select 1 from oauth_apps where id = $2 and tenant_id = $9)`,
		c.Hash, c.AppID, c.AccountID, c.RedirectURI, c.Scopes.String(),
		c.CodeChallenge, c.CodeChallengeMethod, c.ExpiresAt, tenantID)
	if err != nil {
		return fmt.Errorf("insert oauth code: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return errs.E(errs.NotFound, "no such account")
	}
	return nil
}

// RedeemCode marks the code used and issues its token in one transaction.
// The update's row lock makes a concurrent redemption wait, then find the
// code used; by then this one's token is committed and can be revoked.
func (s *OAuthStore) RedeemCode(ctx context.Context, codeHash []byte, appID int64, issue func(*oauth.Code) (*oauth.NewToken, error)) (*oauth.Token, error) {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	c := &oauth.Code{Hash: codeHash, AppID: appID}
	var scopes string
	err = tx.QueryRow(ctx, `
		update oauth_codes set used_at = now()
		where code_hash = $1 and app_id = $2 and used_at is null
		returning account_id, redirect_uri, scopes, coalesce(code_challenge, ''),
		          coalesce(code_challenge_method, ''), expires_at`, codeHash, appID).
		Scan(&c.AccountID, &c.RedirectURI, &scopes, &c.CodeChallenge, &c.CodeChallengeMethod, &c.ExpiresAt)
	if err != nil {
		return nil, pgutil.NotFound(err, "unknown code")
	}
	c.Scopes = scopesOf(scopes)
	nt, issueErr := issue(c)
	if issueErr != nil {
		// The attempt failed, but it spent the code.
		if err := tx.Commit(ctx); err != nil {
			return nil, err
		}
		return nil, issueErr
	}
	tok, err := insertToken(ctx, tx, nt)
	if err != nil {
		return nil, err
	}
	return tok, tx.Commit(ctx)
}

// RevokeCodeTokens revokes the app's tokens issued from the code.
func (s *OAuthStore) RevokeCodeTokens(ctx context.Context, codeHash []byte, appID int64) (int64, error) {
	tag, err := s.db.Exec(ctx, `update oauth_tokens set revoked_at = now()
		where code_hash = $1 and app_id = $2 and revoked_at is null`, codeHash, appID)
	if err != nil {
		return 0, fmt.Errorf("revoke code tokens: %w", err)
	}
	return tag.RowsAffected(), nil
}

func insertToken(ctx context.Context, q querier, t *oauth.NewToken) (*oauth.Token, error) {
	tok := &oauth.Token{TenantID: t.TenantID, AppID: t.AppID, AccountID: t.AccountID, Scopes: t.Scopes}
	err := q.QueryRow(ctx, `
		insert into oauth_tokens (tenant_id, app_id, account_id, token_hash, refresh_hash, code_hash, scopes)
		values ($1, $2, nullif($3::bigint, 0), $4, $5, $6, $7)
		returning id, created_at`,
		t.TenantID, t.AppID, t.AccountID, t.TokenHash, t.RefreshHash, t.CodeHash, t.Scopes.String()).
		Scan(&tok.ID, &tok.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("insert oauth token: %w", err)
	}
	return tok, nil
}

// CreateToken stores t.
func (s *OAuthStore) CreateToken(ctx context.Context, t *oauth.NewToken) (*oauth.Token, error) {
	return insertToken(ctx, s.db, t)
}

// RotateRefresh revokes the token of refreshHash and stores its successor
// in one transaction; of two concurrent rotations one finds it revoked.
func (s *OAuthStore) RotateRefresh(ctx context.Context, tenantID, appID int64, refreshHash []byte, issue func(*oauth.StoredToken) (*oauth.NewToken, error)) (*oauth.Token, error) {
	var tok *oauth.Token
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		old := &oauth.StoredToken{Token: oauth.Token{TenantID: tenantID, AppID: appID}}
		var scopes string
		var lastUsed *time.Time
		err := tx.QueryRow(ctx, `
			update oauth_tokens set revoked_at = now()
			where refresh_hash = $1 and tenant_id = $2 and app_id = $3 and revoked_at is null
			returning id, coalesce(account_id, 0), scopes, code_hash, created_at, last_used_at`,
			refreshHash, tenantID, appID).
			Scan(&old.ID, &old.AccountID, &scopes, &old.CodeHash, &old.CreatedAt, &lastUsed)
		if err != nil {
			return pgutil.NotFound(err, "unknown refresh token")
		}
		old.Scopes = scopesOf(scopes)
		if lastUsed != nil {
			old.LastUsedAt = *lastUsed
		}
		nt, err := issue(old)
		if err != nil {
			return err
		}
		tok, err = insertToken(ctx, tx, nt)
		return err
	})
	if err != nil {
		return nil, err
	}
	return tok, nil
}

// RevokeRefreshFamily revokes the live tokens sharing the code of the
// revoked token of refreshHash.
func (s *OAuthStore) RevokeRefreshFamily(ctx context.Context, tenantID, appID int64, refreshHash []byte) (int64, error) {
	tag, err := s.db.Exec(ctx, `
		update oauth_tokens set revoked_at = now()
		where code_hash = (select code_hash from oauth_tokens
		                   where refresh_hash = $1 and tenant_id = $2 and app_id = $3 and revoked_at is not null)
		  and tenant_id = $2 and app_id = $3 and revoked_at is null`, refreshHash, tenantID, appID)
	if err != nil {
		return 0, fmt.Errorf("revoke token family: %w", err)
	}
	return tag.RowsAffected(), nil
}

// RevokeToken revokes the app's token by access or refresh hash.
func (s *OAuthStore) RevokeToken(ctx context.Context, tenantID, appID int64, hash []byte) error {
	_, err := s.db.Exec(ctx, `
		update oauth_tokens set revoked_at = now()
		where (token_hash = $3 or refresh_hash = $3) and tenant_id = $1 and app_id = $2 and revoked_at is null`,
		tenantID, appID, hash)
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	return nil
}

// TokenByHash is the bearer lookup: one query on the token_hash unique
// index, joined to the app by primary key.
func (s *OAuthStore) TokenByHash(ctx context.Context, tenantID int64, tokenHash []byte) (*oauth.StoredToken, error) {
	st := &oauth.StoredToken{Token: oauth.Token{TenantID: tenantID}}
	var scopes string
	var lastUsed *time.Time
	err := s.db.QueryRow(ctx, `
		select t.id, t.app_id, coalesce(t.account_id, 0), t.scopes, t.created_at, t.last_used_at, t.code_hash,
		       a.name, coalesce(a.website, '')
		from oauth_tokens t join oauth_apps a on a.id = t.app_id
		where t.token_hash = $1 and t.tenant_id = $2 and t.revoked_at is null`, tokenHash, tenantID).
		Scan(&st.ID, &st.AppID, &st.AccountID, &scopes, &st.CreatedAt, &lastUsed, &st.CodeHash, &st.AppName, &st.AppWebsite)
	if err != nil {
		return nil, pgutil.NotFound(err, "unknown token")
	}
	st.Scopes = scopesOf(scopes)
	if lastUsed != nil {
		st.LastUsedAt = *lastUsed
	}
	return st, nil
}

// TouchToken records a use, unless one was recorded in the minute before.
func (s *OAuthStore) TouchToken(ctx context.Context, tokenID int64, at time.Time) error {
	_, err := s.db.Exec(ctx, `update oauth_tokens set last_used_at = $2
		where id = $1 and (last_used_at is null or last_used_at <= $2::timestamptz - interval '1 minute')`, tokenID, at)
	if err != nil {
		return fmt.Errorf("touch token: %w", err)
	}
	return nil
}

var errLogin = errs.E(errs.Unauthorized, "wrong email or password")

// dummyHash is checked against when there is no login to check, so a
// wrong email costs as much time as a wrong password.
var dummyHash = sync.OnceValue(func() string {
	h, err := tenant.HashPassword("not a password of anyone's")
	if err != nil {
		panic(err)
	}
	return h
})

// Login checks email and password and returns the login's oldest local
// account on the tenant's handle domain.
func (s *OAuthStore) Login(ctx context.Context, tenantID int64, domain, email, password string) (int64, string, error) {
	email = strings.TrimSpace(email)
	if email == "" || password == "" || len(email) > 254 || len(password) > 1024 {
		return 0, "", errLogin
	}
	var hash string
	var accountID *int64
	var username *string
	err := s.db.QueryRow(ctx, `
		select u.password_hash, a.id, a.username
		from users u
		left join lateral (
			select a.id, a.username
			from user_accounts ua join accounts a on a.id = ua.account_id
			where ua.user_id = u.id and a.tenant_id = $2 and a.domain = $3
			  -- an account suspended by its tenant's moderators or an
			  -- operator (account_limits, the dashboard) cannot sign in
			  and not exists (select 1 from account_limits l where l.account_id = a.id
				and l.suspended_at is not null and (l.tenant_id is null or l.tenant_id = a.tenant_id))
			order by a.created_at, a.id
			limit 1
		) a on true
		where lower(u.email) = lower($1)`, email, tenantID, domain).Scan(&hash, &accountID, &username)
	if errors.Is(err, pgx.ErrNoRows) {
		tenant.CheckPassword(dummyHash(), password)
		return 0, "", errLogin
	}
	if err != nil {
		return 0, "", fmt.Errorf("login: %w", err)
	}
	if !tenant.CheckPassword(hash, password) || accountID == nil {
		return 0, "", errLogin
	}
	return *accountID, *username, nil
}
