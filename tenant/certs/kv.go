// Package certs serves tenants' domains over HTTPS: on-demand certificates
// from an ACME CA (or a local CA for development) obtained by certmagic on
// the first TLS handshake for a verified domain of an active tenant, kept
// in storage every web node shares, and renewed in the background.
//
// The database side is the small KV interface below (implemented on
// PostgreSQL by tenant/postgres.CertStore); Storage adapts it to
// certmagic.Storage, Decider is the on-demand DecisionFunc, and Manager
// wires them into a tls.Config and an HTTP handler for port 80.
package certs

import (
	"context"
	"time"
)

// KV is the shared key/value store and lock table behind Storage. Keys
// are slash-separated paths without leading or trailing slash; a key's
// "directory" is every key under key+"/". Implementations MUST be safe for
// concurrent use, and every node of an instance must see the same data.
type KV interface {
	// Put creates or replaces key.
	Put(ctx context.Context, key string, value []byte) error
	// Get returns key's value, or an errs.NotFound error.
	Get(ctx context.Context, key string) ([]byte, error)
	// Stat describes key: a file (Dir false), else a directory when any
	// key lies under it (Dir true), else an errs.NotFound error.
	Stat(ctx context.Context, key string) (Entry, error)
	// Delete removes key and every key under it; a missing key is no error.
	Delete(ctx context.Context, key string) error
	// List returns every file under prefix+"/" (every file when prefix is
	// empty), sorted by key, without values.
	List(ctx context.Context, prefix string) ([]Entry, error)
	// Values is List with the values.
	Values(ctx context.Context, prefix string) ([]Entry, error)

	// TryLock takes the named lock for token until ttl from now, unless
	// another token holds it unexpired. It reports whether it took it.
	TryLock(ctx context.Context, name, token string, ttl time.Duration) (bool, error)
	// ExtendLock pushes the lock's expiry to at least ttl from now when
	// token still holds it, and reports whether it does.
	ExtendLock(ctx context.Context, name, token string, ttl time.Duration) (bool, error)
	// Unlock releases the lock if token holds it.
	Unlock(ctx context.Context, name, token string) error
}

// Entry is one key: a file (with Size and Modified, and Value when asked
// for) or a directory.
type Entry struct {
	Key      string
	Dir      bool
	Size     int64
	Modified time.Time
	Value    []byte
}
