package verify

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"time"

	"github.com/roost-social/roost/internal/errs"
)

// InviteStore keeps one-time invite codes by their hash (HashCode).
type InviteStore interface {
	CreateInvite(ctx context.Context, hash []byte, until *time.Time) error
}

// MaxInvites bounds the codes one call makes.
const MaxInvites = 1000

// CreateInvites makes n one-time invite codes for ROOST_SIGNUPS=invite,
// valid until until (nil: until used). Only their hashes are kept; the
// codes are returned once. On a failure it returns the codes already
// kept with the error, so none that works goes unseen.
func CreateInvites(ctx context.Context, store InviteStore, n int, until *time.Time) ([]string, error) {
	if n < 1 || n > MaxInvites {
		return nil, errs.E(errs.Invalid, "--count must be 1 to %d", MaxInvites)
	}
	codes := make([]string, 0, n)
	for range n {
		b := make([]byte, 10)
		if _, err := rand.Read(b); err != nil {
			return codes, fmt.Errorf("invite code: %w", err)
		}
		code := base32.StdEncoding.EncodeToString(b)
		if err := store.CreateInvite(ctx, HashCode(code), until); err != nil {
			return codes, fmt.Errorf("keep invite code: %w", err)
		}
		codes = append(codes, code)
	}
	return codes, nil
}
