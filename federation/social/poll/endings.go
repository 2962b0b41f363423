// Package poll holds the use cases of polls. Endings tells a poll's
// author and voters that it ended ("poll" notifications); `roost work`
// runs its Pass as a job on every worker.
package poll

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// EndingsBatch bounds the polls one transaction notifies.
const EndingsBatch = 100

// maxBatches bounds one pass: EndingsBatch × maxBatches polls, the rest
// at the next pass.
const maxBatches = 100

// EndedPolls is where ended polls are claimed and notified
// (federation/postgres): due polls are claimed with SKIP LOCKED and
// marked in the same transaction, so none is notified twice.
type EndedPolls interface {
	// NotifyEndedPolls notifies up to limit polls ended by now (nil: the
	// database's clock, which every worker shares) and returns how many.
	NotifyEndedPolls(ctx context.Context, now *time.Time, limit int) (int, error)
}

// Endings sends the notifications of ended polls.
type Endings struct {
	Store EndedPolls
	Log   *slog.Logger
}

// Pass notifies ended polls, batch after batch while batches come back
// full, so a backlog clears in one pass.
func (e *Endings) Pass(ctx context.Context) error {
	for range maxBatches {
		n, err := e.Store.NotifyEndedPolls(ctx, nil, EndingsBatch)
		if err != nil {
			return fmt.Errorf("notify ended polls: %w", err)
		}
		if n > 0 && e.Log != nil {
			e.Log.Debug("ended polls notified", "polls", n)
		}
		if n < EndingsBatch || ctx.Err() != nil {
			return nil
		}
	}
	return nil
}
