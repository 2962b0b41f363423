// Package delivery sends activities to remote inboxes. PostgreSQL holds
// every (activity, inbox) pair as a row; Redis Streams only dispatch row
// ids to workers, so a lost stream entry, a dead worker or an emptied Redis
// delays a delivery but never loses it: the sweeper re-dispatches due rows
// and XAUTOCLAIM takes over entries a dead consumer left pending.
package delivery

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/roost-social/roost/federation"
)

// Lanes: express (replies, mentions, direct messages, follow answers) is
// always read first, then fresh bulk work, then retries.
const (
	laneExpress = "express"
	laneBulk    = "bulk"
	laneRetry   = "retry"
	group       = "workers"
)

// Queue records deliveries and dispatches them.
type Queue struct {
	Store  federation.DeliveryStore
	Redis  goredis.UniversalClient
	Prefix string
	Log    *slog.Logger
}

func (q *Queue) stream(lane string) string { return q.Prefix + "deliveries:" + lane }

// Send records one delivery per inbox, then dispatches the new rows. A
// failed dispatch is only logged: the rows are committed, and the sweeper
// dispatches them.
func (q *Queue) Send(ctx context.Context, senderID int64, activityID string, body []byte, inboxes []string, express bool) error {
	ids, err := q.Store.AddDeliveries(ctx, senderID, activityID, body, inboxes, express)
	if err != nil {
		return err
	}
	lane := laneBulk
	if express {
		lane = laneExpress
	}
	if err := q.dispatch(ctx, lane, ids); err != nil && q.Log != nil {
		q.Log.WarnContext(ctx, "dispatching deliveries failed; the sweeper will", "activity", activityID, "err", err)
	}
	return nil
}

// DispatchTimeout bounds the Redis round trip that follows a committed
// send: past it the rows wait for the sweeper (ROOST_DELIVERY_SWEEP_EVERY).
const DispatchTimeout = time.Second

// Dispatch adds committed rows to the express or bulk lane.
func (q *Queue) Dispatch(ctx context.Context, express bool, ids []int64) error {
	lane := laneBulk
	if express {
		lane = laneExpress
	}
	return q.dispatch(ctx, lane, ids)
}

// dispatch adds row ids to a lane's stream in one round trip.
func (q *Queue) dispatch(ctx context.Context, lane string, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	// Bounded: the rows are committed and the post is made; a Redis that
	// does not answer must not hold the request (the sweeper dispatches).
	ctx, cancel := context.WithTimeout(ctx, DispatchTimeout)
	defer cancel()
	pipe := q.Redis.Pipeline()
	for _, id := range ids {
		pipe.XAdd(ctx, &goredis.XAddArgs{Stream: q.stream(lane), Values: []any{"id", strconv.FormatInt(id, 10)}})
	}
	_, err := pipe.Exec(ctx)
	return err
}
