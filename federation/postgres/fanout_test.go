package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roost-social/roost/federation"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/federation/social/timeline"
)

// Issue 21, posting: a post commits with its author's, its mentions' and
// its first followers' home-feed rows and a durable fan-out row; the
// fan-out job files it for the rest after commit, a batch at a time.

// fanOutBatch is the batch the tests' worker takes: small, so that every
// audience below spans several batches after the inline ones.
const fanOutBatch = 40

// seedFollowers creates n local accounts on tenant (domain) following
// followee, with their boosts shown or not, and returns their ids in
// account id order (the fan-out's order).
func (w *moreWorld) seedFollowers(tenant int64, domain, prefix string, followee *federation.Account, n int, boosts bool) []int64 {
	w.t.Helper()
	ctx := context.Background()
	rows, err := w.db.Query(ctx, `
		insert into accounts (tenant_id, domain, username, public_key_pem, private_key_pem)
		select $1, $2, $3 || i, '', 'unused' from generate_series(1, $4::int) i returning id`, tenant, domain, prefix, n)
	if err != nil {
		w.t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		w.t.Fatal(err)
	}
	w.exec(`insert into follows (follower_id, followee_id, state, uri, show_reblogs)
		select id, $2, 'accepted', 'https://x.example/seeded/' || id, $3 from unnest($1::bigint[]) id`, ids, followee.ID, boosts)
	slices.Sort(ids)
	return ids
}

// holders are the accounts among ids whose home feed holds status.
func (w *moreWorld) holders(status int64, ids []int64) []int64 {
	w.t.Helper()
	rows, err := w.db.Query(context.Background(), `select account_id from home_feeds
		where status_id = $1 and account_id = any($2) order by account_id`, status, ids)
	if err != nil {
		w.t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		w.t.Fatal(err)
	}
	return got
}

func (w *moreWorld) queuedFanOuts() int {
	w.t.Helper()
	var n int
	if err := w.db.QueryRow(context.Background(), `select count(*) from home_fanouts`).Scan(&n); err != nil {
		w.t.Fatal(err)
	}
	return n
}

// drain runs the fan-out job's passes until the queue is empty.
func (w *moreWorld) drain() {
	w.t.Helper()
	f := &timeline.FanOut{Store: w.s, Batch: fanOutBatch}
	if _, err := f.Pass(context.Background()); err != nil {
		w.t.Fatal(err)
	}
	if n := w.queuedFanOuts(); n != 0 {
		w.t.Fatalf("%d fan-outs left after a pass", n)
	}
}

func (w *moreWorld) step() federation.FanOutStep {
	w.t.Helper()
	st, err := w.s.HomeFanOutStep(context.Background(), fanOutBatch, 0)
	if err != nil {
		w.t.Fatal(err)
	}
	return st
}

func sameIDs(t *testing.T, what string, got, want []int64) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: %d accounts %v, want %d", what, len(got), head(got), len(want))
	}
}

func head(ids []int64) []int64 { return ids[:min(len(ids), 5)] }

func TestIssue21PostCommitsFirstAndFansOutAfter(t *testing.T) {
	w := newMoreWorld(t)
	n := fedpg.HomeFanOutInline + 2*fanOutBatch + 7
	local := w.seedFollowers(w.ta, "a.example", "fa", w.bob, n, true)
	other := w.seedFollowers(w.tb, "b.example", "fb", w.bob, 3, true) // followers on tenant B come last by id
	st := w.post(w.bob, "to many", federation.Public, nil, false)

	// At commit: the author, the first followers, and a queued fan-out.
	if !slices.Contains(w.home(w.bob), st.ID) {
		t.Error("the author's home misses their post at once")
	}
	sameIDs(t, "followers reached at commit", w.holders(st.ID, local), local[:fedpg.HomeFanOutInline])
	if w.queuedFanOuts() != 1 {
		t.Fatalf("queued fan-outs = %d, want 1", w.queuedFanOuts())
	}
	var bTimeline int
	countB := func() int {
		if err := w.db.QueryRow(context.Background(), `select count(*) from tenant_timeline
			where tenant_id = $1 and status_id = $2 and not local`, w.tb, st.ID).Scan(&bTimeline); err != nil {
			t.Fatal(err)
		}
		return bTimeline
	}
	if countB() != 0 {
		t.Error("tenant B's timeline holds the post before the fan-out reached its followers")
	}

	w.drain()
	sameIDs(t, "followers reached after the fan-out", w.holders(st.ID, local), local)
	sameIDs(t, "followers on tenant B", w.holders(st.ID, other), other)
	if countB() != 1 {
		t.Error("tenant B's timeline misses the post its followers got")
	}
	// Followers-only and direct posts: the same audience rule as before.
	private := w.post(w.bob, "followers only", federation.Private, nil, false)
	direct := w.post(w.bob, "direct", federation.Direct, nil, false)
	w.drain()
	sameIDs(t, "followers of a private post", w.holders(private.ID, local), local)
	sameIDs(t, "followers of a direct post", w.holders(direct.ID, local), nil)
}

