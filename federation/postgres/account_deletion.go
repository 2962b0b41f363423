package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pgutil"
)

// One account deleted by its owner (migration 049). The account is
// suspended at its tenant's scope in the deletion's own transaction (the
// limit every sign-in, token check and served page already honours), so
// nothing of it answers from the moment the person confirms; its rows
// go later, in batches (federation/portability.AccountDeletions).

var _ federation.AccountDeletionStore = (*Store)(nil)

// LoginPasswordHash is the password hash of the oldest login owning a
// local account.
func (s *Store) LoginPasswordHash(ctx context.Context, accountID int64) (string, error) {
	var hash string
	err := s.db.QueryRow(ctx, `select u.password_hash from user_accounts ua join users u on u.id = ua.user_id
		where ua.account_id = $1 order by ua.created_at, u.id limit 1`, accountID).Scan(&hash)
	if err != nil {
		return "", pgutil.NotFound(err, "this account has no login")
	}
	return hash, nil
}

// errLastAccount is the store's refusal to delete a tenant's last account.
var errLastAccount = errs.E(errs.Conflict, "This is the only account of this site. A site closes as a whole: "+
	"its owner deletes it from the dashboard (leaving), which first exports every account.")

// BeginAccountDeletion records the deletion, suspends the account and
// revokes its tokens in one transaction. The tenant's row is locked, so
// two deletions at once cannot both pass the last-account check.
func (s *Store) BeginAccountDeletion(ctx context.Context, d federation.AccountDeletion, keepOne bool) error {
	return pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `select 1 from tenants where id = $1 for update`, d.TenantID); err != nil {
			return fmt.Errorf("lock tenant: %w", err)
		}
		err := tx.QueryRow(ctx, `select username, domain from accounts where id = $1 and tenant_id = $2 for update`,
			d.AccountID, d.TenantID).Scan(&d.Username, &d.Domain)
		if err != nil {
			return pgutil.NotFound(err, "no such account")
		}
		if keepOne {
			var others int64
			if err := tx.QueryRow(ctx, `select count(*) from accounts a where a.tenant_id = $1 and a.id <> $2
				and a.moved_to_uri is null and not exists (select 1 from account_deletions d where d.account_id = a.id)`,
				d.TenantID, d.AccountID).Scan(&others); err != nil {
				return fmt.Errorf("count accounts: %w", err)
			}
			if others == 0 {
				return errLastAccount
			}
		}
		tag, err := tx.Exec(ctx, `insert into account_deletions (account_id, tenant_id, domain, username, requested_by)
			values ($1, $2, $3, $4, $5) on conflict do nothing`, d.AccountID, d.TenantID, d.Domain, d.Username, d.RequestedBy)
		if err != nil {
			return fmt.Errorf("record deletion: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return errs.E(errs.Conflict, "This account is already being deleted.")
		}
		if _, err := tx.Exec(ctx, `insert into account_limits (account_id, tenant_id, suspended_at) values ($1, $2, now())
			on conflict (account_id, coalesce(tenant_id, 0)) do update set suspended_at = now(), updated_at = now()`,
			d.AccountID, d.TenantID); err != nil {
			return fmt.Errorf("suspend: %w", err)
		}
		if _, err := tx.Exec(ctx, `update oauth_tokens set revoked_at = now() where account_id = $1 and revoked_at is null`, d.AccountID); err != nil {
			return fmt.Errorf("revoke tokens: %w", err)
		}
		return nil
	})
}

const accountDeletionColumns = `account_id, tenant_id, domain, username, requested_by, requested_at, announced_at, purged_at`

func scanAccountDeletion(r pgx.Row) (federation.AccountDeletion, error) {
	var d federation.AccountDeletion
	err := r.Scan(&d.AccountID, &d.TenantID, &d.Domain, &d.Username, &d.RequestedBy, &d.RequestedAt, &d.Announced, &d.Purged)
	return d, err
}

// AccountDeletionByName is the deletion of a name on one of the tenant's
// domains.
func (s *Store) AccountDeletionByName(ctx context.Context, tenantID int64, domain, username string) (*federation.AccountDeletion, error) {
	d, err := scanAccountDeletion(s.db.QueryRow(ctx, `select `+accountDeletionColumns+` from account_deletions
		where tenant_id = $1 and domain = $2 and lower(username) = lower($3)`, tenantID, domain, username))
	if err != nil {
		return nil, pgutil.NotFound(err, "no such deleted account")
	}
	return &d, nil
}

