// Package pgutil holds the small pgx helpers every */postgres store shares.
package pgutil

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/internal/errs"
)

// InTx runs fn in a transaction, committing when it returns nil.
func InTx(ctx context.Context, db *pgxpool.Pool, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, db, fn)
}

// IsUniqueViolation reports whether err is PostgreSQL's unique_violation.
func IsUniqueViolation(err error) bool { return UniqueViolation(err) != nil }

// UniqueViolation returns err's PostgreSQL error when it is a
// unique_violation (its ConstraintName says which), and nil otherwise.
func UniqueViolation(err error) *pgconn.PgError {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return pe
	}
	return nil
}

// NotFound turns pgx.ErrNoRows into an errs.NotFound with message, and
// wraps any other error with context.
func NotFound(err error, message string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return errs.E(errs.NotFound, "%s", message)
	}
	return fmt.Errorf("%s: %w", message, err)
}

// Invalid maps a check-constraint or value error to errs.Invalid with
// message; other errors pass through.
func Invalid(err error, message string) error {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && (pg.Code == "23514" || strings.HasPrefix(pg.Code, "22")) {
		return errs.E(errs.Invalid, "%s", message)
	}
	return err
}
