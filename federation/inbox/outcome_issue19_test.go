package inbox

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// Issue 19, finding 10 (TestSoak, seed 19, on a machine at load 46): a
// remote processed a boost whose post it had to fetch while this
// instance's PostgreSQL was restarting; the fetch was answered 503, and
// the item was marked done as "not applicable", so the boost was lost
// though the post was there a moment later. A failure that passes (the
// origin unavailable, overloaded, timed out) is retried like an internal
// one, up to the attempts bound; what cannot apply is still done at once.
func TestIssue19Finding10UnavailableFetchIsRetried(t *testing.T) {
	p := &Processor{Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	it := federation.InboxItem{ID: 73, ActivityID: "http://t3.soak.test/users/u0/statuses/57/activity", Attempts: 1}
	if done, reason := p.outcome(context.Background(), it, errs.E(errs.Unavailable, "t3.soak.test answered status 503")); done {
		t.Fatalf("an item whose fetch was answered 503 was finished (%q), not retried", reason)
	}
	if done, _ := p.outcome(context.Background(), it, errs.E(errs.NotFound, "t3.soak.test has no such document")); !done {
		t.Fatal("an item whose object is gone is left for retries")
	}
	it.Attempts = p.maxAttempts()
	if done, _ := p.outcome(context.Background(), it, errs.E(errs.Unavailable, "t3.soak.test timed out")); !done {
		t.Fatal("an item still unavailable after every attempt is retried without end")
	}
}
