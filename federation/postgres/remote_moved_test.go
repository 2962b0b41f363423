package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
)

// A remote actor's movedTo and alsoKnownAs are stored from its document
// (cleared when a later document drops them), shown in its AccountView,
// and set by a verified Move; a local account is never touched by
// SetRemoteMovedTo.
func TestRemoteActorMovedToStored(t *testing.T) {
	t.Parallel()
	w := newMoreWorld(t)
	ctx := context.Background()
	const uri, newURI = "https://remote.example/users/mover", "https://elsewhere.example/users/mover"
	doc := func(movedTo string, aka []string) *federation.Account {
		return &federation.Account{Domain: "remote.example", Username: "mover",
			Remote: &federation.RemoteInfo{URI: uri, KeyID: uri + "#main-key", Inbox: uri + "/inbox", Type: "Person",
				FetchedAt: time.Now(), MovedTo: movedTo, AlsoKnownAs: aka}}
	}
	a, err := w.s.UpsertRemoteActor(ctx, doc(newURI, []string{"https://older.example/users/mover"}))
	if err != nil {
		t.Fatal(err)
	}
	got, err := w.s.RemoteActorByURI(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	if got.Remote.MovedTo != newURI || len(got.Remote.AlsoKnownAs) != 1 || got.Remote.AlsoKnownAs[0] != "https://older.example/users/mover" {
		t.Fatalf("stored: movedTo %q, alsoKnownAs %v", got.Remote.MovedTo, got.Remote.AlsoKnownAs)
	}
	views, err := w.s.AccountViews(ctx, []int64{a.ID})
	if err != nil || views[a.ID] == nil || views[a.ID].MovedTo != newURI {
		t.Fatalf("view: %v %+v", err, views[a.ID])
	}
	// A later document without movedTo (the move undone) clears it.
	if _, err := w.s.UpsertRemoteActor(ctx, doc("", nil)); err != nil {
		t.Fatal(err)
	}
	if got, _ := w.s.RemoteActorByURI(ctx, uri); got.Remote.MovedTo != "" || len(got.Remote.AlsoKnownAs) != 0 {
		t.Fatalf("after a document without movedTo: %q %v", got.Remote.MovedTo, got.Remote.AlsoKnownAs)
	}
	// A verified Move sets it.
	if err := w.s.SetRemoteMovedTo(ctx, a.ID, newURI); err != nil {
		t.Fatal(err)
	}
	if got, _ := w.s.RemoteActorByURI(ctx, uri); got.Remote.MovedTo != newURI {
		t.Fatalf("after SetRemoteMovedTo: %q", got.Remote.MovedTo)
	}
	if err := w.s.SetRemoteMovedTo(ctx, w.alice.ID, newURI); err != nil {
		t.Fatal(err)
	}
	if got, _ := w.s.AccountByID(ctx, w.alice.ID); got.MovedTo != "" {
		t.Fatalf("SetRemoteMovedTo moved a local account to %q", got.MovedTo)
	}
}
