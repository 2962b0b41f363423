package postgres

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/portability/archive"
	"github.com/roost-social/roost/internal/pgutil"
)

var _ archive.Source = (*Store)(nil)

// ArchiveStatuses pages an account's own posts, boosts excluded, newest
// first, by id (keyset paging on statuses_account).
func (s *Store) ArchiveStatuses(ctx context.Context, accountID, beforeID int64, limit int) ([]*federation.Status, error) {
	rows, err := s.db.Query(ctx, `select `+statusColumns+` from statuses
		where account_id = $1 and reblog_of_id is null and ($2 = 0 or id < $2)
		order by id desc limit $3`, accountID, beforeID, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*federation.Status, error) { return scanStatus(r) })
}

// address is an account's user@domain, as Mastodon's CSVs write it.
const address = `a.username || '@' || a.domain`

var archiveQueries = map[archive.Kind]string{
	archive.Likes:     `select s.uri from favourites f join statuses s on s.id = f.status_id where f.account_id = $1 order by f.created_at, s.id`,
	archive.Bookmarks: `select s.uri from bookmarks b join statuses s on s.id = b.status_id where b.account_id = $1 order by b.id`,
	archive.Following: `select ` + address + `, f.show_reblogs::text, f.notify::text, '' from follows f join accounts a on a.id = f.followee_id
		where f.follower_id = $1 order by f.id`,
	archive.Blocks: `select ` + address + ` from blocks b join accounts a on a.id = b.target_id where b.account_id = $1 order by b.created_at, a.id`,
	archive.Mutes: `select ` + address + `, m.notifications::text from mutes m join accounts a on a.id = m.target_id
		where m.account_id = $1 order by m.created_at, a.id`,
	archive.Lists: `select l.title, ` + address + ` from lists l join list_accounts la on la.list_id = l.id join accounts a on a.id = la.account_id
		where l.account_id = $1 order by l.id, la.id`,
}

// ArchiveEach streams the rows of one kind.
func (s *Store) ArchiveEach(ctx context.Context, accountID int64, kind archive.Kind, fn func([]string) error) error {
	q, ok := archiveQueries[kind]
	if !ok {
		return fmt.Errorf("unknown archive kind %q", kind)
	}
	rows, err := s.db.Query(ctx, q, accountID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return err
		}
		rec := make([]string, len(vals))
		for i, v := range vals {
			rec[i] = fmt.Sprint(v)
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ImportPosts recreates a batch of posts for a local account in one
// transaction, each once: a post whose original URI is already recorded
// for the account is skipped. A reply whose parent was imported points at
// the parent's new URI. uriFor gives a new post its URI from its id. It
// returns the posts created (for publishing) and how many were skipped.
func (s *Store) ImportPosts(ctx context.Context, local *federation.Account, posts []archive.ImportedPost,
	uriFor func(id int64) string) (created []*federation.Status, skipped int, err error) {
	err = pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		created, skipped = nil, 0
		for _, p := range posts {
			var known int64
			err := tx.QueryRow(ctx, `select status_id from imported_statuses where account_id = $1 and original_uri = $2`,
				local.ID, p.OriginalURI).Scan(&known)
			if err == nil {
				skipped++
				continue
			} else if err != pgx.ErrNoRows {
				return err
			}
			st := *p.Status
			st.AccountID, st.TenantID, st.ID = local.ID, local.TenantID, 0
			if st.InReplyToURI != "" {
				var parent string
				err := tx.QueryRow(ctx, `select s.uri from imported_statuses i join statuses s on s.id = i.status_id
					where i.account_id = $1 and i.original_uri = $2`, local.ID, st.InReplyToURI).Scan(&parent)
				if err == nil {
					st.InReplyToURI = parent
				} else if err != pgx.ErrNoRows {
					return err
				}
			}
			id := p.ID
			if id == 0 {
				if err := tx.QueryRow(ctx, `select nextval(pg_get_serial_sequence('statuses', 'id'))`).Scan(&id); err != nil {
					return err
				}
			}
			st.URI = uriFor(id)
			args, err := statusArgs(&st)
			if err != nil {
				return err
			}
			out, err := scanStatus(tx.QueryRow(ctx, insertStatus+` returning `+statusColumns,
				append(append([]any{id}, args...), st.TenantID)...))
			if err != nil {
				return fmt.Errorf("import %s: %w", p.OriginalURI, err)
			}
			if _, err := tx.Exec(ctx, `update statuses set in_reply_to_id = (select id from statuses where uri = $2)
				where id = $1 and $2 <> ''`, out.ID, out.InReplyToURI); err != nil {
				return err
			}
			if len(p.MediaIDs) > 0 {
				if _, err := tx.Exec(ctx, `update media_attachments m set status_id = $1, position = u.ord - 1
					from unnest($3::bigint[]) with ordinality as u(id, ord)
					where m.id = u.id and m.account_id = $2`, out.ID, local.ID, p.MediaIDs); err != nil {
					return fmt.Errorf("import media: %w", err)
				}
			}
			if _, err := tx.Exec(ctx, `insert into home_feeds (account_id, status_id) values ($1, $2) on conflict do nothing`,
				local.ID, out.ID); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `insert into imported_statuses (account_id, original_uri, status_id, publish_pending)
				values ($1, $2, $3, $4)`, local.ID, p.OriginalURI, out.ID, p.Publish); err != nil {
				return err
			}
			created = append(created, out)
		}
		return nil
	})
	return created, skipped, err
}

