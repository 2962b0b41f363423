package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/tenant"
)

// RecordOrigin stores the origin this instance's web nodes serve on
// (migration 047); every node records it at start.
func (s *Store) RecordOrigin(ctx context.Context, o tenant.Origin) error {
	_, err := s.db.Exec(ctx, `
		insert into served_origin (scheme, port) values ($1, $2)
		on conflict (only_row) do update set scheme = excluded.scheme, port = excluded.port, updated_at = now()
		where (served_origin.scheme, served_origin.port) is distinct from (excluded.scheme, excluded.port)`,
		o.Scheme, o.Port)
	if err != nil {
		return fmt.Errorf("record served origin: %w", err)
	}
	return nil
}

// ServedOrigin is the origin the web nodes last recorded; nil when no
// node has started yet.
func (s *Store) ServedOrigin(ctx context.Context) (*tenant.Origin, error) {
	var o tenant.Origin
	err := s.db.QueryRow(ctx, `select scheme, port from served_origin`).Scan(&o.Scheme, &o.Port)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("served origin: %w", err)
	}
	return &o, nil
}
