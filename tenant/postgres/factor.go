package postgres

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/tenant/factor"
)

// FactorStore keeps two-factor sign-in (account_factors, factor_keys).
type FactorStore struct {
	db *pgxpool.Pool
}

var _ factor.Store = (*FactorStore)(nil)

// NewFactorStore returns a FactorStore on db.
func NewFactorStore(db *pgxpool.Pool) *FactorStore { return &FactorStore{db: db} }

// Key returns the instance's sealing key; the first caller makes it, and
// concurrent first callers all read the one that won.
func (s *FactorStore) Key(ctx context.Context) ([]byte, error) {
	var key []byte
	err := s.db.QueryRow(ctx, `select key from factor_keys`).Scan(&key)
	if err == nil {
		return key, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("factor key: %w", err)
	}
	fresh := make([]byte, 32)
	rand.Read(fresh) // never fails (crypto/rand since Go 1.24)
	if _, err := s.db.Exec(ctx, `insert into factor_keys (key) values ($1) on conflict (id) do nothing`, fresh); err != nil {
		return nil, fmt.Errorf("factor key: %w", err)
	}
	if err := s.db.QueryRow(ctx, `select key from factor_keys`).Scan(&key); err != nil {
		return nil, fmt.Errorf("factor key: %w", err)
	}
	return key, nil
}

// Factor returns the account's factor (zero when none).
func (s *FactorStore) Factor(ctx context.Context, accountID int64) (factor.Stored, error) {
	var f factor.Stored
	err := s.db.QueryRow(ctx, `select secret_sealed, pending_sealed, recovery, last_step from account_factors where account_id = $1`,
		accountID).Scan(&f.Secret, &f.Pending, &f.Recovery, &f.LastStep)
	if errors.Is(err, pgx.ErrNoRows) {
		return factor.Stored{}, nil
	}
	if err != nil {
		return f, fmt.Errorf("factor: %w", err)
	}
	return f, nil
}

// SetPending stores a secret being enrolled.
func (s *FactorStore) SetPending(ctx context.Context, accountID int64, sealed []byte) error {
	_, err := s.db.Exec(ctx, `
		insert into account_factors (account_id, pending_sealed) values ($1, $2)
		on conflict (account_id) do update set pending_sealed = $2, updated_at = now()`, accountID, sealed)
	if err != nil {
		return fmt.Errorf("factor pending: %w", err)
	}
	return nil
}

// Activate makes the pending secret active, spending step.
func (s *FactorStore) Activate(ctx context.Context, accountID, step int64, recovery [][]byte) (bool, error) {
	tag, err := s.db.Exec(ctx, `
		update account_factors set secret_sealed = pending_sealed, pending_sealed = null, recovery = $3,
			last_step = $2, enabled_at = now(), updated_at = now()
		where account_id = $1 and pending_sealed is not null and last_step < $2`, accountID, step, recovery)
	if err != nil {
		return false, fmt.Errorf("factor activate: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// SpendStep records step as used.
func (s *FactorStore) SpendStep(ctx context.Context, accountID, step int64) (bool, error) {
	tag, err := s.db.Exec(ctx, `update account_factors set last_step = $2
		where account_id = $1 and secret_sealed is not null and last_step < $2`, accountID, step)
	if err != nil {
		return false, fmt.Errorf("factor step: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// SpendRecovery removes one recovery code.
func (s *FactorStore) SpendRecovery(ctx context.Context, accountID int64, hash []byte) (bool, error) {
	tag, err := s.db.Exec(ctx, `update account_factors set recovery = array_remove(recovery, $2::bytea), updated_at = now()
		where account_id = $1 and secret_sealed is not null and $2::bytea = any(recovery)`, accountID, hash)
	if err != nil {
		return false, fmt.Errorf("factor recovery: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// Remove switches the account's second factor off.
func (s *FactorStore) Remove(ctx context.Context, accountID int64) error {
	if _, err := s.db.Exec(ctx, `delete from account_factors where account_id = $1`, accountID); err != nil {
		return fmt.Errorf("factor remove: %w", err)
	}
	return nil
}
