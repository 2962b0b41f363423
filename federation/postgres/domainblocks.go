package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	db "github.com/roost-social/roost/federation/domainblock"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/pgutil"
)

// Domain blocks (federation/domainblock). Every method takes the scope it
// acts in: 0 is the instance's own blocks, otherwise one tenant's. A
// tenant scope never reads or changes the instance's rows or another
// tenant's: every statement filters on scope.

const blockColumns = `id, coalesce(tenant_id, 0), domain, severity, reject_media, reject_reports, public_comment,
	private_comment, obfuscate, coalesce(import_id, 0), created_at, updated_at`

func scanBlock(r pgx.Row) (db.Block, error) {
	var b db.Block
	var sev string
	err := r.Scan(&b.ID, &b.TenantID, &b.Domain, &sev, &b.RejectMedia, &b.RejectReports, &b.PublicComment,
		&b.PrivateComment, &b.Obfuscate, &b.ImportID, &b.CreatedAt, &b.UpdatedAt)
	b.Severity = db.Severity(sev)
	return b, err
}

func collectBlocks(rows pgx.Rows, err error) ([]db.Block, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (db.Block, error) { return scanBlock(r) })
}

// DomainBlocksVersion moves whenever a block changes.
func (s *Store) DomainBlocksVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.db.QueryRow(ctx, `select version from domain_blocks_version`).Scan(&v)
	return v, err
}

// AllDomainBlocks returns every block and the version they are at. The
// version is read first: a change committed in between makes the next
// poll reload, never the reverse.
func (s *Store) AllDomainBlocks(ctx context.Context) ([]db.Block, int64, error) {
	v, err := s.DomainBlocksVersion(ctx)
	if err != nil {
		return nil, 0, err
	}
	blocks, err := collectBlocks(s.db.Query(ctx, `select `+blockColumns+` from domain_blocks`))
	return blocks, v, err
}

// DomainBlocks lists a scope's blocks, optionally those whose domain
// contains search.
func (s *Store) ListDomainBlocks(ctx context.Context, scope int64, search string) ([]db.Block, error) {
	return collectBlocks(s.db.Query(ctx, `select `+blockColumns+` from domain_blocks
		where scope = $1 and ($2 = '' or strpos(domain, $2) > 0) order by domain`, scope, strings.ToLower(search)))
}

// DomainBlock returns one of a scope's blocks, or errs.NotFound.
func (s *Store) GetDomainBlock(ctx context.Context, scope, id int64) (*db.Block, error) {
	b, err := scanBlock(s.db.QueryRow(ctx, `select `+blockColumns+` from domain_blocks where scope = $1 and id = $2`, scope, id))
	if err != nil {
		return nil, pgutil.NotFound(err, "no such domain block")
	}
	return &b, nil
}

// upsertBlock writes b in its scope (b.TenantID) and returns its id and
// whether it was created.
func upsertBlock(ctx context.Context, tx pgx.Tx, b db.Block, importID int64) (int64, bool, error) {
	var id int64
	var created bool
	err := tx.QueryRow(ctx, `
		insert into domain_blocks (tenant_id, domain, severity, reject_media, reject_reports, public_comment,
			private_comment, obfuscate, import_id)
		values (nullif($1, 0::bigint), $2, $3, $4, $5, $6, $7, $8, nullif($9, 0::bigint))
		on conflict (scope, domain) do update set severity = excluded.severity, reject_media = excluded.reject_media,
			reject_reports = excluded.reject_reports, public_comment = excluded.public_comment,
			private_comment = excluded.private_comment, obfuscate = excluded.obfuscate,
			import_id = excluded.import_id, updated_at = now()
		returning id, xmax = 0`, b.TenantID, b.Domain, string(b.Severity), b.RejectMedia, b.RejectReports,
		b.PublicComment, b.PrivateComment, b.Obfuscate, importID).Scan(&id, &created)
	if err != nil {
		return 0, false, pgutil.Invalid(err, "the block is not valid (domain, severity or comment)")
	}
	if b.Severity == db.Suspend {
		if err := dropPending(ctx, tx, b.TenantID, b.Domain); err != nil {
			return 0, false, err
		}
	}
	return id, created, nil
}