// ImportedStatus finds the status recreated from an original URI.
func (s *Store) ImportedStatus(ctx context.Context, accountID int64, originalURI string) (int64, bool, error) {
	var id int64
	err := s.db.QueryRow(ctx, `select status_id from imported_statuses where account_id = $1 and original_uri = $2`,
		accountID, originalURI).Scan(&id)
	if err == pgx.ErrNoRows {
		return 0, false, nil
	}
	return id, err == nil, err
}

// PublishImported delivers an imported post as a new one would be: into
// the home feeds of local followers (and the tenant timeline when public)
// and as delivery rows for remote followers. It returns the delivery ids
// to dispatch.
func (s *Store) PublishImported(ctx context.Context, st *federation.Status,
	render func(*federation.Status) (string, []byte, error)) ([]int64, error) {
	var ids []int64
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		// Once: the pending mark goes in the transaction that delivers, so
		// a rerun after a crash publishes what is left, nothing twice.
		tag, err := tx.Exec(ctx, `update imported_statuses set publish_pending = false
			where account_id = $1 and status_id = $2 and publish_pending`, st.AccountID, st.ID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		if err := localFanOut(ctx, tx, st); err != nil {
			return err
		}
		activityID, body, err := render(st)
		if err != nil {
			return err
		}
		inboxes, err := remoteInboxes(ctx, tx, st)
		if err != nil {
			return err
		}
		ids, err = addDeliveries(ctx, tx, st.AccountID, activityID, body, inboxes, false)
		return err
	})
	return ids, err
}

// ImportedURIs reports which of the original URIs an account already
// imported: one query per batch instead of one per post.
func (s *Store) ImportedURIs(ctx context.Context, accountID int64, originalURIs []string) (map[string]bool, error) {
	rows, err := s.db.Query(ctx, `select original_uri from imported_statuses where account_id = $1 and original_uri = any($2)`,
		accountID, originalURIs)
	if err != nil {
		return nil, err
	}
	uris, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	done := make(map[string]bool, len(uris))
	for _, u := range uris {
		done[u] = true
	}
	return done, nil
}

// ReserveStatusIDs takes n status ids, increasing, so an import that
// reads its archive newest first can still give older posts smaller ids
// (timelines are ordered by id). Concurrent inserts may interleave, so
// the ids are returned, not just the first.
func (s *Store) ReserveStatusIDs(ctx context.Context, n int) ([]int64, error) {
	rows, err := s.db.Query(ctx, `select nextval(pg_get_serial_sequence('statuses', 'id')) from generate_series(1, $1::int)`, n)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, err
	}
	slices.Sort(ids)
	return ids, nil
}

// ResolveImportedReplies threads the imported replies of an account
// whose parent was imported after them (an archive is read in its order,
// newest first): in_reply_to points at the parent's new URI and id, and
// the parent's replies count follows. A reply already threaded no longer
// names an original URI, so running it again changes nothing.
func (s *Store) ResolveImportedReplies(ctx context.Context, accountID int64) (int64, error) {
	tag, err := s.db.Exec(ctx, `with r as (
			update statuses s set in_reply_to_uri = p.uri, in_reply_to_id = p.id
			from imported_statuses c, imported_statuses pi, statuses p
			where c.account_id = $1 and s.id = c.status_id and s.account_id = $1
				and pi.account_id = $1 and pi.original_uri = s.in_reply_to_uri and p.id = pi.status_id
			returning p.id as parent)
		insert into status_stats (status_id, replies_count) select parent, count(*) from r group by parent
		on conflict (status_id) do update set replies_count = status_stats.replies_count + excluded.replies_count`, accountID)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// PendingPublications are an account's imported posts still to be
// delivered to followers, oldest first, after afterID.
func (s *Store) PendingPublications(ctx context.Context, accountID, afterID int64, limit int) ([]*federation.Status, error) {
	rows, err := s.db.Query(ctx, `select `+statusColumns+` from statuses
		where account_id = $1 and id > $2
			and id in (select status_id from imported_statuses where account_id = $1 and publish_pending)
		order by id limit $3`, accountID, afterID, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*federation.Status, error) { return scanStatus(r) })
}
