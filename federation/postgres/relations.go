package postgres

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pgutil"
)

var _ federation.RelationStore = (*Store)(nil)

// notSuspended is true for an account (alias a) that neither the whole
// instance nor tenant $tenant has suspended.
func notSuspended(tenant string) string {
	return `not exists (select 1 from account_limits l where l.account_id = a.id and l.suspended_at is not null
		and (l.tenant_id is null or l.tenant_id = ` + tenant + `))`
}

// notLimited is true for an account (alias a) neither suspended nor
// silenced by the instance or tenant $tenant: what the directory and
// suggestions may offer (Mastodon's discoverable scope leaves silenced
// accounts out too).
func notLimited(tenant string) string {
	return `not exists (select 1 from account_limits l where l.account_id = a.id
		and (l.suspended_at is not null or l.silenced_at is not null)
		and (l.tenant_id is null or l.tenant_id = ` + tenant + `))`
}

// BlockedAccounts pages the accounts accountID blocks, by block row id.
func (s *Store) BlockedAccounts(ctx context.Context, accountID int64, p federation.Page) ([]int64, []int64, error) {
	q, args := pageSQL("id", p, 2, []any{accountID})
	ids, cursors, err := s.pairs(ctx, p, `select target_id, id from blocks where account_id = $1`+q, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("blocked accounts: %w", err)
	}
	return ids, cursors, nil
}

// MutedAccounts pages the accounts accountID mutes, by mute row id; mutes
// that ended are left out before the page is cut.
func (s *Store) MutedAccounts(ctx context.Context, accountID int64, p federation.Page) ([]federation.MutedAccount, error) {
	q, args := pageSQL("id", p, 2, []any{accountID})
	rows, err := s.db.Query(ctx, `select target_id, id, expires_at from mutes
		where account_id = $1 and (expires_at is null or expires_at > now())`+q, args...)
	if err != nil {
		return nil, fmt.Errorf("muted accounts: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (federation.MutedAccount, error) {
		var m federation.MutedAccount
		return m, r.Scan(&m.AccountID, &m.Cursor, &m.ExpiresAt)
	})
	if err != nil {
		return nil, fmt.Errorf("muted accounts: %w", err)
	}
	if p.MinID > 0 {
		slices.Reverse(out)
	}
	return out, nil
}

// SetAccountNote sets (or, with "", removes) accountID's note on targetID.
func (s *Store) SetAccountNote(ctx context.Context, accountID, targetID int64, comment string) error {
	var err error
	if comment == "" {
		_, err = s.db.Exec(ctx, `delete from account_notes where account_id = $1 and target_id = $2`, accountID, targetID)
	} else {
		_, err = s.db.Exec(ctx, `insert into account_notes (account_id, target_id, comment) values ($1, $2, $3)
			on conflict (account_id, target_id) do update set comment = excluded.comment, updated_at = now()`,
			accountID, targetID, comment)
	}
	if err != nil {
		return pgutil.Invalid(err, "the note is not valid")
	}
	return nil
}

// Endorse features targetID on accountID's profile, in one statement that
// checks the follow and the limit, so no race gets past either.
func (s *Store) Endorse(ctx context.Context, accountID, targetID int64) error {
	tag, err := s.db.Exec(ctx, `insert into account_endorsements (account_id, target_id)
		select $1, $2 where exists (select 1 from follows where follower_id = $1 and followee_id = $2 and state = 'accepted')
			and (select count(*) from account_endorsements where account_id = $1) < $3
		on conflict (account_id, target_id) do nothing`, accountID, targetID, federation.MaxEndorsements)
	if err != nil {
		return pgutil.Invalid(err, "the endorsement is not valid")
	}
	if tag.RowsAffected() > 0 {
		return nil
	}
	var endorsed, following bool
	err = s.db.QueryRow(ctx, `select
		exists (select 1 from account_endorsements where account_id = $1 and target_id = $2),
		exists (select 1 from follows where follower_id = $1 and followee_id = $2 and state = 'accepted')`,
		accountID, targetID).Scan(&endorsed, &following)
	switch {
	case err != nil:
		return fmt.Errorf("endorse: %w", err)
	case endorsed:
		return nil
	case !following:
		return errs.E(errs.Invalid, "Validation failed: You must be already following the person you want to endorse")
	}
	return errs.E(errs.Invalid, "Validation failed: You can feature at most %d accounts", federation.MaxEndorsements)
}

// Unendorse stops featuring targetID.
func (s *Store) Unendorse(ctx context.Context, accountID, targetID int64) error {
	_, err := s.db.Exec(ctx, `delete from account_endorsements where account_id = $1 and target_id = $2`, accountID, targetID)
	if err != nil {
		return fmt.Errorf("unendorse: %w", err)
	}
	return nil
}

// Endorsements pages the accounts accountID features, by row id.
func (s *Store) Endorsements(ctx context.Context, accountID int64, p federation.Page) ([]int64, []int64, error) {
	q, args := pageSQL("id", p, 2, []any{accountID})
	ids, cursors, err := s.pairs(ctx, p, `select target_id, id from account_endorsements where account_id = $1`+q, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("endorsements: %w", err)
	}
	return ids, cursors, nil
}

// suggestionFanout bounds the friends-of-friends walk: the viewer's most
// recent follows, and each one's most recent follows.
const suggestionFanout = 200

