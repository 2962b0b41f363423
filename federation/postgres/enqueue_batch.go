package postgres

import (
	"context"
	"fmt"
	"time"
)

// InboxBatcher group-commits inbox enqueues: concurrent Enqueue calls are
// gathered for up to a millisecond (or 256 items) and written by one
// multi-row INSERT, so a busy inbox pays one round trip and one commit per
// batch instead of per activity. Each call still returns only once its row
// is committed: nothing is acknowledged before it is durable.
type InboxBatcher struct {
	store *Store
	reqs  chan enqueueReq
	done  chan struct{}
}

type enqueueReq struct {
	tenantID             int64
	activityID, actorURI string
	activity             []byte
	result               chan enqueueResult
}

type enqueueResult struct {
	duplicate bool
	err       error
}

// NewInboxBatcher starts a batcher; Close stops it.
func (s *Store) NewInboxBatcher() *InboxBatcher {
	b := &InboxBatcher{store: s, reqs: make(chan enqueueReq, 1024), done: make(chan struct{})}
	go b.run()
	return b
}

// Enqueue queues one activity, returning once it is committed.
func (b *InboxBatcher) Enqueue(ctx context.Context, tenantID int64, activityID, actorURI string, activity []byte) (bool, error) {
	r := enqueueReq{tenantID, activityID, actorURI, activity, make(chan enqueueResult, 1)}
	select {
	case b.reqs <- r:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	select {
	case res := <-r.result:
		return res.duplicate, res.err
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// Close stops the batcher after writing what it holds.
func (b *InboxBatcher) Close() {
	close(b.reqs)
	<-b.done
}

func (b *InboxBatcher) run() {
	defer close(b.done)
	for first := range b.reqs {
		batch := []enqueueReq{first}
		timer := time.NewTimer(time.Millisecond)
	gather:
		for len(batch) < 256 {
			select {
			case r, ok := <-b.reqs:
				if !ok {
					break gather
				}
				batch = append(batch, r)
			case <-timer.C:
				break gather
			}
		}
		timer.Stop()
		b.write(batch)
	}
}

// write inserts a batch; rows already present (same tenant and activity)
// are reported as duplicates.
func (b *InboxBatcher) write(batch []enqueueReq) {
	n := len(batch)
	tenants, ids, actors, docs := make([]int64, n), make([]string, n), make([]string, n), make([]string, n)
	for i, r := range batch {
		tenants[i], ids[i], actors[i], docs[i] = r.tenantID, r.activityID, r.actorURI, string(r.activity)
	}
	rows, err := b.store.db.Query(context.Background(), `
		insert into inbox_items (tenant_id, activity_id, actor_uri, activity)
		select * from unnest($1::bigint[], $2::text[], $3::text[], $4::jsonb[])
		on conflict (tenant_id, activity_id) do nothing
		returning tenant_id, activity_id`, tenants, ids, actors, docs)
	inserted := map[[2]string]bool{}
	if err == nil {
		for rows.Next() {
			var t int64
			var id string
			if err = rows.Scan(&t, &id); err != nil {
				break
			}
			inserted[[2]string{fmt.Sprint(t), id}] = true
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	for _, r := range batch {
		if err != nil {
			// One bad row must not fail its neighbours: write one by one.
			dup, ierr := b.store.Enqueue(context.Background(), r.tenantID, r.activityID, r.actorURI, r.activity)
			r.result <- enqueueResult{duplicate: dup, err: ierr}
			continue
		}
		r.result <- enqueueResult{duplicate: !inserted[[2]string{fmt.Sprint(r.tenantID), r.activityID}]}
	}
}
