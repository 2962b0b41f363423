package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// Soak finding 2: a post's Idempotency-Key was remembered after the post
// committed, in a statement of its own. A web node killed (or PostgreSQL
// restarted) between the two left the post without its key, and the
// client's retry — same key — made a second post. The key is now written
// in the post's transaction: a committed post always has its key, a
// failed one never does, and a second publication with the key is
// refused (503, retry) instead of stored.
func TestSoakFinding2IdempotencyKeyRememberedWithThePost(t *testing.T) {
	t.Parallel()
	w := newMoreWorld(t)
	ctx := context.Background()
	uri := func(id int64) string { return fmt.Sprintf("https://a.example/users/alice/statuses/%d", id) }
	ok := func(*federation.Status) (string, []byte, error) { return "", nil, nil }
	post := func(key string, render func(*federation.Status) (string, []byte, error)) (*federation.Status, error) {
		st, _, err := w.s.Publish(ctx, &federation.Status{AccountID: w.alice.ID, TenantID: w.alice.TenantID, Text: "soak " + key,
			Content: "<p>soak</p>", Visibility: federation.Public, IdempotencyKey: key}, uri, render)
		return st, err
	}
	st, err := post("k1", ok)
	if err != nil {
		t.Fatal(err)
	}
	// The node dies here, before the handler's own Posted call.
	if id, err := w.s.IdempotentStatus(ctx, w.alice.ID, "k1"); err != nil || id != st.ID {
		t.Fatalf("key of committed post %d remembered as %d (%v)", st.ID, id, err)
	}
	if _, err := post("k1", ok); errs.CodeOf(err) != errs.Unavailable {
		t.Fatalf("a second publication with the key: %v, want Unavailable (retry to get the first)", err)
	}
	if _, err := post("k2", func(*federation.Status) (string, []byte, error) { return "", nil, fmt.Errorf("died") }); err == nil {
		t.Fatal("a failing publication succeeded")
	}
	if id, _ := w.s.IdempotentStatus(ctx, w.alice.ID, "k2"); id != 0 {
		t.Fatalf("a rolled-back post's key is remembered as %d", id)
	}
	if n := count(t, w.db, `select count(*) from statuses where account_id = $1 and text like 'soak k%'`, w.alice.ID); n != 1 {
		t.Fatalf("%d posts stored, want 1", n)
	}
}
