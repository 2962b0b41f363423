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

// RehomeAccount moves a local account in one transaction. The row keeps
// its id, so everything hanging off it (posts with their URIs, media,
// follows, lists, bookmarks, notifications, filters, settings, its login)
// comes along by reference; it takes the new domain, tenant and username
// and lists its old actor in alsoKnownAs. A ghost row takes its place on
// the old domain: the same key pair (so signatures under the old keyId
// still verify), movedTo and alsoKnownAs the new actor, and the remote
// followers, whose servers know only the old actor until the Move reaches
// them. Pending deliveries are handed to the ghost too, since their bodies
// name the old actor. Returns the ghost and the moved account.
func (s *Store) RehomeAccount(ctx context.Context, r federation.Rehome) (ghost, moved *federation.Account, err error) {
	err = pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		old, err := scanAccount(tx.QueryRow(ctx, `select `+accountColumns+` from accounts
			where id = $1 and tenant_id is not null for update`, r.AccountID))
		if err != nil {
			return pgutil.NotFound(err, "no such local account")
		}
		if old.MovedTo != "" {
			return errs.E(errs.Conflict, "%s@%s has already moved to %s", old.Username, old.Domain, old.MovedTo)
		}
		var ok bool
		if err := tx.QueryRow(ctx, `select exists (select 1 from domains where domain = $1 and tenant_id = $2 and verified_at is not null)`,
			r.ToDomain, r.ToTenantID).Scan(&ok); err != nil {
			return err
		}
		if !ok {
			return errs.E(errs.Invalid, "%s is not a verified domain of the tenant moved to", r.ToDomain)
		}
		if old.Domain == r.ToDomain && old.TenantID == r.ToTenantID {
			return errs.E(errs.Invalid, "%s@%s is already on %s", old.Username, old.Domain, r.ToDomain)
		}
		aka := slices.Clone(old.AlsoKnownAs)
		if !slices.Contains(aka, r.FromURI) {
			aka = append(aka, r.FromURI)
		}
		// The old slot is freed first, so the ghost can take it below.
		moved, err = scanAccount(tx.QueryRow(ctx, `update accounts set tenant_id = $2, domain = $3, username = $4, also_known_as = $5
			where id = $1 returning `+accountColumns, r.AccountID, r.ToTenantID, r.ToDomain, r.ToUsername, aka))
		if pgutil.IsUniqueViolation(err) {
			return errs.E(errs.Conflict, "username %s is taken on %s", r.ToUsername, r.ToDomain)
		}
		if err != nil {
			return fmt.Errorf("rehome account: %w", err)
		}
		ghost, err = scanAccount(tx.QueryRow(ctx, `insert into accounts (tenant_id, domain, username, display_name, note,
				avatar_url, header_url, locked, discoverable, bot, public_key_pem, private_key_pem, fields, also_known_as, moved_to_uri, created_at)
			values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) returning `+accountColumns,
			old.TenantID, old.Domain, old.Username, old.DisplayName, old.Note, old.AvatarURL, old.HeaderURL, old.Locked,
			false, old.Bot, old.PublicKeyPEM, old.PrivateKeyPEM, old.Fields, []string{r.ToURI}, r.ToURI, old.CreatedAt))
		if err != nil {
			return fmt.Errorf("insert ghost: %w", err)
		}
		for _, q := range []string{
			// Remote followers follow the old actor until the Move reaches them.
			`update follows set followee_id = $2 where followee_id = $1
				and follower_id in (select id from accounts where tenant_id is null)`,
			`update deliveries set sender_id = $2 where sender_id = $1 and state = 'pending'`,
			`insert into account_stats (account_id, followers_count)
				select a, (select count(*) from follows where followee_id = a and state = 'accepted') from unnest(array[$1, $2]::bigint[]) a
				on conflict (account_id) do update set followers_count = excluded.followers_count`,
		} {
			if _, err := tx.Exec(ctx, q, moved.ID, ghost.ID); err != nil {
				return fmt.Errorf("rehome: %w", err)
			}
		}
		if old.TenantID != r.ToTenantID {
			if err := changeTenant(ctx, tx, moved.ID, ghost.ID, old.TenantID, r.ToTenantID); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `insert into account_moves (account_id, ghost_id, from_tenant_id, to_tenant_id, from_uri, to_uri, kind)
			values ($1, $2, $3, $4, $5, $6, $7)`, moved.ID, ghost.ID, old.TenantID, r.ToTenantID, r.FromURI, r.ToURI, r.Kind)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return ghost, moved, nil
}

