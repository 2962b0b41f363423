package federation

import (
	"context"
	"time"
)

// HomeFanOuts is the durable queue of home-feed fan-outs: a status stored
// with a large audience is filed in its followers' home feeds after its
// transaction commits, a batch of followers at a time (issue 21).
type HomeFanOuts interface {
	// HomeFanOutStep takes the oldest due fan-out no other worker holds
	// and files its status in the home feeds of up to batch more followers,
	// in one transaction (idempotent: a batch rolled back or done twice
	// files nothing twice).
	HomeFanOutStep(ctx context.Context, batch int) (FanOutStep, error)
}

// FanOutStep is what one step of the fan-out did.
type FanOutStep struct {
	// Worked: a fan-out was due and taken; false: the queue had none.
	Worked bool
	// Done: the fan-out is finished (every follower has it, or the status
	// is gone) and left the queue.
	Done bool
	// Filed is how many followers the step reached.
	Filed int
	// Age is how long ago the fan-out was queued (its status posted).
	Age time.Duration
}
