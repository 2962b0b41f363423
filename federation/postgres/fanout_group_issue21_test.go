package postgres_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	fedpg "github.com/roost-social/roost/federation/postgres"
)

// Issue 21, posting: an account posting faster than its audience is
// reached queued one fan-out per post, and the job filed them one after
// the other, each walking the whole audience: every post dirtied every
// follower's home-feed index page again, and fired its own triggers and
// commit. Fan-outs of one author queued meanwhile now go through the
// followers together, one statement per batch of followers for all of
// them; those that cannot go with them (another audience, a boost, one
// already under way) keep their own.
func TestIssue21QueuedFanOutsOfOneAuthorGoTogether(t *testing.T) {
	w := newMoreWorld(t)
	ctx := context.Background()
	local := w.seedFollowers(w.ta, "a.example", "fa", w.bob, fedpg.HomeFanOutInline+2*fanOutBatch+5, true)
	other := w.seedFollowers(w.tb, "b.example", "fb", w.bob, 3, true)
	// Statements filing home-feed rows, and what each filed.
	w.exec(`create table seen_feed (n serial, statuses bigint[], rows int)`)
	w.exec(`create function seen_feed() returns trigger language plpgsql as $$
		begin insert into seen_feed (statuses, rows) select array_agg(distinct status_id order by status_id), count(*) from seen_rows; return null; end $$`)
	w.exec(`create trigger seen_feed after insert on home_feeds referencing new table as seen_rows
		for each statement execute function seen_feed()`)

	first := w.post(w.bob, "one", federation.Public, nil, false)
	w.step() // the first post's fan-out is under way: it goes on alone
	posts := []*federation.Status{
		w.post(w.bob, "two", federation.Public, nil, false),
		w.post(w.bob, "three", federation.Public, nil, false),
		w.post(w.bob, "four", federation.Public, nil, false),
	}
	private := w.post(w.bob, "five", federation.Private, nil, false) // no tenant timelines: an audience of its own
	w.exec(`delete from seen_feed`)

	if s := w.step(); !s.Worked || s.Done || s.Filed != fanOutBatch {
		t.Fatalf("the first post's second batch: %+v", s)
	}
	if s := w.step(); !s.Worked || !s.Done {
		t.Fatalf("the first post's last batch: %+v", s)
	}
	if s := w.step(); !s.Worked || s.Done || s.Filed != fanOutBatch {
		t.Fatalf("the queued posts' first batch: %+v", s)
	}
	var statuses []int64
	var rows int
	if err := w.db.QueryRow(ctx, `select statuses, rows from seen_feed order by n desc limit 1`).Scan(&statuses, &rows); err != nil {
		t.Fatal(err)
	}
	want := []int64{posts[0].ID, posts[1].ID, posts[2].ID}
	sameIDs(t, "statuses filed by the group's one statement", statuses, want)
	if rows != 3*fanOutBatch {
		t.Errorf("the group's step filed %d rows, want %d", rows, 3*fanOutBatch)
	}
	reached := local[:fedpg.HomeFanOutInline+fanOutBatch]
	for _, p := range posts {
		sameIDs(t, "followers of a grouped post after one step", w.holders(p.ID, local), reached)
	}
	sameIDs(t, "followers of the private post, not in the group", w.holders(private.ID, local), local[:fedpg.HomeFanOutInline])

	w.drain()
	for _, p := range append(posts, first, private) {
		sameIDs(t, "followers after the drain", w.holders(p.ID, local), local)
		sameIDs(t, "followers on tenant B after the drain", w.holders(p.ID, other), other)
	}
	for _, p := range posts {
		var n int
		if err := w.db.QueryRow(ctx, `select count(*) from tenant_timeline where tenant_id = $1 and status_id = $2 and not local`,
			w.tb, p.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("tenant B's timeline holds a grouped post %d times, want once", n)
		}
	}
}

// A grouped fan-out streams each post to each follower once, as a lone
// one does.
func TestIssue21GroupedFanOutStreamsEachPostOnce(t *testing.T) {
	w := newMoreWorld(t)
	ctx := context.Background()
	local := w.seedFollowers(w.ta, "a.example", "fa", w.bob, fedpg.HomeFanOutInline+fanOutBatch+3, true)
	pc, err := w.db.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conn := pc.Hijack()
	defer func() { _ = conn.Close(ctx) }() // the listener's own connection
	if _, err := conn.Exec(ctx, `listen `+fedpg.StreamChannel); err != nil {
		t.Fatal(err)
	}
	posts := []*federation.Status{w.post(w.bob, "a", federation.Public, nil, false), w.post(w.bob, "b", federation.Public, nil, false)}
	w.drain()
	w.exec(`select pg_notify($1, '{"e":"end"}')`, fedpg.StreamChannel)
	heard := map[int64]map[int64]int{posts[0].ID: {}, posts[1].ID: {}}
	for {
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		var p struct {
			E  string  `json:"e"`
			ID int64   `json:"id"`
			U  []int64 `json:"u"`
		}
		if err := json.Unmarshal([]byte(n.Payload), &p); err != nil {
			t.Fatal(err)
		}
		if p.E == "end" {
			break
		}
		if p.E == "update" && heard[p.ID] != nil {
			for _, u := range p.U {
				heard[p.ID][u]++
			}
		}
	}
	for _, p := range posts {
		for _, id := range append(local, w.bob.ID) {
			if heard[p.ID][id] != 1 {
				t.Fatalf("account %d heard post %d %d times, want 1", id, p.ID, heard[p.ID][id])
			}
		}
	}
}

// A post deleted while it goes with others leaves its group: the others'
// fan-outs go on; the deleted one is in no feed and leaves the queue.
func TestIssue21DeletedPostLeavesItsGroup(t *testing.T) {
	w := newMoreWorld(t)
	ctx := context.Background()
	local := w.seedFollowers(w.ta, "a.example", "fa", w.bob, fedpg.HomeFanOutInline+2*fanOutBatch, true)
	keep := w.post(w.bob, "keep", federation.Public, nil, false)
	gone := w.post(w.bob, "gone", federation.Public, nil, false)
	also := w.post(w.bob, "also", federation.Public, nil, false)

	// The delete holds the status row when the worker files the group:
	// the worker waits, then finds it gone.
	tx, err := w.db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }() // committed below; a no-op then
	if _, err := tx.Exec(ctx, `delete from statuses where id = $1`, gone.ID); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := w.s.HomeFanOutStep(ctx, fanOutBatch, 0)
		done <- err
	}()
	waitForLockWait(t, w)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := w.queuedFanOuts(); n != 2 {
		t.Errorf("%d fan-outs queued after the delete, want the 2 others", n)
	}
	w.drain()
	sameIDs(t, "followers of the deleted post", w.holders(gone.ID, local), nil)
	sameIDs(t, "followers of a post of its group", w.holders(keep.ID, local), local)
	sameIDs(t, "followers of another post of its group", w.holders(also.ID, local), local)
}