// changeTenant carries the tenant-scoped rows of an account moved to
// another tenant: its posts, media, public timeline entries and archive
// jobs. Its access tokens were issued by apps of the old tenant and are
// revoked; moderation of the old tenant stays with the ghost.
func changeTenant(ctx context.Context, tx pgx.Tx, accountID, ghostID, from, to int64) error {
	args := pgx.NamedArgs{"account": accountID, "ghost": ghostID, "from": from, "to": to}
	for _, q := range []string{
		`update statuses set tenant_id = @to where account_id = @account and tenant_id = @from`,
		`update media_attachments set tenant_id = @to where account_id = @account and tenant_id = @from`,
		`insert into tenant_timeline (tenant_id, status_id, local)
			select @to, t.status_id, true from tenant_timeline t join statuses s on s.id = t.status_id
			where t.tenant_id = @from and t.local and s.account_id = @account
			on conflict (tenant_id, status_id) do update set local = true`,
		`delete from tenant_timeline t using statuses s where s.id = t.status_id and t.tenant_id = @from and t.local and s.account_id = @account`,
		`update archive_exports set tenant_id = @to where account_id = @account and tenant_id = @from`,
		`update archive_imports set tenant_id = @to where account_id = @account and tenant_id = @from`,
		`delete from oauth_tokens where account_id = @account and tenant_id = @from`,
		`update account_limits set account_id = @ghost where account_id = @account and tenant_id = @from`,
	} {
		if _, err := tx.Exec(ctx, q, args); err != nil {
			return fmt.Errorf("move to tenant %d: %w", to, err)
		}
	}
	return nil
}

// MarkMoveAnnounced records that the Move of a ghost was queued.
func (s *Store) MarkMoveAnnounced(ctx context.Context, ghostID int64) error {
	_, err := s.db.Exec(ctx, `update account_moves set announced_at = now() where ghost_id = $1`, ghostID)
	return err
}

// UnannouncedMoves lists the ghosts whose Move was never queued (the
// process died between the move and the announcement), to send it again.
func (s *Store) UnannouncedMoves(ctx context.Context, tenantID int64) ([]*federation.Account, error) {
	rows, err := s.db.Query(ctx, `select `+prefixed("a.")+` from account_moves m join accounts a on a.id = m.ghost_id
		where m.announced_at is null and a.tenant_id = $1 order by m.id`, tenantID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*federation.Account, error) { return scanAccount(r) })
}

// LocalAccountsOn lists the accounts living on one of a tenant's domains
// that have not moved away.
func (s *Store) LocalAccountsOn(ctx context.Context, tenantID int64, domain string) ([]*federation.Account, error) {
	rows, err := s.db.Query(ctx, `select `+accountColumns+` from accounts
		where tenant_id = $1 and domain = $2 and moved_to_uri is null order by id`, tenantID, domain)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*federation.Account, error) { return scanAccount(r) })
}

// prefixed qualifies accountColumns with a table alias.
func prefixed(alias string) string {
	return alias + `id, ` + alias + `tenant_id, ` + alias + `domain, ` + alias + `username, ` + alias + `display_name, ` +
		alias + `note, ` + alias + `avatar_url, ` + alias + `header_url, ` + alias + `locked, ` + alias + `discoverable, ` +
		alias + `bot, ` + alias + `public_key_pem, ` + alias + `private_key_pem, ` + alias + `created_at, ` +
		alias + `also_known_as, coalesce(` + alias + `moved_to_uri, ''), ` + alias + `fields`
}

// RemoteFollowing lists a local account's follows of remote accounts.
func (s *Store) RemoteFollowing(ctx context.Context, accountID int64) ([]federation.RemoteFollow, error) {
	rows, err := s.db.Query(ctx, `select f.id, f.uri, a.uri, a.inbox_url from follows f join accounts a on a.id = f.followee_id
		where f.follower_id = $1 and a.tenant_id is null and a.inbox_url is not null order by f.id`, accountID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (federation.RemoteFollow, error) {
		var f federation.RemoteFollow
		err := r.Scan(&f.ID, &f.URI, &f.TargetURI, &f.Inbox)
		return f, err
	})
}

// SetFollowURI gives a follow the id of the Follow sent again.
func (s *Store) SetFollowURI(ctx context.Context, followID int64, uri string) error {
	_, err := s.db.Exec(ctx, `update follows set uri = $2 where id = $1`, followID, uri)
	return err
}
