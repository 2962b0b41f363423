package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// TestIssue17MuteThread: muting any status of a thread mutes its root:
// no notification about a status of that thread is recorded for the
// muter (whoever inserts it), the thread's statuses show muted to the
// muter only, and unmuting restores both. Another tenant's account
// cannot mute a post it may not see, and a mute of its own changes
// nothing for the first.
func TestIssue17MuteThread(t *testing.T) {
	w := newMoreWorld(t)
	ctx := context.Background()
	rita := w.remote("rita")
	root := w.localPost(w.alice, "root", federation.Public)
	reply := w.remotePost(rita, w.ta, "a reply", root.URI)
	deeper := w.remotePost(rita, w.ta, "deeper", reply.URI)
	other := w.localPost(w.alice, "another thread", federation.Public)
	private := w.localPost(w.alice, "followers only", federation.Private)

	notified := func(status int64) int64 {
		return count(t, w.db, `select count(*) from notifications where account_id = $1 and status_id = $2`, w.alice.ID, status)
	}
	favourite := func(status int64) {
		t.Helper()
		if _, err := w.db.Exec(ctx, `select notify($1, $2, 'favourite', $3)`, w.alice.ID, rita.ID, status); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.s.MuteThread(ctx, w.alice.ID, deeper.ID, true); err != nil {
		t.Fatal(err)
	}
	for _, st := range []int64{root.ID, reply.ID, deeper.ID, other.ID} {
		favourite(st)
	}
	if notified(root.ID)+notified(reply.ID)+notified(deeper.ID) != 0 || notified(other.ID) != 1 {
		t.Fatalf("muted thread notified: root %d reply %d deeper %d other %d",
			notified(root.ID), notified(reply.ID), notified(deeper.ID), notified(other.ID))
	}
	views, err := w.s.StatusViews(ctx, w.alice.ID, []int64{root.ID, deeper.ID, other.ID})
	if err != nil || len(views) != 3 || !views[0].Muted || !views[1].Muted || views[2].Muted {
		t.Fatalf("alice's views: %v %+v", err, views)
	}
	if views, _ := w.s.StatusViews(ctx, w.carol.ID, []int64{root.ID}); len(views) != 1 || views[0].Muted {
		t.Fatalf("carol sees alice's mute: %+v", views)
	}

	// Carol (tenant B) cannot mute what she may not see; nothing changes.
	before := count(t, w.db, `select count(*) from thread_mutes`)
	if err := w.s.MuteThread(ctx, w.carol.ID, private.ID, true); !errs.Is(err, errs.NotFound) {
		t.Fatalf("carol muted alice's private post: %v", err)
	}
	if err := w.s.MuteThread(ctx, w.carol.ID, 1<<40, true); !errs.Is(err, errs.NotFound) {
		t.Fatalf("a missing post: %v", err)
	}
	if count(t, w.db, `select count(*) from thread_mutes`) != before {
		t.Fatal("a refused mute wrote a row")
	}
	if err := w.s.MuteThread(ctx, w.carol.ID, root.ID, false); err != nil {
		t.Fatal(err)
	}

	if err := w.s.MuteThread(ctx, w.alice.ID, root.ID, false); err != nil {
		t.Fatal(err)
	}
	favourite(reply.ID)
	if notified(reply.ID) != 1 {
		t.Fatal("unmuted thread still silent")
	}
}

// TestIssue17ConversationUnreadIsTheOwners: marking unread acts on the
// account's own conversation only.
func TestIssue17ConversationUnreadIsTheOwners(t *testing.T) {
	w := newMoreWorld(t)
	ctx := context.Background()
	w.localPost(w.alice, "psst", federation.Direct, w.bob)
	cs, err := w.s.Conversations(ctx, w.alice.ID, federation.Page{Limit: 5})
	if err != nil || len(cs) != 1 || cs[0].Unread {
		t.Fatalf("%v %+v", err, cs)
	}
	if err := w.s.MarkConversationUnread(ctx, w.carol.ID, cs[0].ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("carol: %v", err)
	}
	if c, _ := w.s.Conversation(ctx, w.alice.ID, cs[0].ID); c.Unread {
		t.Fatal("carol's call marked alice's conversation")
	}
	if err := w.s.MarkConversationUnread(ctx, w.alice.ID, cs[0].ID); err != nil {
		t.Fatal(err)
	}
	if c, _ := w.s.Conversation(ctx, w.alice.ID, cs[0].ID); !c.Unread {
		t.Fatal("not unread")
	}
}

// TestIssue17InstanceData: peers are the domains a tenant's accounts
// follow or are followed by, that tenant's only; the current week counts
// its posts and new accounts; the owner is its oldest account.
func TestIssue17InstanceData(t *testing.T) {
	w := newMoreWorld(t)
	ctx := context.Background()
	rita := w.remote("rita")
	w.follow(w.alice, rita)
	w.localPost(w.alice, "one", federation.Public)
	if peers, err := w.s.Peers(ctx, w.ta, 10); err != nil || len(peers) != 1 || peers[0] != "remote.example" {
		t.Fatalf("a's peers: %v %v", peers, err)
	}
	if peers, err := w.s.Peers(ctx, w.tb, 10); err != nil || len(peers) != 0 {
		t.Fatalf("b's peers: %v %v", peers, err)
	}
	weeks, err := w.s.Activity(ctx, w.ta, 12, time.Now())
	if err != nil || len(weeks) != 12 || weeks[0].Statuses != 1 || weeks[0].Registrations != 2 || weeks[0].Logins != 1 ||
		!weeks[0].Week.After(weeks[1].Week) || weeks[0].Week.Weekday() != time.Monday {
		t.Fatalf("activity: %v %+v", err, weeks)
	}
	if weeks, _ := w.s.Activity(ctx, w.tb, 1, time.Now()); weeks[0].Statuses != 0 || weeks[0].Registrations != 1 {
		t.Fatalf("b's activity: %+v", weeks)
	}
	if id, err := w.s.Owner(ctx, w.ta); err != nil || id != w.alice.ID {
		t.Fatalf("owner: %d %v", id, err)
	}
	empty := newTenant(t, w.db, "c.example")
	if _, err := w.s.Owner(ctx, empty.ID); !errs.Is(err, errs.NotFound) {
		t.Fatalf("no accounts: %v", err)
	}
}

// TestIssue17RemoteEmojisStored: the custom emojis a remote post and a
// remote actor came with are kept and read back by the views; an edit
// without them clears them.
func TestIssue17RemoteEmojisStored(t *testing.T) {
	w := newMoreWorld(t)
	ctx := context.Background()
	uri := "https://remote.example/users/emo"
	blob := []federation.RemoteEmoji{{Shortcode: "blobcat", URL: "https://remote.example/blobcat.png"}}
	emo, err := w.s.UpsertRemoteActor(ctx, &federation.Account{Domain: "remote.example", Username: "emo", DisplayName: "Emo :blobcat:",
		Remote: &federation.RemoteInfo{URI: uri, KeyID: uri + "#main-key", Inbox: uri + "/inbox", Type: "Person",
			FetchedAt: time.Now(), Emojis: blob}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := w.s.UpsertRemoteStatus(ctx, &federation.Status{AccountID: emo.ID, URI: uri + "/statuses/1",
		Content: "<p>hi :blobcat:</p>", Visibility: federation.Public, To: []string{federation.PublicCollection},
		Published: time.Now(), Emojis: blob})
	if err != nil {
		t.Fatal(err)
	}
	views, err := w.s.StatusViews(ctx, w.alice.ID, []int64{st.ID})
	if err != nil || len(views) != 1 || len(views[0].Emojis) != 1 || views[0].Emojis[0] != blob[0] {
		t.Fatalf("status emojis: %v %+v", err, views)
	}
	accts, err := w.s.AccountViews(ctx, []int64{emo.ID, w.alice.ID})
	if err != nil || len(accts[emo.ID].Remote.Emojis) != 1 || accts[emo.ID].Remote.Emojis[0] != blob[0] {
		t.Fatalf("actor emojis: %v %+v", err, accts[emo.ID])
	}
	edited := time.Now()
	if _, err := w.s.UpsertRemoteStatus(ctx, &federation.Status{AccountID: emo.ID, URI: uri + "/statuses/1",
		Content: "<p>plain</p>", Visibility: federation.Public, To: []string{federation.PublicCollection},
		Published: st.Published, EditedAt: &edited}); err != nil {
		t.Fatal(err)
	}
	if views, _ := w.s.StatusViews(ctx, w.alice.ID, []int64{st.ID}); len(views[0].Emojis) != 0 {
		t.Fatalf("edited without emojis kept %+v", views[0].Emojis)
	}
}
