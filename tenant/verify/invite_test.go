package verify

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/roost-social/roost/internal/errs"
)

type inviteStore struct {
	hashes [][]byte
	until  []*time.Time
	failAt int
}

func (s *inviteStore) CreateInvite(_ context.Context, hash []byte, until *time.Time) error {
	if s.failAt > 0 && len(s.hashes) == s.failAt {
		return errors.New("database gone")
	}
	s.hashes = append(s.hashes, hash)
	s.until = append(s.until, until)
	return nil
}

// TestIssue15Finding1CreateInvites: the invite rule left cmd: codes are
// distinct, only their hashes are kept, the count is bounded, and a
// failure still returns the codes already kept.
func TestIssue15Finding1CreateInvites(t *testing.T) {
	ctx := context.Background()
	for _, n := range []int{0, -1, MaxInvites + 1} {
		s := &inviteStore{}
		if _, err := CreateInvites(ctx, s, n, nil); !errs.Is(err, errs.Invalid) || len(s.hashes) != 0 {
			t.Errorf("count %d: err %v, kept %d", n, err, len(s.hashes))
		}
	}
	s, until := &inviteStore{}, time.Unix(1e9, 0)
	codes, err := CreateInvites(ctx, s, 5, &until)
	if err != nil || len(codes) != 5 {
		t.Fatalf("codes %q, err %v", codes, err)
	}
	seen := map[string]bool{}
	for i, c := range codes {
		if len(c) != 16 || seen[c] || !bytes.Equal(s.hashes[i], HashCode(c)) || s.until[i] != &until {
			t.Errorf("code %d %q: duplicate, wrong length or not kept by its hash", i, c)
		}
		seen[c] = true
	}
	s = &inviteStore{failAt: 2}
	codes, err = CreateInvites(ctx, s, 5, nil)
	if err == nil || len(codes) != 2 || len(s.hashes) != 2 {
		t.Fatalf("failure: codes %q, err %v; want the 2 kept and the error", codes, err)
	}
}
