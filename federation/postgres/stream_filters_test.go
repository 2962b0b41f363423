package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
)

// A change to a person's filters, keywords or filtered statuses announces
// filters_changed to their user stream once per transaction (a filter
// saved with several keywords, or deleted with its rules, is one event).
func TestStreamFiltersChanged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newStreamWorld(t)
	bob := w.bob.ID
	p := w.post(t, w.alice, federation.Status{Content: "<p>hello</p>", Visibility: federation.Public})
	waitFor(t, "the post's events", func() bool { return len(w.relay.got.all()) > w.seen })
	time.Sleep(200 * time.Millisecond)
	w.seen = len(w.relay.got.all())
	changed := streamEvent{E: "filters_changed", ID: bob, U: []int64{bob}}

	f, err := w.s.SaveFilter(ctx, bob, &federation.Filter{Title: "t", Context: []string{federation.FilterHome},
		Action: federation.FilterHide, Keywords: []federation.FilterKeyword{{Keyword: "a"}, {Keyword: "b"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.expect(t, changed)
	fs, err := w.s.AddFilterStatus(ctx, bob, f.ID, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	w.expect(t, changed)
	if err := w.s.DeleteFilterKeyword(ctx, bob, f.Keywords[0].ID); err != nil {
		t.Fatal(err)
	}
	w.expect(t, changed)
	if err := w.s.DeleteFilterStatus(ctx, bob, fs.ID); err != nil {
		t.Fatal(err)
	}
	w.expect(t, changed)
	if _, err := w.s.AddFilterStatus(ctx, bob, f.ID, p.ID); err != nil {
		t.Fatal(err)
	}
	w.expect(t, changed)
	if err := w.s.DeleteFilter(ctx, bob, f.ID); err != nil {
		t.Fatal(err)
	}
	w.expect(t, changed)
}

// Poll-ended notifications reach the author's and the voter's streams,
// as every notification does.
func TestStreamPollEnded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newStreamWorld(t)
	ends := time.Now().Add(time.Hour)
	p := w.post(t, w.alice, federation.Status{Content: "<p>which?</p>", Visibility: federation.Public,
		Poll: &federation.Poll{EndsAt: &ends, Options: []federation.PollOption{{Title: "a"}, {Title: "b"}}}})
	if _, err := w.s.Vote(ctx, federation.Vote{StatusID: p.ID, AccountID: w.bob.ID, Choices: []int{1}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the post's events", func() bool { return len(w.relay.got.all()) > w.seen })
	time.Sleep(200 * time.Millisecond)
	w.seen = len(w.relay.got.all())
	after := ends.Add(time.Second)
	if n, err := w.s.NotifyEndedPolls(ctx, &after, 10); err != nil || n != 1 {
		t.Fatalf("ended polls: %d, %v", n, err)
	}
	w.expect(t, streamEvent{E: "notification", U: []int64{w.alice.ID}}, streamEvent{E: "notification", U: []int64{w.bob.ID}})
}