// DueAccountDeletions lists deletions not yet purged, oldest first.
func (s *Store) DueAccountDeletions(ctx context.Context, limit int) ([]federation.AccountDeletion, error) {
	rows, err := s.db.Query(ctx, `select `+accountDeletionColumns+` from account_deletions
		where purged_at is null order by requested_at, account_id limit $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("due account deletions: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (federation.AccountDeletion, error) { return scanAccountDeletion(r) })
}

// AccountKnownInboxes lists the inboxes of the servers that know the
// account: its remote followers' and followees' (shared inbox where there
// is one) and every inbox it ever delivered to.
func (s *Store) AccountKnownInboxes(ctx context.Context, accountID int64) ([]string, error) {
	rows, err := s.db.Query(ctx, `
		with remote as (
			select f.follower_id as id from follows f where f.followee_id = $1
			union select f.followee_id from follows f where f.follower_id = $1
		)
		select coalesce(a.shared_inbox_url, a.inbox_url) from accounts a
			where a.id in (select id from remote) and a.tenant_id is null and a.inbox_url is not null
		union
		select d.inbox_url from deliveries d where d.sender_id = $1`, accountID)
	if err != nil {
		return nil, fmt.Errorf("known inboxes: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// MarkAccountDeletionAnnounced records that Delete(Person) was queued.
func (s *Store) MarkAccountDeletionAnnounced(ctx context.Context, accountID int64) error {
	_, err := s.db.Exec(ctx, `update account_deletions set announced_at = now() where account_id = $1 and announced_at is null`, accountID)
	return err
}

// AccountFilesBatch lists up to limit media attachments of the account
// (ids and file keys) and the paths of its archives.
func (s *Store) AccountFilesBatch(ctx context.Context, accountID int64, limit int) (federation.AccountFiles, error) {
	var f federation.AccountFiles
	rows, err := s.db.Query(ctx, `select id, file_key, thumb_key from media_attachments where account_id = $1
		order by id limit $2`, accountID, limit)
	if err != nil {
		return f, fmt.Errorf("account media: %w", err)
	}
	var id int64
	var key string
	var thumb *string
	if _, err := pgx.ForEachRow(rows, []any{&id, &key, &thumb}, func() error {
		f.MediaIDs = append(f.MediaIDs, id)
		f.Keys = append(f.Keys, key)
		if thumb != nil {
			f.Keys = append(f.Keys, *thumb)
		}
		return nil
	}); err != nil {
		return f, fmt.Errorf("account media: %w", err)
	}
	rows, err = s.db.Query(ctx, `select path from archive_exports where account_id = $1 and path is not null
		union all select path from archive_imports where account_id = $1`, accountID)
	if err != nil {
		return f, fmt.Errorf("account archives: %w", err)
	}
	f.Paths, err = pgx.CollectRows(rows, pgx.RowTo[string])
	return f, err
}

// ForgetAccountFiles removes the rows of files already removed: the
// listed attachments, and the account's archive rows.
func (s *Store) ForgetAccountFiles(ctx context.Context, accountID int64, f federation.AccountFiles) error {
	return pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if len(f.MediaIDs) > 0 {
			if _, err := tx.Exec(ctx, `delete from media_attachments where account_id = $1 and id = any($2)`, accountID, f.MediaIDs); err != nil {
				return fmt.Errorf("forget media: %w", err)
			}
		}
		if len(f.Paths) > 0 {
			if _, err := tx.Exec(ctx, `delete from archive_exports where account_id = $1`, accountID); err != nil {
				return fmt.Errorf("forget exports: %w", err)
			}
			if _, err := tx.Exec(ctx, `delete from archive_imports where account_id = $1`, accountID); err != nil {
				return fmt.Errorf("forget imports: %w", err)
			}
		}
		return nil
	})
}

// purgeSteps are the account's tables that can be large, in the order
// they are emptied: its posts first (their feeds, favourites and
// boosts by others cascade per post), then its relations and its own
// feed and notifications. Each removes at most $2 rows by ctid.
var purgeSteps = []struct{ table, where string }{
	{"statuses", "account_id = $1"},
	{"follows", "follower_id = $1"}, {"follows", "followee_id = $1"},
	{"notifications", "account_id = $1"}, {"notifications", "from_account_id = $1"},
	{"home_feeds", "account_id = $1"}, {"favourites", "account_id = $1"}, {"bookmarks", "account_id = $1"},
	{"status_mentions", "account_id = $1"},
	{"blocks", "account_id = $1 or target_id = $1"}, {"mutes", "account_id = $1 or target_id = $1"},
}

// PurgeAccountBatch removes up to limit rows of the first of purgeSteps'
// tables that still has some; more is false once every one is empty.
func (s *Store) PurgeAccountBatch(ctx context.Context, accountID int64, limit int) (bool, error) {
	for _, st := range purgeSteps {
		tag, err := s.db.Exec(ctx, `delete from `+st.table+` where ctid = any(array(select ctid from `+st.table+
			` where `+st.where+` limit $2))`, accountID, limit)
		if err != nil {
			return false, fmt.Errorf("purge %s: %w", st.table, err)
		}
		if tag.RowsAffected() > 0 {
			return true, nil
		}
	}
	return false, nil
}

// PendingAccountDeliveries counts the account's deliveries not yet done
// or given up.
func (s *Store) PendingAccountDeliveries(ctx context.Context, accountID int64) (int64, error) {
	var n int64
	err := s.db.QueryRow(ctx, `select count(*) from deliveries where sender_id = $1 and state = 'pending'`, accountID).Scan(&n)
	return n, err
}

// FinishAccountDeletion removes the account's row (the rest cascades),
// then its login when that owns nothing else here — no other account, no
// dashboard role, no portal sign-up, not an operator — and marks the
// deletion purged.
func (s *Store) FinishAccountDeletion(ctx context.Context, accountID int64) error {
	return pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `select user_id from user_accounts where account_id = $1`, accountID)
		if err != nil {
			return err
		}
		logins, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("logins: %w", err)
		}
		if _, err := tx.Exec(ctx, `delete from accounts where id = $1 and tenant_id is not null`, accountID); err != nil {
			return fmt.Errorf("delete account: %w", err)
		}
		if _, err := tx.Exec(ctx, `delete from users u where u.id = any($1) and not u.is_operator
			and not exists (select 1 from user_accounts ua where ua.user_id = u.id)
			and not exists (select 1 from admin_roles r where r.user_id = u.id)
			and not exists (select 1 from signups g where g.user_id = u.id)`, logins); err != nil {
			return fmt.Errorf("delete login: %w", err)
		}
		// Already purged by another worker's pass: nothing more to do.
		_, err = tx.Exec(ctx, `update account_deletions set purged_at = now() where account_id = $1 and purged_at is null`, accountID)
		return err
	})
}
