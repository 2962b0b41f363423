package portability

import (
	"context"
	"log/slog"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/portability/archive"
	"github.com/roost-social/roost/internal/errs"
)

// FollowQueue holds the follows imports queued.
type FollowQueue interface {
	// ClaimFollows leases up to limit follows due at now.
	ClaimFollows(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]archive.QueuedFollow, error)
	// FinishFollow ends one, counting it sent or failed on its import.
	FinishFollow(ctx context.Context, id int64, sent bool) error
	// RetryFollow puts one back, due at at.
	RetryFollow(ctx context.Context, id int64, at time.Time) error
	AccountByID(ctx context.Context, id int64) (*federation.Account, error)
}

// Follower sends a Follow (outbox.Service): for a handle it asks the
// server's WebFinger and fetches the actor first, for a known actor URI
// it sends the Follow alone.
type Follower interface {
	Follow(ctx context.Context, local *federation.Account, target string) (*federation.Follow, error)
}

// FollowSender sends the follows imports queued, as they fall due: the
// queue dates them so that one server gets them spread over time.
type FollowSender struct {
	Queue    FollowQueue
	Follower Follower
	Log      *slog.Logger
	Now      func() time.Time
}

// maxFollowAttempts bounds how often a follow failing for a passing
// reason (a server down, a timeout) is tried.
const maxFollowAttempts = 3

// followLease is how long a claimed follow is a worker's.
const followLease = 5 * time.Minute

// Once sends up to limit follows due now, and returns how many it
// handled.
func (s *FollowSender) Once(ctx context.Context, limit int) (int, error) {
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	due, err := s.Queue.ClaimFollows(ctx, now, followLease, limit)
	if err != nil {
		return 0, err
	}
	for _, q := range due {
		if err := s.send(ctx, q, now); err != nil {
			return 0, err
		}
	}
	return len(due), nil
}

// send follows one target and records the outcome: sent, failed for good
// (no such account, refused), or tried again later.
func (s *FollowSender) send(ctx context.Context, q archive.QueuedFollow, now time.Time) error {
	local, err := s.Queue.AccountByID(ctx, q.AccountID)
	if err == nil {
		_, err = s.Follower.Follow(ctx, local, q.Target)
	}
	if ctx.Err() != nil {
		return ctx.Err() // the lease lapses; another pass sends it
	}
	if err == nil {
		return s.Queue.FinishFollow(ctx, q.ID, true)
	}
	if s.Log != nil {
		s.Log.Info("import follow failed", "import", q.ImportID, "target", q.Target, "attempt", q.Attempts, "err", err)
	}
	switch errs.CodeOf(err) {
	case errs.Internal, errs.Unavailable, errs.TooMany:
		if q.Attempts < maxFollowAttempts {
			return s.Queue.RetryFollow(ctx, q.ID, now.Add(time.Duration(q.Attempts)*15*time.Minute))
		}
	}
	return s.Queue.FinishFollow(ctx, q.ID, false)
}

// followBatch is how many follows one claim of a pass takes.
const followBatch = 10

// SendDue sends the follows due now, batch by batch, until none is left,
// and returns how many it handled.
func (s *FollowSender) SendDue(ctx context.Context, batch int) (int, error) {
	sent := 0
	for {
		n, err := s.Once(ctx, batch)
		if err != nil {
			return sent, err
		}
		if sent += n; n == 0 {
			return sent, nil
		}
	}
}

// Pass is one pass of the worker: every follow due now is sent, a few at
// a time, apart from the archive jobs so that a slow server delays no
// export or import.
func (s *FollowSender) Pass(ctx context.Context) error {
	_, err := s.SendDue(ctx, followBatch)
	return err
}