// dropPending fails the pending deliveries of scope's senders to a newly
// suspended domain (and its subdomains), with the reason, so workers
// never attempt them.
func dropPending(ctx context.Context, tx pgx.Tx, scope int64, domain string) error {
	_, err := tx.Exec(ctx, `
		update deliveries d set state = 'failed', leased_until = null, last_error = 'domain suspended: ' || $2
		where d.state = 'pending'
			and (split_part(d.host, ':', 1) = $2 or split_part(d.host, ':', 1) like '%.' || $2)
			and ($1 = 0 or d.sender_id in (select id from accounts where tenant_id = $1))`, scope, domain)
	if err != nil {
		return fmt.Errorf("drop deliveries to %s: %w", domain, err)
	}
	return nil
}

func bumpVersion(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `update domain_blocks_version set version = version + 1`)
	return err
}

// SaveDomainBlock creates or replaces the scope's block of b.Domain by
// hand (b.TenantID is the scope). A suspension fails the scope's pending
// deliveries to the domain in the same transaction.
func (s *Store) SaveDomainBlock(ctx context.Context, b db.Block) (created bool, err error) {
	d, err := db.NormalizeDomain(b.Domain)
	if err != nil {
		return false, err
	}
	b.Domain = d
	err = pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if _, created, err = upsertBlock(ctx, tx, b, 0); err != nil {
			return err
		}
		return bumpVersion(ctx, tx)
	})
	return created, err
}

