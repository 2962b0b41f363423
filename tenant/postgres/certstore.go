package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/internal/pgutil"
	"github.com/roost-social/roost/tenant/certs"
)

// CertStore keeps the TLS certificate storage every web node shares
// (migrations/014_certificates.sql): certmagic's files in cert_storage and
// its expiring locks in cert_locks. Keys are compared bytewise (collate
// "C"), so everything under a directory key/ is the range key/ .. key0
// ('0' follows '/'), answered from the primary key's index.
type CertStore struct {
	db *pgxpool.Pool
}

var _ certs.KV = (*CertStore)(nil)

// NewCertStore returns a CertStore on db.
func NewCertStore(db *pgxpool.Pool) *CertStore { return &CertStore{db: db} }

// Put creates or replaces key.
func (s *CertStore) Put(ctx context.Context, key string, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	_, err := s.db.Exec(ctx, `
		insert into cert_storage (key, value) values ($1, $2)
		on conflict (key) do update set value = excluded.value, modified = now()`, key, value)
	if err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	return nil
}

// Get returns key's value, or errs.NotFound.
func (s *CertStore) Get(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := s.db.QueryRow(ctx, `select value from cert_storage where key = $1`, key).Scan(&v)
	if err != nil {
		return nil, pgutil.NotFound(err, "no such key "+key)
	}
	return v, nil
}

// Stat describes key as a file, else as a directory, else errs.NotFound.
func (s *CertStore) Stat(ctx context.Context, key string) (certs.Entry, error) {
	e := certs.Entry{}
	var rank int
	err := s.db.QueryRow(ctx, `
		(select 0, key, octet_length(value)::bigint, modified from cert_storage where key = $1::text)
		union all
		(select 1, key, 0, modified from cert_storage where key >= $1::text || '/' and key < $1::text || '0' limit 1)
		order by 1 limit 1`, key).Scan(&rank, &e.Key, &e.Size, &e.Modified)
	if err != nil {
		return certs.Entry{}, pgutil.NotFound(err, "no such key "+key)
	}
	if rank == 1 {
		e = certs.Entry{Key: key, Dir: true}
	}
	return e, nil
}

// Delete removes key and everything under it.
func (s *CertStore) Delete(ctx context.Context, key string) error {
	_, err := s.db.Exec(ctx, `delete from cert_storage where key = $1::text or (key >= $1::text || '/' and key < $1::text || '0')`, key)
	if err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}

// List returns every file under prefix/ (all files for ""), by key.
func (s *CertStore) List(ctx context.Context, prefix string) ([]certs.Entry, error) {
	return s.scan(ctx, prefix, false)
}

// Values is List with values.
func (s *CertStore) Values(ctx context.Context, prefix string) ([]certs.Entry, error) {
	return s.scan(ctx, prefix, true)
}

func (s *CertStore) scan(ctx context.Context, prefix string, values bool) ([]certs.Entry, error) {
	col := "null::bytea"
	if values {
		col = "value"
	}
	var rows pgx.Rows
	var err error
	q := `select key, octet_length(value)::bigint, modified, ` + col + ` from cert_storage`
	if prefix == "" {
		rows, err = s.db.Query(ctx, q+` order by key`)
	} else {
		rows, err = s.db.Query(ctx, q+` where key >= $1::text || '/' and key < $1::text || '0' order by key`, prefix)
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	defer rows.Close()
	var out []certs.Entry
	for rows.Next() {
		var e certs.Entry
		if err := rows.Scan(&e.Key, &e.Size, &e.Modified, &e.Value); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// TryLock takes the named lock unless another token holds it unexpired.
func (s *CertStore) TryLock(ctx context.Context, name, token string, ttl time.Duration) (bool, error) {
	var got bool
	err := s.db.QueryRow(ctx, `
		insert into cert_locks (name, owner, expires_at) values ($1, $2, now() + $3 * interval '1 millisecond')
		on conflict (name) do update set owner = excluded.owner, expires_at = excluded.expires_at
			where cert_locks.expires_at < now()
		returning true`, name, token, ttl.Milliseconds()).Scan(&got)
	if err == pgx.ErrNoRows {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("lock %s: %w", name, err)
	}
	return got, nil
}

// ExtendLock pushes the expiry of a lock token still holds.
func (s *CertStore) ExtendLock(ctx context.Context, name, token string, ttl time.Duration) (bool, error) {
	tag, err := s.db.Exec(ctx, `
		update cert_locks set expires_at = greatest(expires_at, now() + $3 * interval '1 millisecond')
		where name = $1 and owner = $2`, name, token, ttl.Milliseconds())
	if err != nil {
		return false, fmt.Errorf("extend lock %s: %w", name, err)
	}
	return tag.RowsAffected() == 1, nil
}

// Unlock releases the lock if token holds it.
func (s *CertStore) Unlock(ctx context.Context, name, token string) error {
	if _, err := s.db.Exec(ctx, `delete from cert_locks where name = $1 and owner = $2`, name, token); err != nil {
		return fmt.Errorf("unlock %s: %w", name, err)
	}
	return nil
}