// A worker that dies mid-batch (its connection gone, its transaction
// rolled back) holds the fan-out until then — no other worker takes it
// twice — and the next worker resumes where the last committed batch
// left off; filing twice files nothing twice.
func TestIssue21FanOutResumesAfterACrashMidBatchAndIsIdempotent(t *testing.T) {
	w := newMoreWorld(t)
	ctx := context.Background()
	local := w.seedFollowers(w.ta, "a.example", "fa", w.bob, fedpg.HomeFanOutInline+3*fanOutBatch, true)
	st := w.post(w.bob, "crash", federation.Public, nil, false)
	if s := w.step(); !s.Worked || s.Done || s.Filed != fanOutBatch {
		t.Fatalf("first batch: %+v", s)
	}
	reached := fedpg.HomeFanOutInline + fanOutBatch

	// The crashing worker: takes the fan-out, files part of a batch, dies.
	pc, err := w.db.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conn := pc.Hijack()
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `select id from home_fanouts for update`); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `insert into home_feeds (account_id, status_id) select id, $1 from unnest($2::bigint[]) id`,
		st.ID, local[reached:reached+10]); err != nil {
		t.Fatal(err)
	}
	if s := w.step(); s.Worked {
		t.Fatalf("a second worker took a fan-out another holds: %+v", s)
	}
	if err := conn.Close(ctx); err != nil { // the worker dies: its batch rolls back
		t.Fatal(err)
	}
	sameIDs(t, "after the crash", w.holders(st.ID, local), local[:reached])

	// Some rows exist already (a follow filled the feed): filed once.
	w.exec(`insert into home_feeds (account_id, status_id) values ($1, $2)`, local[len(local)-1], st.ID)
	w.drain()
	sameIDs(t, "after resuming", w.holders(st.ID, local), local)

	// Run the whole fan-out again from the start: nothing changes.
	w.exec(`insert into home_fanouts (status_id, after_id) values ($1, 0)`, st.ID)
	w.drain()
	var rows int
	if err := w.db.QueryRow(ctx, `select count(*) from home_feeds where status_id = $1`, st.ID).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if want := len(local) + 1; rows != want { // and the author's own
		t.Errorf("home feed rows = %d, want %d", rows, want)
	}
}

// A post deleted before, between or during the fan-out's batches is in
// no home feed afterwards, and its fan-out leaves the queue without error.
func TestIssue21DeleteRacingFanOutLeavesNoDeletedPostInAFeed(t *testing.T) {
	w := newMoreWorld(t)
	ctx := context.Background()
	local := w.seedFollowers(w.ta, "a.example", "fa", w.bob, fedpg.HomeFanOutInline+3*fanOutBatch, true)
	gone := func(st *federation.Status) {
		t.Helper()
		if got := w.holders(st.ID, append(local, w.bob.ID)); len(got) != 0 {
			t.Errorf("a deleted post is in %d home feeds", len(got))
		}
		if n := w.queuedFanOuts(); n != 0 {
			t.Errorf("a deleted post's fan-out stays queued (%d)", n)
		}
	}
	del := func(st *federation.Status) {
		t.Helper()
		if ok, err := w.s.DeleteStatusByURI(ctx, st.URI, w.bob.ID); err != nil || !ok {
			t.Fatalf("delete: %v %v", ok, err)
		}
	}

	// Between batches.
	between := w.post(w.bob, "between", federation.Public, nil, false)
	w.step()
	del(between)
	w.drain()
	gone(between)

	// During a batch: the delete holds the status row when the worker files
	// its batch; the worker waits for it, then finds the status gone.
	during := w.post(w.bob, "during", federation.Public, nil, false)
	tx, err := w.db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }() // committed below; a no-op then
	if _, err := tx.Exec(ctx, `delete from statuses where id = $1`, during.ID); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		s, err := w.s.HomeFanOutStep(ctx, fanOutBatch, 0)
		if err == nil && !s.Done {
			err = fmt.Errorf("step over a deleted post: %+v, want done", s)
		}
		done <- err
	}()
	waitForLockWait(t, w)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	gone(during)

	// An edit while the fan-out runs changes nobody's audience.
	edited := w.post(w.bob, "edited", federation.Public, nil, false)
	w.step()
	w.exec(`update statuses set content = '<p>edited later</p>', edited_at = now() where id = $1`, edited.ID)
	w.drain()
	sameIDs(t, "followers of an edited post", w.holders(edited.ID, local), local)
}