// DeleteDomainBlock removes one of a scope's blocks and returns it.
func (s *Store) DeleteDomainBlock(ctx context.Context, scope, id int64) (*db.Block, error) {
	var b db.Block
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		b, err = scanBlock(tx.QueryRow(ctx, `delete from domain_blocks where scope = $1 and id = $2 returning `+blockColumns, scope, id))
		if err != nil {
			return pgutil.NotFound(err, "no such domain block")
		}
		return bumpVersion(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	return &b, nil
}

func (s *Store) currentBlocks(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, scope int64, domains []string) (map[string]db.Block, error) {
	blocks, err := collectBlocks(q.Query(ctx, `select `+blockColumns+` from domain_blocks where scope = $1 and domain = any($2)`, scope, domains))
	if err != nil {
		return nil, err
	}
	m := make(map[string]db.Block, len(blocks))
	for _, b := range blocks {
		m[b.Domain] = b
	}
	return m, nil
}

func domainsOf(list []db.Block) []string {
	out := make([]string, len(list))
	for i, b := range list {
		out[i] = b.Domain
	}
	return out
}

// PreviewImport says what importing list into scope would do, changing
// nothing.
func (s *Store) PreviewImport(ctx context.Context, scope int64, list []db.Block) ([]db.Change, error) {
	cur, err := s.currentBlocks(ctx, s.db, scope, domainsOf(list))
	if err != nil {
		return nil, err
	}
	return db.Diff(cur, list), nil
}

// ApplyImport applies list to scope as one batch in one transaction:
// added and changed blocks point at the new import, and each change keeps
// the row as it was, for UndoImport. Unchanged domains are left alone. It
// returns the import (Added, Changed set).
func (s *Store) ApplyImport(ctx context.Context, scope int64, source string, by db.By, list []db.Block) (*db.Import, error) {
	imp := &db.Import{TenantID: scope, Source: source, Email: by.Email}
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		// One import per scope at a time: two concurrent ones would each
		// record the other's rows as "previous".
		if _, err := tx.Exec(ctx, `select pg_advisory_xact_lock(hashtext('blocklist_import'), $1::int)`, int32(scope)); err != nil {
			return err
		}
		cur, err := s.currentBlocks(ctx, tx, scope, domainsOf(list))
		if err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `insert into blocklist_imports (tenant_id, source, user_id, user_email)
			values (nullif($1, 0::bigint), $2, nullif($3, 0::bigint), $4) returning id, created_at`,
			scope, source, by.UserID, by.Email).Scan(&imp.ID, &imp.CreatedAt); err != nil {
			return pgutil.Invalid(err, "the import source is too long")
		}
		for _, c := range db.Diff(cur, list) {
			if c.Kind == db.Unchanged {
				continue
			}
			var prev []byte
			if c.Old != nil {
				if prev, err = json.Marshal(c.Old); err != nil {
					return err
				}
				imp.Changed++
			} else {
				imp.Added++
			}
			b := c.New
			b.TenantID = scope
			if _, _, err := upsertBlock(ctx, tx, b, imp.ID); err != nil {
				return fmt.Errorf("%s: %w", b.Domain, err)
			}
			if _, err := tx.Exec(ctx, `insert into blocklist_import_changes (import_id, domain, previous) values ($1, $2, $3)`,
				imp.ID, b.Domain, prev); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `update blocklist_imports set added = $2, changed = $3 where id = $1`, imp.ID, imp.Added, imp.Changed); err != nil {
			return err
		}
		return bumpVersion(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	return imp, nil
}

// UndoImport reverses one of a scope's imports: blocks it created are
// removed and blocks it changed get their previous settings back — each
// only while the import is still the last to have touched it (a block
// edited since, by hand or by a later import, is left as it is and
// counted as skipped).
func (s *Store) UndoImport(ctx context.Context, scope, id int64) (*db.UndoResult, error) {
	res := &db.UndoResult{}
	err := pgutil.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `select pg_advisory_xact_lock(hashtext('blocklist_import'), $1::int)`, int32(scope)); err != nil {
			return err
		}
		var undone *time.Time
		if err := tx.QueryRow(ctx, `select undone_at from blocklist_imports where id = $1 and coalesce(tenant_id, 0) = $2 for update`,
			id, scope).Scan(&undone); err != nil {
			return pgutil.NotFound(err, "no such import")
		}
		if undone != nil {
			return errs.E(errs.Conflict, "this import was already undone")
		}
		rows, err := tx.Query(ctx, `select domain, previous from blocklist_import_changes where import_id = $1`, id)
		if err != nil {
			return err
		}
		type change struct {
			domain string
			prev   []byte
		}
		changes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (change, error) {
			var c change
			err := r.Scan(&c.domain, &c.prev)
			return c, err
		})
		if err != nil {
			return err
		}
		for _, c := range changes {
			if c.prev == nil {
				tag, err := tx.Exec(ctx, `delete from domain_blocks where scope = $1 and domain = $2 and import_id = $3`, scope, c.domain, id)
				if err != nil {
					return err
				}
				if tag.RowsAffected() == 1 {
					res.Removed++
				} else {
					res.Skipped++
				}
				continue
			}
			var old db.Block
			if err := json.Unmarshal(c.prev, &old); err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, `update domain_blocks set severity = $4, reject_media = $5, reject_reports = $6,
				public_comment = $7, private_comment = $8, obfuscate = $9, import_id = nullif($10, 0::bigint), updated_at = now()
				where scope = $1 and domain = $2 and import_id = $3`, scope, c.domain, id, string(old.Severity), old.RejectMedia,
				old.RejectReports, old.PublicComment, old.PrivateComment, old.Obfuscate, old.ImportID)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 1 {
				res.Restored++
			} else {
				res.Skipped++
			}
		}
		if _, err := tx.Exec(ctx, `update blocklist_imports set undone_at = now() where id = $1`, id); err != nil {
			return err
		}
		return bumpVersion(ctx, tx)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Imports lists a scope's imports, newest first.
