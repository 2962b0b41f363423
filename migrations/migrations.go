// Package migrations holds Roost's numbered SQL migrations, embedded in the
// binary, and applies them with tern. Each file runs in one transaction.
package migrations

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/tern/v2/migrate"
)

//go:embed *.sql
var files embed.FS

// versionTable records the applied version; schema-qualified as tern advises.
const versionTable = "public.roost_schema_version"

// Migrate brings the database at conn up to the newest migration. tern holds
// a PostgreSQL advisory lock while it works, so several pods may run it at
// once: one migrates, the others wait and then find nothing left to do.
func Migrate(ctx context.Context, conn *pgx.Conn) (from, to int32, err error) {
	m, err := migrate.NewMigrator(ctx, conn, versionTable)
	if err != nil {
		return 0, 0, fmt.Errorf("migrator: %w", err)
	}
	if err := m.LoadMigrations(files); err != nil {
		return 0, 0, fmt.Errorf("load migrations: %w", err)
	}
	from, err = m.GetCurrentVersion(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("current version: %w", err)
	}
	if err := m.Migrate(ctx); err != nil {
		return from, 0, fmt.Errorf("migrate: %w", err)
	}
	to, err = m.GetCurrentVersion(ctx)
	return from, to, err
}

// Latest is the version Migrate brings a database to.
func Latest() (int32, error) {
	names, err := migrate.FindMigrations(files)
	return int32(len(names)), err
}

// Checksum identifies the migration set's exact content, so test
// templates built from an older set are never reused.
func Checksum() string {
	h := sha256.New()
	names, _ := fs.Glob(files, "*.sql")
	for _, n := range names {
		b, _ := files.ReadFile(n)
		fmt.Fprintf(h, "%s %d\n", n, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}
