package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/pgutil"
)

// TenantAccounts lists every local account of a tenant, moved ones
// (ghosts) included.
func (s *Store) TenantAccounts(ctx context.Context, tenantID int64) ([]*federation.Account, error) {
	rows, err := s.db.Query(ctx, `select `+accountColumns+` from accounts where tenant_id = $1 order by id`, tenantID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*federation.Account, error) { return scanAccount(r) })
}

// KnownInboxes lists the inboxes of every server that knows a tenant's
// accounts, one per server where a shared inbox exists: the servers of
// their followers and of those they follow, of every actor whose activity
// reached the tenant, and every inbox the tenant's accounts ever delivered
// to.
func (s *Store) KnownInboxes(ctx context.Context, tenantID int64) ([]string, error) {
	rows, err := s.db.Query(ctx, `
		with mine as (select id from accounts where tenant_id = $1),
		remote as (
			select f.follower_id as id from follows f where f.followee_id in (select id from mine)
			union select f.followee_id from follows f where f.follower_id in (select id from mine)
			union select a.id from inbox_items i join accounts a on a.uri = i.actor_uri where i.tenant_id = $1
		)
		select coalesce(a.shared_inbox_url, a.inbox_url) from accounts a
			where a.id in (select id from remote) and a.tenant_id is null and a.inbox_url is not null
		union
		select d.inbox_url from deliveries d where d.sender_id in (select id from mine)`, tenantID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// PendingDeliveries counts deliveries of a tenant's accounts not yet done
// or given up.
func (s *Store) PendingDeliveries(ctx context.Context, tenantID int64) (int64, error) {
	var n int64
	err := s.db.QueryRow(ctx, `select count(*) from deliveries where state = 'pending'
		and sender_id in (select id from accounts where tenant_id = $1)`, tenantID).Scan(&n)
	return n, err
}

// TenantExports lists a tenant's account archives, newest first.
func (s *Store) TenantExports(ctx context.Context, tenantID int64) ([]federation.TenantExport, error) {
	rows, err := s.db.Query(ctx, `select e.id, a.username || '@' || a.domain, e.state, coalesce(e.size, 0), e.expires_at
		from archive_exports e join accounts a on a.id = e.account_id
		where e.tenant_id = $1 and e.expires_at > now() order by e.id desc limit 500`, tenantID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (federation.TenantExport, error) {
		var e federation.TenantExport
		err := r.Scan(&e.ID, &e.Account, &e.State, &e.Size, &e.Expires)
		return e, err
	})
}

// TenantExportFile is the file of a tenant's finished, unexpired archive.
func (s *Store) TenantExportFile(ctx context.Context, tenantID, exportID int64) (string, error) {
	var path string
	err := s.db.QueryRow(ctx, `select path from archive_exports where id = $1 and tenant_id = $2 and state = 'done'
		and path is not null and expires_at > now()`, exportID, tenantID).Scan(&path)
	if err != nil {
		return "", pgutil.NotFound(err, "no such archive")
	}
	return path, nil
}

// TenantDomains lists a tenant's verified handle domains.
func (s *Store) TenantDomains(ctx context.Context, tenantID int64) ([]federation.TenantDomain, error) {
	rows, err := s.db.Query(ctx, `select d.domain,
			(select count(*) from accounts a where a.domain = d.domain and a.tenant_id = $1 and a.moved_to_uri is null),
			(select count(*) from accounts a where a.domain = d.domain and a.tenant_id = $1 and a.moved_to_uri is not null)
		from domains d where d.tenant_id = $1 and d.verified_at is not null order by d.created_at, d.domain`, tenantID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (federation.TenantDomain, error) {
		var d federation.TenantDomain
		err := r.Scan(&d.Domain, &d.Accounts, &d.Moved)
		return d, err
	})
}

// TenantFiles lists what a tenant keeps outside the database: the keys of
// its media files (originals and thumbnails) in the media store, and the
// archive zips (exports built, imports uploaded) on disk. A deletion
// removes them before the rows, so a crash between the two leaves the
// rows to find them again on the next pass.
func (s *Store) TenantFiles(ctx context.Context, tenantID int64) (keys, paths []string, err error) {
	rows, err := s.db.Query(ctx, `select file_key from media_attachments where tenant_id = $1
		union all select thumb_key from media_attachments where tenant_id = $1 and thumb_key is not null`, tenantID)
	if err != nil {
		return nil, nil, err
	}
	if keys, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return nil, nil, err
	}
	rows, err = s.db.Query(ctx, `select path from archive_exports where tenant_id = $1 and path is not null
		union all select path from archive_imports where tenant_id = $1`, tenantID)
	if err != nil {
		return nil, nil, err
	}
	paths, err = pgx.CollectRows(rows, pgx.RowTo[string])
	return keys, paths, err
}
