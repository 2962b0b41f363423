package delivery_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/roost-social/roost/federation/signature"
)

// TestIssue16RFC9421DeliveryDoubleKnock: a receiver that accepts only
// RFC 9421 gets the first delivery as cavage (refused) and then RFC 9421
// (accepted) within the same attempt, and every later delivery to it
// straight in RFC 9421: one cavage attempt in all, nothing failed.
func TestIssue16RFC9421DeliveryDoubleKnock(t *testing.T) {
	t.Parallel()
	r := newRig(t, http.StatusAccepted)
	r.recv.mu.Lock()
	r.recv.rfcOnly = true
	r.recv.mu.Unlock()
	ctx := context.Background()
	first := []byte(`{"id":"http://a.example/users/alice#note-1","type":"Create"}`)
	if err := r.queue.Send(ctx, r.sender.ID, "http://a.example/users/alice#note-1", first, inboxes(1), false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the first delivery arrives", func() bool { return r.recv.count() == 1 })
	later := []byte(`{"id":"http://a.example/users/alice#note-2","type":"Create"}`)
	if err := r.queue.Send(ctx, r.sender.ID, "http://a.example/users/alice#note-2", later, inboxes(5), false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "every delivery arrives", func() bool { return r.recv.count() == 6 })
	r.recv.mu.Lock()
	cavage, rfc := r.recv.schemes[signature.Cavage], r.recv.schemes[signature.RFC9421]
	r.recv.mu.Unlock()
	if cavage != 1 || rfc != 6 {
		t.Fatalf("%d cavage and %d RFC 9421 attempts, want 1 and 6", cavage, rfc)
	}
	eventually(t, "every delivery is recorded delivered", func() bool {
		return r.state(t, `select count(*) from deliveries where state = 'delivered' and last_error is null`) == "6"
	})
}
