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
	// files nothing twice). An author with more than pullAbove local
	// followers (≤ 0: no bound) is read instead (HomePullFollowers): the
	// fan-out files no home-feed rows for them from then on.
	HomeFanOutStep(ctx context.Context, batch, pullAbove int) (FanOutStep, error)
}

// HomePullFollowers is the default bound on an author's local followers
// past which their posts are read by their followers' home timelines
// instead of filed in each follower's feed (issue 21; migration 060). A
// home page reads one index range per such author its viewer follows, so
// the bound keeps them few; an author under it costs at most this many
// home-feed rows a post, filed in the background (about 25 ms of a core).
const HomePullFollowers = 1000

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
