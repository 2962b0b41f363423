package main

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/mattn/go-mastodon"
)

// Poll-ended notifications end to end: alice's poll, voted on by bob,
// ends (its end moved into the past in the database: the worker judges by
// the database clock), and `roost work` notifies alice (the author) and
// bob (a voter) once.
func TestPollEndedNotificationsWithGoMastodon(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n, addr := apiNode(t)
	alice := signIn(t, addr, "http://a.test", "alice@a.test", "read write follow")
	bob := signIn(t, addr, "http://a.test", "bob@a.test", "read write follow")

	post, err := alice.PostStatus(ctx, &mastodon.Toot{Status: "Tea or coffee?", Visibility: "public",
		Poll: &mastodon.TootPoll{Options: []string{"tea", "coffee"}, ExpiresInSeconds: 300}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.PollVote(ctx, post.Poll.ID, 1); err != nil {
		t.Fatal(err)
	}
	pollNotes := func(c *mastodon.Client) int {
		ns, err := c.GetNotifications(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		k := 0
		for _, x := range ns {
			if x.Type == "poll" {
				if x.Status == nil || x.Status.ID != post.ID || x.Status.Poll == nil || !x.Status.Poll.Expired {
					t.Fatalf("poll notification %+v: want alice's ended poll", x)
				}
				k++
			}
		}
		return k
	}
	statusID, _ := strconv.ParseInt(string(post.ID), 10, 64)
	if pollNotes(alice)+pollNotes(bob) != 0 {
		t.Fatal("poll notification before the end")
	}

	if got := n.query(t, `update statuses set poll = jsonb_set(poll, '{endsAt}', to_jsonb(now() - interval '1 second'))
		where id = $1 returning 1`, statusID); got != "1" {
		t.Fatalf("ending the poll: %s", got)
	}
	deadline := time.Now().Add(90 * time.Second) // the worker looks every 30 s
	for pollNotes(alice) == 0 || pollNotes(bob) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("poll notifications: alice %d, bob %d; want 1 each", pollNotes(alice), pollNotes(bob))
		}
		time.Sleep(250 * time.Millisecond)
	}
	if a, b := pollNotes(alice), pollNotes(bob); a != 1 || b != 1 {
		t.Fatalf("poll notifications: alice %d, bob %d; want 1 each", a, b)
	}
	if p, err := bob.GetPoll(ctx, post.Poll.ID); err != nil || !p.Expired {
		t.Fatalf("bob's view of the ended poll: %+v %v", p, err)
	}
	n.eventually(t, "1", `select count(*) from poll_endings where status_id = $1 and notified_at is not null`, statusID)
}
