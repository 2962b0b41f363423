package postgres_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
)

// Poll-ended notifications: when a poll's end has passed (by the clock
// given), its local author and local voters are notified once, blocks
// respected, and concurrent runs never notify twice.
func TestNotifyEndedPolls(t *testing.T) {
	t.Parallel()
	w := newMoreWorld(t)
	ctx := context.Background()
	dave := mustCreate(t, w.s, newAccount(t, w.ta, "a.example", "dave", "dave@a.example"))
	remote := w.remote("rv")
	st := w.localPost(w.alice, "which one?", federation.Public)
	ends := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	poll, _ := json.Marshal(&federation.Poll{EndsAt: &ends, Options: []federation.PollOption{{Title: "a"}, {Title: "b"}}})
	if _, err := w.db.Exec(ctx, `update statuses set poll = $2 where id = $1`, st.ID, poll); err != nil {
		t.Fatal(err)
	}
	for _, v := range []federation.Vote{
		{StatusID: st.ID, AccountID: w.bob.ID, Choices: []int{0}},
		{StatusID: st.ID, AccountID: dave.ID, Choices: []int{1}},
		{StatusID: st.ID, AccountID: remote.ID, Choices: []int{1}, URI: "https://remote.example/votes/1"},
	} {
		if _, err := w.s.Vote(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	// dave blocks alice: notify() leaves him out.
	if _, err := w.db.Exec(ctx, `insert into blocks (account_id, target_id) values ($1, $2)`, dave.ID, w.alice.ID); err != nil {
		t.Fatal(err)
	}
	count := func(recipient int64) int {
		var n int
		if err := w.db.QueryRow(ctx, `select count(*) from notifications
			where type = 'poll' and status_id = $1 and account_id = $2 and from_account_id = $3`,
			st.ID, recipient, w.alice.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	before := ends.Add(-time.Minute)
	if n, err := w.s.NotifyEndedPolls(ctx, &before, 10); err != nil || n != 0 {
		t.Fatalf("before the end: %d polls, %v; want none", n, err)
	}
	if n, err := w.s.NotifyEndedPolls(ctx, nil, 10); err != nil || n != 0 {
		t.Fatalf("by the database clock, an hour early: %d polls, %v; want none", n, err)
	}
	if count(w.alice.ID)+count(w.bob.ID) != 0 {
		t.Fatal("notified before the end")
	}

	// Several workers at once: exactly one handles the poll.
	after := ends.Add(time.Second)
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := w.s.NotifyEndedPolls(ctx, &after, 10)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			total += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	if total != 1 {
		t.Fatalf("concurrent runs handled %d polls, want 1", total)
	}
	if n, err := w.s.NotifyEndedPolls(ctx, &after, 10); err != nil || n != 0 {
		t.Fatalf("second run: %d polls, %v; want none", n, err)
	}
	if got := count(w.alice.ID); got != 1 {
		t.Errorf("author notified %d times, want 1", got)
	}
	if got := count(w.bob.ID); got != 1 {
		t.Errorf("voter notified %d times, want 1", got)
	}
	if got := count(dave.ID); got != 0 {
		t.Errorf("voter blocking the author notified %d times, want 0", got)
	}
	if got := count(remote.ID); got != 0 {
		t.Errorf("remote voter notified %d times, want 0", got)
	}

	// A new end (an edited poll) is notified again when it comes; votes
	// rewriting the document keep the end as it was.
	later := ends.Add(time.Hour)
	poll, _ = json.Marshal(&federation.Poll{EndsAt: &later, Options: []federation.PollOption{{Title: "a"}, {Title: "b"}}})
	if _, err := w.db.Exec(ctx, `update statuses set poll = $2 where id = $1`, st.ID, poll); err != nil {
		t.Fatal(err)
	}
	if n, _ := w.s.NotifyEndedPolls(ctx, &after, 10); n != 0 {
		t.Fatalf("the moved end was notified early")
	}
	if _, err := w.db.Exec(ctx, `delete from notifications where type = 'poll'`); err != nil {
		t.Fatal(err)
	}
	afterLater := later.Add(time.Second)
	if n, err := w.s.NotifyEndedPolls(ctx, &afterLater, 10); err != nil || n != 1 {
		t.Fatalf("the moved end: %d polls, %v; want 1", n, err)
	}
	if count(w.alice.ID) != 1 || count(w.bob.ID) != 1 {
		t.Errorf("the moved end did not notify author and voter again")
	}
}
