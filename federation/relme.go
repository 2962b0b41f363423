package federation

import (
	"context"
	"time"
)

// FieldStore reads and verifies a local account's profile fields.
type FieldStore interface {
	// LocalFields reads a local account's profile fields.
	LocalFields(ctx context.Context, accountID int64) ([]Field, error)
	// MarkFieldVerified sets verified_at on the account's fields whose
	// value is still value (an edit meanwhile wins); it reports whether
	// one was.
	MarkFieldVerified(ctx context.Context, accountID int64, value string, at time.Time) (bool, error)
}