// waitForLockWait waits until some session of the test database waits on
// a lock (the worker on the deleting transaction).
func waitForLockWait(t *testing.T, w *moreWorld) {
	t.Helper()
	for range 3000 {
		var n int
		if err := w.db.QueryRow(context.Background(), `select count(*) from pg_stat_activity
			where datname = current_database() and wait_event_type = 'Lock'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the fan-out never waited on the deleting transaction")
}

// A boost reaches, on the booster's tenant, the followers who take the
// booster's boosts, after commit as a post does.
func TestIssue21BoostFansOutAfterCommitToFollowersWhoTakeBoosts(t *testing.T) {
	w := newMoreWorld(t)
	ctx := context.Background()
	takes := w.seedFollowers(w.ta, "a.example", "fa", w.bob, fedpg.HomeFanOutInline+2*fanOutBatch, true)
	skips := w.seedFollowers(w.ta, "a.example", "fs", w.bob, 30, false)
	orig := w.post(w.alice, "worth a boost", federation.Public, nil, false)
	boost, err := w.s.Reblog(ctx, &federation.Status{AccountID: w.bob.ID, TenantID: w.ta, URI: "https://a.example/boost/1",
		Visibility: federation.Public, Published: time.Now()}, orig.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.s.AddToHomeFeeds(ctx, boost.ID, w.bob.ID, w.ta); err != nil {
		t.Fatal(err)
	}
	if got := len(w.holders(boost.ID, takes)); got != fedpg.HomeFanOutInline {
		t.Errorf("followers reached at commit = %d, want %d", got, fedpg.HomeFanOutInline)
	}
	w.drain()
	sameIDs(t, "followers who take boosts", w.holders(boost.ID, takes), takes)
	sameIDs(t, "followers who do not", w.holders(boost.ID, skips), nil)

	// Undoing the boost mid fan-out leaves it in no feed.
	again, err := w.s.Reblog(ctx, &federation.Status{AccountID: w.bob.ID, TenantID: w.ta, URI: "https://a.example/boost/2",
		Visibility: federation.Public, Published: time.Now()}, w.post(w.alice, "another", federation.Public, nil, false).ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.s.AddToHomeFeeds(ctx, again.ID, w.bob.ID, w.ta); err != nil {
		t.Fatal(err)
	}
	w.step()
	if _, err := w.s.DeleteStatusByURI(ctx, again.URI, w.bob.ID); err != nil {
		t.Fatal(err)
	}
	w.drain()
	sameIDs(t, "an undone boost", w.holders(again.ID, takes), nil)
}

// A remote post received by a tenant's inbox reaches that tenant's
// followers by the same path, and only theirs.
func TestIssue21RemotePostFansOutAfterCommitPerTenant(t *testing.T) {
	w := newMoreWorld(t)
	author := w.remote("loud")
	onA := w.seedFollowers(w.ta, "a.example", "fa", author, fedpg.HomeFanOutInline+2*fanOutBatch+1, true)
	onB := w.seedFollowers(w.tb, "b.example", "fb", author, fedpg.HomeFanOutInline+fanOutBatch, true)
	st := w.remotePost(author, w.ta, "hello", "") // received by tenant A
	sameIDs(t, "tenant A's followers at commit", w.holders(st.ID, onA), onA[:fedpg.HomeFanOutInline])
	w.drain()
	sameIDs(t, "tenant A's followers", w.holders(st.ID, onA), onA)
	sameIDs(t, "tenant B's followers before B received it", w.holders(st.ID, onB), nil)
	if err := w.s.AddToHomeFeeds(context.Background(), st.ID, author.ID, w.tb); err != nil {
		t.Fatal(err)
	}
	w.drain()
	sameIDs(t, "tenant B's followers", w.holders(st.ID, onB), onB)
}

// Followers reached by the fan-out hear the post on their user streams
// when their rows are written, as those reached at commit do.
func TestIssue21FanOutStreamsUpdatesToEveryFollower(t *testing.T) {
	w := newMoreWorld(t)
	ctx := context.Background()
	local := w.seedFollowers(w.ta, "a.example", "fa", w.bob, fedpg.HomeFanOutInline+2*fanOutBatch+3, true)
	pc, err := w.db.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conn := pc.Hijack()
	defer func() { _ = conn.Close(ctx) }() // the listener's own connection
	if _, err := conn.Exec(ctx, `listen `+fedpg.StreamChannel); err != nil {
		t.Fatal(err)
	}
	st := w.post(w.bob, "streamed", federation.Public, nil, false)
	heard := map[int64]int{}
	w.listenUntilMarker(conn, st.ID, heard)
	if len(heard) != fedpg.HomeFanOutInline+1 {
		t.Errorf("%d accounts heard the post at commit, want the author and the first %d followers", len(heard), fedpg.HomeFanOutInline)
	}
	w.drain()
	w.listenUntilMarker(conn, st.ID, heard)
	for _, id := range append(local, w.bob.ID) {
		if heard[id] != 1 {
			t.Fatalf("account %d heard the update %d times, want 1 (%d accounts heard it)", id, heard[id], len(heard))
		}
	}
}

// listenUntilMarker counts the accounts whose user streams hear "update"
// of status, until a marker sent now: notifications arrive in commit
// order, so the marker comes after every event committed before.
func (w *moreWorld) listenUntilMarker(conn *pgx.Conn, status int64, heard map[int64]int) {
	t := w.t
	t.Helper()
	ctx := context.Background()
	w.exec(`select pg_notify($1, '{"e":"end"}')`, fedpg.StreamChannel)
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
			return
		}
		if p.E == "update" && p.ID == status {
			for _, u := range p.U {
				heard[u]++
			}
		}
	}
}