// Suggestions lists accounts to suggest to viewerID: discoverable accounts
// of its tenant (featured) and those followed by accounts it follows
// (friends of friends), most shared first, then most followed.
func (s *Store) Suggestions(ctx context.Context, viewerID, tenantID int64, limit int) ([]federation.Suggestion, error) {
	rows, err := s.db.Query(ctx, `with mine as (
			select followee_id from follows where follower_id = $1 and state = 'accepted'
			order by id desc limit $4),
		fof as (
			select f2.followee_id as id, count(*) as shared from mine
			cross join lateral (select followee_id from follows
				where follower_id = mine.followee_id and state = 'accepted' order by id desc limit $4) f2
			group by f2.followee_id),
		featured as (
			select a.id from accounts a left join account_stats x on x.account_id = a.id
			where a.tenant_id = $2 and a.discoverable
			order by x.last_status_at desc nulls last, a.id desc limit $4),
		candidates as (
			select coalesce(fof.id, featured.id) as id, coalesce(fof.shared, 0) as shared,
				featured.id is not null as is_featured, fof.id is not null as is_fof
			from fof full join featured on featured.id = fof.id)
		select a.id, c.is_featured, c.is_fof from candidates c
		join accounts a on a.id = c.id
		left join account_stats x on x.account_id = a.id
		where a.id <> $1 and a.discoverable and a.moved_to_uri is null and `+notLimited("$2")+`
			and not exists (select 1 from follows f where f.follower_id = $1 and f.followee_id = a.id)
			and not exists (select 1 from blocks b where (b.account_id = $1 and b.target_id = a.id) or (b.account_id = a.id and b.target_id = $1))
			and not exists (select 1 from mutes m where m.account_id = $1 and m.target_id = a.id and (m.expires_at is null or m.expires_at > now()))
			and not exists (select 1 from suggestion_dismissals d where d.account_id = $1 and d.target_id = a.id)
			and not exists (select 1 from account_domain_blocks db where db.account_id = $1 and a.tenant_id is null
				and (a.domain = db.domain or a.domain like '%.' || db.domain))
		order by c.shared desc, coalesce(x.followers_count, 0) desc, a.id desc
		limit $3`, viewerID, tenantID, max(limit, 1), suggestionFanout)
	if err != nil {
		return nil, fmt.Errorf("suggestions: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (federation.Suggestion, error) {
		var sg federation.Suggestion
		var featured, fof bool
		if err := r.Scan(&sg.AccountID, &featured, &fof); err != nil {
			return sg, err
		}
		if featured {
			sg.Sources = append(sg.Sources, federation.SuggestFeatured)
		}
		if fof {
			sg.Sources = append(sg.Sources, federation.SuggestFriendsOfFriends)
		}
		return sg, nil
	})
}

// DismissSuggestion records that viewerID does not want targetID suggested.
func (s *Store) DismissSuggestion(ctx context.Context, viewerID, targetID int64) error {
	_, err := s.db.Exec(ctx, `insert into suggestion_dismissals (account_id, target_id) values ($1, $2)
		on conflict do nothing`, viewerID, targetID)
	if err != nil {
		return pgutil.NotFound(err, "Record not found")
	}
	return nil
}

// Directory pages a tenant's directory of discoverable accounts: its own,
// or also every account one of its accounts follows or is followed by.
func (s *Store) Directory(ctx context.Context, q federation.DirectoryQuery) ([]int64, error) {
	scope := `a.tenant_id = $1`
	if !q.Local {
		scope = `(a.tenant_id = $1
			or exists (select 1 from follows f join accounts l on l.id = f.follower_id
				where f.followee_id = a.id and f.state = 'accepted' and l.tenant_id = $1)
			or exists (select 1 from follows f join accounts l on l.id = f.followee_id
				where f.follower_id = a.id and f.state = 'accepted' and l.tenant_id = $1))`
	}
	order := `x.last_status_at desc nulls last, a.id desc`
	if q.Order == "new" {
		order = `a.created_at desc, a.id desc`
	}
	rows, err := s.db.Query(ctx, `select a.id from accounts a left join account_stats x on x.account_id = a.id
		where a.discoverable and a.moved_to_uri is null and `+scope+` and `+notLimited("$1")+`
		order by `+order+` offset $2 limit $3`, q.TenantID, max(q.Offset, 0), max(q.Limit, 1))
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// ListedAccounts keeps, in order, the ids of existing accounts that
// neither the instance nor the tenant suspended.
func (s *Store) ListedAccounts(ctx context.Context, tenantID int64, ids []int64) ([]int64, error) {
	rows, err := s.db.Query(ctx, `select a.id from unnest($2::bigint[]) with ordinality as q(id, ord)
		join accounts a on a.id = q.id where `+notSuspended("$1")+` order by q.ord`, tenantID, ids)
	if err != nil {
		return nil, fmt.Errorf("listed accounts: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// AccountSettings reads a local account's attribution domains and quote
// policy.
func (s *Store) AccountSettings(ctx context.Context, accountID int64) (federation.AccountSettings, error) {
	var st federation.AccountSettings
	err := s.db.QueryRow(ctx, `select attribution_domains, quote_policy from accounts
		where id = $1 and tenant_id is not null`, accountID).Scan(&st.AttributionDomains, &st.QuotePolicy)
	if err != nil {
		return st, pgutil.NotFound(err, "no such local account")
	}
	return st, nil
}

// SetAccountSettings saves a local account's settings; nil leaves one.
func (s *Store) SetAccountSettings(ctx context.Context, accountID int64, domains *[]string, quotePolicy *string) error {
	var ds []string
	if domains != nil {
		ds = append([]string{}, *domains...)
	}
	tag, err := s.db.Exec(ctx, `update accounts set
		attribution_domains = case when $2 then $3::text[] else attribution_domains end,
		quote_policy = coalesce($4, quote_policy)
		where id = $1 and tenant_id is not null`, accountID, domains != nil, ds, quotePolicy)
	if err != nil {
		return pgutil.Invalid(err, "the account settings are not valid")
	}
	if tag.RowsAffected() == 0 {
		return errs.E(errs.NotFound, "no such local account")
	}
	return nil
}