func (s *Store) Imports(ctx context.Context, scope int64, limit int) ([]db.Import, error) {
	rows, err := s.db.Query(ctx, `select id, coalesce(tenant_id, 0), source, user_email, added, changed, created_at, undone_at
		from blocklist_imports where coalesce(tenant_id, 0) = $1 order by id desc limit $2`, scope, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (db.Import, error) {
		var i db.Import
		err := r.Scan(&i.ID, &i.TenantID, &i.Source, &i.Email, &i.Added, &i.Changed, &i.CreatedAt, &i.UndoneAt)
		return i, err
	})
}

// Subscriptions.

const subColumns = `id, coalesce(tenant_id, 0), url, created_at, last_fetch_at, next_fetch_at, etag, last_error, coalesce(last_import_id, 0)`

func scanSub(r pgx.Row) (db.Subscription, error) {
	var s db.Subscription
	err := r.Scan(&s.ID, &s.TenantID, &s.URL, &s.CreatedAt, &s.LastFetchAt, &s.NextFetchAt, &s.ETag, &s.LastError, &s.LastImportID)
	return s, err
}

// AddSubscription follows a block list URL in scope; roost work fetches
// it at once.
func (s *Store) AddSubscription(ctx context.Context, scope int64, url string) (*db.Subscription, error) {
	sub, err := scanSub(s.db.QueryRow(ctx, `insert into blocklist_subscriptions (tenant_id, url) values (nullif($1, 0::bigint), $2)
		returning `+subColumns, scope, url))
	if pgutil.IsUniqueViolation(err) {
		return nil, errs.E(errs.Conflict, "this list is already subscribed")
	}
	if err != nil {
		return nil, pgutil.Invalid(err, "the URL must start with https:// and be at most 2000 characters")
	}
	return &sub, nil
}

// Subscriptions lists a scope's subscriptions.
func (s *Store) Subscriptions(ctx context.Context, scope int64) ([]db.Subscription, error) {
	rows, err := s.db.Query(ctx, `select `+subColumns+` from blocklist_subscriptions where scope = $1 order by id`, scope)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (db.Subscription, error) { return scanSub(r) })
}

// DeleteSubscription stops following a list; blocks it imported stay
// (undo its imports to remove them).
func (s *Store) DeleteSubscription(ctx context.Context, scope, id int64) (*db.Subscription, error) {
	sub, err := scanSub(s.db.QueryRow(ctx, `delete from blocklist_subscriptions where scope = $1 and id = $2 returning `+subColumns, scope, id))
	if err != nil {
		return nil, pgutil.NotFound(err, "no such subscription")
	}
	return &sub, nil
}

// ClaimDueSubscription takes the next subscription due for a fetch,
// pushing its next fetch out by lease so other workers skip it.
func (s *Store) ClaimDueSubscription(ctx context.Context, now time.Time, lease time.Duration) (*db.Subscription, error) {
	sub, err := scanSub(s.db.QueryRow(ctx, `update blocklist_subscriptions set next_fetch_at = $1::timestamptz + $2::interval
		where id = (select id from blocklist_subscriptions where next_fetch_at <= $1 order by next_fetch_at
			limit 1 for update skip locked)
		returning `+subColumns, now, lease))
	if err != nil {
		return nil, pgutil.NotFound(err, "no subscription is due")
	}
	return &sub, nil
}

// RecordSubscriptionFetch stores a fetch's outcome and the next fetch.
func (s *Store) RecordSubscriptionFetch(ctx context.Context, id int64, at, next time.Time, etag, fetchErr string, importID int64) error {
	_, err := s.db.Exec(ctx, `update blocklist_subscriptions set last_fetch_at = $2, next_fetch_at = $3,
		etag = case when $5 = '' then $4 else etag end, last_error = $5,
		last_import_id = coalesce(nullif($6, 0::bigint), last_import_id) where id = $1`,
		id, at, next, etag, fetchErr, importID)
	return err
}
