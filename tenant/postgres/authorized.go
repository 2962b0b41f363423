package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/roost-social/roost/tenant/oauth"
)

var _ oauth.AuthorizationStore = (*OAuthStore)(nil)

// AuthorizedApps lists the tenant's apps holding live tokens of the
// account (at most 200: a person authorizes a handful).
func (s *OAuthStore) AuthorizedApps(ctx context.Context, tenantID, accountID int64) ([]oauth.AuthorizedApp, error) {
	rows, err := s.db.Query(ctx, `
		select a.id, a.tenant_id, a.name, coalesce(a.website, ''), a.redirect_uris, a.scopes, a.client_id, a.created_at,
			string_agg(distinct t.scopes, ' '), count(*), min(t.created_at), max(t.last_used_at)
		from oauth_tokens t join oauth_apps a on a.id = t.app_id and a.tenant_id = t.tenant_id
		where t.tenant_id = $1 and t.account_id = $2 and t.revoked_at is null
		group by a.id
		order by min(t.created_at) desc, a.id desc
		limit 200`, tenantID, accountID)
	if err != nil {
		return nil, fmt.Errorf("authorized apps: %w", err)
	}
	defer rows.Close()
	var out []oauth.AuthorizedApp
	for rows.Next() {
		var scopes string
		var used *time.Time
		var x oauth.AuthorizedApp
		app, err := scanApp(rows, &scopes, &x.Tokens, &x.AuthorizedAt, &used)
		if err != nil {
			return nil, fmt.Errorf("authorized apps: %w", err)
		}
		x.App, x.Granted = *app, uniqueScopes(scopes)
		if used != nil {
			x.LastUsedAt = *used
		}
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("authorized apps: %w", err)
	}
	return out, nil
}

// RevokeAppTokens revokes the account's live tokens of the tenant's app.
func (s *OAuthStore) RevokeAppTokens(ctx context.Context, tenantID, accountID, appID int64) (int64, error) {
	tag, err := s.db.Exec(ctx, `
		update oauth_tokens set revoked_at = now()
		where tenant_id = $1 and account_id = $2 and app_id = $3 and revoked_at is null`, tenantID, accountID, appID)
	if err != nil {
		return 0, fmt.Errorf("revoke app tokens: %w", err)
	}
	return tag.RowsAffected(), nil
}

// uniqueScopes is the distinct scopes of space-separated lists joined
// by spaces, in first-seen order.
func uniqueScopes(s string) oauth.Scopes {
	seen := map[string]bool{}
	var out oauth.Scopes
	for _, sc := range scopesOf(s) {
		if !seen[sc] {
			seen[sc] = true
			out = append(out, sc)
		}
	}
	return out
}
