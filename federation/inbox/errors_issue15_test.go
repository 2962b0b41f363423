package inbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/roost-social/roost/federation"
)

// finishFails is the real inbox store except that recording an item's
// outcome fails for the ids in fail: the database went away between
// applying an item and marking it done.
type finishFails struct {
	federation.InboxStore
	fail map[int64]bool
}

func (f *finishFails) FinishInboxItem(ctx context.Context, id int64, reason string) error {
	if f.fail[id] {
		return errors.New("connection reset")
	}
	return f.InboxStore.FinishInboxItem(ctx, id, reason)
}

// An item whose outcome cannot be recorded is not silently left behind:
// Once reports the failure (Run logs it and backs off), still finishes the
// rest of the batch, and the item stays leased, so it is applied again
// (idempotently) once the lease ends.
func TestIssue15Finding8InboxFinishFailureIsReported(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	var ids []int64
	for i, actor := range []*federation.Account{w.eve, w.mal} {
		id := actor.Remote.URI + "#follow-" + strconv.Itoa(i)
		body, _ := json.Marshal(map[string]any{"type": "Follow", "id": id, "actor": actor.Remote.URI, "object": aliceURI})
		if _, err := w.store.Enqueue(ctx, w.tenantID, id, actor.Remote.URI, body); err != nil {
			t.Fatal(err)
		}
		var n int64
		if err := w.db.QueryRow(ctx, `select id from inbox_items where activity_id = $1`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, n)
	}
	good := w.proc.Items
	w.proc.Items = &finishFails{InboxStore: good, fail: map[int64]bool{ids[0]: true}}
	n, err := w.proc.Once(ctx, 10)
	if n != 2 || err == nil || !strings.Contains(err.Error(), "finish inbox item") {
		t.Fatalf("Once = %d, %v; want 2 and the finish failure", n, err)
	}
	if got := w.one(t, `select count(*) filter (where processed_at is null) || ' ' || count(*) filter (where processed_at is not null) from inbox_items`); got != "1 1" {
		t.Fatalf("unprocessed/processed items %s, want 1 1", got)
	}
	// The lease ends (moved into the past rather than waited for) and the
	// item is claimed, applied again and finished.
	w.proc.Items = good
	if _, err := w.db.Exec(ctx, `update inbox_items set locked_until = now() - interval '1 second' where id = $1`, ids[0]); err != nil {
		t.Fatal(err)
	}
	if n, err := w.proc.Once(ctx, 10); n != 1 || err != nil {
		t.Fatalf("second Once = %d, %v", n, err)
	}
	if got := w.one(t, `select count(*) from inbox_items where processed_at is null`); got != "0" {
		t.Fatalf("%s items left unprocessed", got)
	}
	if got := w.one(t, `select count(*) from follows where followee_id = $1 and state = 'accepted'`, w.alice.ID); got != "2" {
		t.Fatalf("%s accepted follows, want 2", got)
	}
}
