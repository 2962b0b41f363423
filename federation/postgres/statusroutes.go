package postgres

// Issue 17, status and instance routes: muted threads, conversations
// marked unread, and what a tenant's instance routes read (peers, weekly
// activity, its owner's account).

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pgutil"
)

var (
	_ federation.ThreadStore   = (*Store)(nil)
	_ federation.InstanceStore = (*Store)(nil)
)

// MuteThread mutes (or unmutes) the thread of a status the account may
// see: the row names the thread's root (statuses.thread_id), which the
// notifications trigger of migration 037 checks.
func (s *Store) MuteThread(ctx context.Context, accountID, statusID int64, on bool) error {
	var root int64
	err := s.db.QueryRow(ctx, `select coalesce(s.thread_id, s.id) from statuses s
		where s.id = $2 and `+visible+`
		and exists (select 1 from accounts me where me.id = $1 and me.tenant_id is not null)`,
		accountID, statusID).Scan(&root)
	if err != nil {
		return pgutil.NotFound(err, "Record not found")
	}
	if on {
		_, err = s.db.Exec(ctx, `insert into thread_mutes (account_id, thread_id) values ($1, $2)
			on conflict do nothing`, accountID, root)
	} else {
		_, err = s.db.Exec(ctx, `delete from thread_mutes where account_id = $1 and thread_id = $2`, accountID, root)
	}
	if err != nil {
		return fmt.Errorf("mute thread: %w", err)
	}
	return nil
}

// MarkConversationUnread marks one of the account's conversations unread.
func (s *Store) MarkConversationUnread(ctx context.Context, accountID, id int64) error {
	tag, err := s.db.Exec(ctx, `update account_conversations set unread = true where id = $1 and account_id = $2`, id, accountID)
	if err != nil {
		return fmt.Errorf("mark conversation unread: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return errs.E(errs.NotFound, "Record not found")
	}
	return nil
}

// Peers lists the domains of remote accounts in a follow with one of the
// tenant's accounts, either way.
func (s *Store) Peers(ctx context.Context, tenantID int64, limit int) ([]string, error) {
	rows, err := s.db.Query(ctx, `select distinct r.domain from accounts l
		join follows f on f.follower_id = l.id or f.followee_id = l.id
		join accounts r on r.id = case when f.follower_id = l.id then f.followee_id else f.follower_id end
		where l.tenant_id = $1 and r.tenant_id is null and f.state = 'accepted'
		order by r.domain limit $2`, tenantID, limit)
	if err != nil {
		return nil, fmt.Errorf("peers: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// Activity counts, for each of the last weeks (Monday to Monday, UTC),
// the tenant's local posts, the accounts that posted or used a token, and
// the accounts created.
func (s *Store) Activity(ctx context.Context, tenantID int64, weeks int, now time.Time) ([]federation.InstanceActivity, error) {
	rows, err := s.db.Query(ctx, `select w.start,
		(select count(*) from statuses st join accounts a on a.id = st.account_id
			where a.tenant_id = $1 and st.created_at >= w.start and st.created_at < w.start + interval '7 days'),
		(select count(distinct x.account_id) from (
			select st.account_id from statuses st join accounts a on a.id = st.account_id
				where a.tenant_id = $1 and st.created_at >= w.start and st.created_at < w.start + interval '7 days'
			union
			select t.account_id from oauth_tokens t where t.tenant_id = $1 and t.account_id is not null
				and t.last_used_at >= w.start and t.last_used_at < w.start + interval '7 days') x),
		(select count(*) from accounts a
			where a.tenant_id = $1 and a.created_at >= w.start and a.created_at < w.start + interval '7 days')
		from generate_series(0, $2 - 1) g(n)
		cross join lateral (select date_trunc('week', $3::timestamptz at time zone 'UTC') at time zone 'UTC'
			- make_interval(weeks => g.n) as start) w
		order by w.start desc`, tenantID, weeks, now)
	if err != nil {
		return nil, fmt.Errorf("instance activity: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (federation.InstanceActivity, error) {
		var a federation.InstanceActivity
		err := r.Scan(&a.Week, &a.Statuses, &a.Logins, &a.Registrations)
		return a, err
	})
}

// Owner is the tenant's contact account: the oldest account of a login
// holding the tenant's admin role, else its oldest local account.
func (s *Store) Owner(ctx context.Context, tenantID int64) (int64, error) {
	var id int64
	err := s.db.QueryRow(ctx, `select a.id from accounts a
		where a.tenant_id = $1
		order by not exists (select 1 from user_accounts ua join admin_roles r on r.user_id = ua.user_id
			where ua.account_id = a.id and r.tenant_id = $1 and r.role = 'admin'), a.id
		limit 1`, tenantID).Scan(&id)
	if err != nil {
		return 0, pgutil.NotFound(err, "Record not found")
	}
	return id, nil
}

// emojiTables are the tables storeEmojis writes (migration 037).
var emojiTables = map[string]bool{"statuses": true, "accounts": true}

// storeEmojis keeps the custom emojis a remote post or actor came with
// (null for none), writing only when they changed.
func (s *Store) storeEmojis(ctx context.Context, table string, id int64, emojis []federation.RemoteEmoji) error {
	if !emojiTables[table] {
		return fmt.Errorf("store emojis: no emojis on %s", table)
	}
	var doc []byte
	if len(emojis) > 0 {
		var err error
		if doc, err = json.Marshal(emojis[:min(len(emojis), federation.MaxRemoteEmojis)]); err != nil {
			return fmt.Errorf("store emojis: %w", err)
		}
	}
	if _, err := s.db.Exec(ctx, `update `+table+` set emojis = $2::jsonb where id = $1 and emojis is distinct from $2::jsonb`,
		id, doc); err != nil {
		return fmt.Errorf("store emojis of %s %d: %w", table, id, err)
	}
	return nil
}

// decodeEmojis reads a stored emojis column (null: none).
func decodeEmojis(doc []byte) ([]federation.RemoteEmoji, error) {
	if len(doc) == 0 {
		return nil, nil
	}
	var out []federation.RemoteEmoji
	if err := json.Unmarshal(doc, &out); err != nil {
		return nil, fmt.Errorf("stored emojis: %w", err)
	}
	return out, nil
}
