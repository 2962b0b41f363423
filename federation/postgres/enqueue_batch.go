package postgres

import "context"

// InboxBatcher group-commits inbox enqueues: concurrent Enqueue calls are
// written by one multi-row INSERT, so a busy inbox pays one round trip and
// one commit per batch instead of per activity. Each call still returns
// only once its row is committed: nothing is acknowledged before it is
// durable.
//
// Batches form without a timer: the writer takes whatever is queued (up to
// batchMax rows) and writes it at once, and what arrives meanwhile makes
// up the next batch. An idle inbox thus commits each activity straight
// away, and a busy one batches as much as its database is slow, instead of
// every request waiting out a fixed linger. One writer is deliberate: a
// second one takes half-empty batches while the first is in flight, which
// costs the database more per row (measured with roost bench inbox).
type InboxBatcher struct {
	store *Store
	reqs  chan enqueueReq
	done  chan struct{}
}

// batchMax bounds the rows of one INSERT.
const batchMax = 256

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

// run is the writer: it waits for a request, takes whatever else is
// already queued, and writes them together.
func (b *InboxBatcher) run() {
	defer close(b.done)
	batch := make([]enqueueReq, 0, batchMax)
	for first := range b.reqs {
		batch = append(batch[:0], first)
	gather:
		for len(batch) < batchMax {
			select {
			case r, ok := <-b.reqs:
				if !ok {
					break gather
				}
				batch = append(batch, r)
			default:
				break gather
			}
		}
		b.write(batch)
		clear(batch) // drop references to the written bodies
	}
}

type itemKey struct {
	tenantID   int64
	activityID string
}

// write inserts a batch; rows already present (same tenant and activity),
// or earlier in the same batch, are reported as duplicates.
func (b *InboxBatcher) write(batch []enqueueReq) {
	n := len(batch)
	tenants, ids, actors, docs := make([]int64, n), make([]string, n), make([]string, n), make([][]byte, n)
	for i, r := range batch {
		tenants[i], ids[i], actors[i], docs[i] = r.tenantID, r.activityID, r.actorURI, r.activity
	}
	rows, err := b.store.db.Query(context.Background(), `
		insert into inbox_items (tenant_id, activity_id, actor_uri, activity)
		select * from unnest($1::bigint[], $2::text[], $3::text[], $4::jsonb[])
		on conflict (tenant_id, activity_id) do nothing
		returning tenant_id, activity_id`, tenants, ids, actors, docs)
	inserted := make(map[itemKey]bool, n)
	if err == nil {
		for rows.Next() {
			var k itemKey
			if err = rows.Scan(&k.tenantID, &k.activityID); err != nil {
				break
			}
			inserted[k] = true
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
		k := itemKey{r.tenantID, r.activityID}
		r.result <- enqueueResult{duplicate: !inserted[k]}
		delete(inserted, k) // a repeat later in the batch is a duplicate
	}
}
