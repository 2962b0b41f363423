package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/pgutil"
)

var _ federation.RemoteActorStore = (*Store)(nil)

const remoteColumns = `id, domain, username, display_name, note, avatar_url, header_url, locked, discoverable, bot,
	public_key_pem, created_at, uri, coalesce(key_id, ''), coalesce(url, ''), inbox_url, coalesce(shared_inbox_url, ''),
	coalesce(outbox_url, ''), coalesce(followers_url, ''), coalesce(following_url, ''), coalesce(actor_type, ''), fetched_at,
	also_known_as, coalesce(moved_to_uri, '')`

func scanRemote(row pgx.Row) (*federation.Account, error) {
	a := &federation.Account{Remote: &federation.RemoteInfo{}}
	r := a.Remote
	err := row.Scan(&a.ID, &a.Domain, &a.Username, &a.DisplayName, &a.Note, &a.AvatarURL, &a.HeaderURL, &a.Locked,
		&a.Discoverable, &a.Bot, &a.PublicKeyPEM, &a.CreatedAt, &r.URI, &r.KeyID, &r.URL, &r.Inbox, &r.SharedInbox,
		&r.Outbox, &r.Followers, &r.Following, &r.Type, &r.FetchedAt, &r.AlsoKnownAs, &r.MovedTo)
	return a, err
}

// UpsertRemoteActor inserts or refreshes a remote actor by URI, with its
// alsoKnownAs and movedTo as the document says (so a remote account shows
// where it moved; a document without movedTo clears it).
func (s *Store) UpsertRemoteActor(ctx context.Context, a *federation.Account) (*federation.Account, error) {
	r := a.Remote
	if r == nil || r.URI == "" {
		return nil, fmt.Errorf("upsert remote actor: not a remote actor")
	}
	out, err := scanRemote(s.db.QueryRow(ctx, `
		insert into accounts (domain, username, display_name, note, avatar_url, header_url, locked, discoverable, bot,
			public_key_pem, uri, key_id, url, inbox_url, shared_inbox_url, outbox_url, followers_url, following_url,
			actor_type, fetched_at, also_known_as, moved_to_uri)
		values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, nullif($13, ''), $14, nullif($15, ''), nullif($16, ''),
			nullif($17, ''), nullif($18, ''), $19, $20, coalesce($21::text[], '{}'), nullif($22, ''))
		on conflict (uri) do update set domain = excluded.domain, username = excluded.username,
			display_name = excluded.display_name, note = excluded.note, avatar_url = excluded.avatar_url,
			header_url = excluded.header_url, locked = excluded.locked, discoverable = excluded.discoverable,
			bot = excluded.bot, public_key_pem = excluded.public_key_pem, key_id = excluded.key_id, url = excluded.url,
			inbox_url = excluded.inbox_url, shared_inbox_url = excluded.shared_inbox_url,
			outbox_url = excluded.outbox_url, followers_url = excluded.followers_url,
			following_url = excluded.following_url, actor_type = excluded.actor_type, fetched_at = excluded.fetched_at,
			also_known_as = excluded.also_known_as, moved_to_uri = excluded.moved_to_uri
		returning `+remoteColumns,
		a.Domain, a.Username, a.DisplayName, a.Note, a.AvatarURL, a.HeaderURL, a.Locked, a.Discoverable, a.Bot,
		a.PublicKeyPEM, r.URI, r.KeyID, r.URL, r.Inbox, r.SharedInbox, r.Outbox, r.Followers, r.Following, r.Type, r.FetchedAt,
		r.AlsoKnownAs, r.MovedTo))
	if err != nil {
		return nil, fmt.Errorf("upsert remote actor %s: %w", r.URI, err)
	}
	if err := s.storeEmojis(ctx, "accounts", out.ID, r.Emojis); err != nil { // statusroutes.go
		return nil, err
	}
	out.Remote.Emojis = r.Emojis
	return out, nil
}

// RemoteActorByKeyID finds the cached owner of a key.
func (s *Store) RemoteActorByKeyID(ctx context.Context, keyID string) (*federation.Account, error) {
	a, err := scanRemote(s.db.QueryRow(ctx, `select `+remoteColumns+` from accounts
		where key_id = $1 and tenant_id is null`, keyID))
	if err != nil {
		return nil, pgutil.NotFound(err, "unknown key")
	}
	return a, nil
}

// RemoteActorByURI finds a cached remote actor.
func (s *Store) RemoteActorByURI(ctx context.Context, uri string) (*federation.Account, error) {
	a, err := scanRemote(s.db.QueryRow(ctx, `select `+remoteColumns+` from accounts
		where uri = $1 and tenant_id is null`, uri))
	if err != nil {
		return nil, pgutil.NotFound(err, "unknown actor")
	}
	return a, nil
}

// AccountByID loads any account, remote or local.
//
// Both forms are asked in one pipelined batch: one round trip, where
// asking for the remote form first cost every local account (each
// signed-in request's own account) a second one (issue 21).
func (s *Store) AccountByID(ctx context.Context, id int64) (*federation.Account, error) {
	var remote, local *federation.Account
	b := &pgx.Batch{}
	b.Queue(`select `+remoteColumns+` from accounts where id = $1 and tenant_id is null`, id).QueryRow(func(row pgx.Row) error {
		a, err := scanRemote(row)
		if err == pgx.ErrNoRows {
			return nil
		}
		remote = a
		return err
	})
	b.Queue(`select `+accountColumns+` from accounts where id = $1 and tenant_id is not null`, id).QueryRow(func(row pgx.Row) error {
		a, err := scanAccount(row)
		if err == pgx.ErrNoRows {
			return nil
		}
		local = a
		return err
	})
	if err := s.db.SendBatch(ctx, b).Close(); err != nil {
		return nil, err
	}
	switch {
	case remote != nil:
		return remote, nil
	case local != nil:
		return local, nil
	}
	return nil, pgutil.NotFound(pgx.ErrNoRows, "no such account")
}

// RemoteActorByHandle finds a cached remote actor by username and host.
func (s *Store) RemoteActorByHandle(ctx context.Context, user, host string) (*federation.Account, error) {
	a, err := scanRemote(s.db.QueryRow(ctx, `select `+remoteColumns+` from accounts
		where tenant_id is null and domain = $1 and lower(username) = lower($2) order by fetched_at desc limit 1`, host, user))
	if err != nil {
		return nil, pgutil.NotFound(err, "no such account")
	}
	return a, nil
}

// SetRemoteMovedTo records where a remote actor moved, once its Move was
// verified (the target names it in alsoKnownAs), even when its own
// document does not say movedTo (yet).
func (s *Store) SetRemoteMovedTo(ctx context.Context, accountID int64, uri string) error {
	_, err := s.db.Exec(ctx, `update accounts set moved_to_uri = $2 where id = $1 and tenant_id is null`, accountID, uri)
	return err
}
