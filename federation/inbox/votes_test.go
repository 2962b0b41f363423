package inbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
)

// Remote votes on a local poll arrive as Create(Note) with the option's
// title as name, in reply to the poll (as Mastodon sends them): counted,
// once, by their own actor only; a reply that is not a vote stays a post.
func TestRemoteVotesOnALocalPoll(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	end := time.Now().Add(time.Hour)
	st, _, err := w.store.Publish(ctx, &federation.Status{AccountID: w.alice.ID, TenantID: w.tenantID, Content: "<p>Tea?</p>",
		Visibility: federation.Public, Published: time.Now(),
		Poll: &federation.Poll{EndsAt: &end, Options: []federation.PollOption{{Title: "yes"}, {Title: "no"}}}},
		func(int64) string { return aliceURI + "/statuses/poll" },
		func(*federation.Status) (string, []byte, error) { return "x", []byte("{}"), nil })
	if err != nil {
		t.Fatal(err)
	}
	vote := func(id, author, name string) map[string]any {
		return map[string]any{"type": "Create", "object": map[string]any{"id": id, "type": "Note", "name": name,
			"attributedTo": author, "to": aliceURI, "inReplyTo": st.URI}}
	}
	counts := func() string {
		return w.one(t, `select (poll->'options'->0->>'votes') || '/' || (poll->'options'->1->>'votes') || ' voters ' ||
			(poll->>'voters') from statuses where id = $1`, st.ID)
	}
	if r := w.deliver(t, w.eve, vote("https://remote.test/users/eve#votes/1", w.eve.Remote.URI, "no")); r != "" {
		t.Fatal(r)
	}
	if got := counts(); got != "0/1 voters 1" {
		t.Fatalf("after eve's vote: %s", got)
	}
	// A second vote by eve is refused; mallory cannot vote as eve.
	if r := w.deliver(t, w.eve, vote("https://remote.test/users/eve#votes/2", w.eve.Remote.URI, "yes")); r == "" {
		t.Fatal("eve voted twice on a single-choice poll")
	}
	if r := w.deliver(t, w.mal, vote("https://remote.test/users/mallory#votes/3", w.eve.Remote.URI, "yes")); r == "" {
		t.Fatal("mallory's vote in eve's name was counted")
	}
	if r := w.deliver(t, w.mal, vote("https://remote.test/users/mallory#votes/4", w.mal.Remote.URI, "yes")); r != "" {
		t.Fatal(r)
	}
	if got := counts(); got != "1/1 voters 2" {
		t.Fatalf("after mallory's vote: %s", got)
	}
	// A named reply that matches no option is an ordinary reply.
	if r := w.deliver(t, w.eve, vote("https://remote.test/users/eve/statuses/9", w.eve.Remote.URI, "maybe")); r != "" {
		t.Fatal(r)
	}
	if got := w.one(t, `select count(*) from statuses where in_reply_to_uri = $1`, st.URI); got != "1" {
		t.Fatalf("%s replies stored", got)
	}
	if got := counts(); got != "1/1 voters 2" {
		t.Fatalf("after a reply: %s", got)
	}
}
