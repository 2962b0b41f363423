package inbox_test

import (
	"testing"
)

// Soak finding 3 (seed 7): deliveries are retried, so a remote's
// activities about one post arrive out of order. A Delete that came before
// its Create was dropped ("no post of this actor") and the late Create
// then brought back a post its author had deleted; an Update that came
// before its Create was dropped ("no such status") and the late Create
// left the post without its edit. Now the Delete is remembered (a
// tombstone) and the late Create dropped; the Update is stored as the
// post, and the older Create behind it dropped.
func TestSoakFinding3ActivitiesAboutAPostInAnyOrder(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.proc.Tombstones = w.store
	pub := []string{"https://www.w3.org/ns/activitystreams#Public"}
	eve := w.eve.Remote.URI
	count := func(uri string) string {
		return w.one(t, `select count(*) from statuses where uri = $1`, uri)
	}

	// Delete, then Create.
	gone := "https://remote.test/users/eve/statuses/1"
	if r := w.deliver(t, w.eve, map[string]any{"type": "Delete", "object": gone}); r != "" {
		t.Fatalf("Delete of a post not here yet: %q", r)
	}
	w.deliver(t, w.eve, map[string]any{"type": "Create", "object": note(gone, eve, "<p>deleted</p>", pub, nil), "to": pub})
	if n := count(gone); n != "0" {
		t.Fatalf("a post deleted before it arrived was stored (%s rows)", n)
	}
	// Another actor cannot bury eve's post.
	kept := "https://remote.test/users/eve/statuses/2"
	w.deliver(t, w.mal, map[string]any{"type": "Delete", "object": kept})
	w.deliver(t, w.eve, map[string]any{"type": "Create", "object": note(kept, eve, "<p>kept</p>", pub, nil), "to": pub})
	if n := count(kept); n != "1" {
		t.Fatalf("mallory's Delete of eve's post kept it out (%s rows)", n)
	}

	// Update, then Create.
	edited := "https://remote.test/users/eve/statuses/3"
	upd := note(edited, eve, "<p>second version</p>", pub, nil)
	upd["updated"] = "2026-11-27T11:00:00Z"
	if r := w.deliver(t, w.eve, map[string]any{"type": "Update", "object": upd, "to": pub}); r != "" {
		t.Fatalf("Update of a post not here yet: %q", r)
	}
	w.deliver(t, w.eve, map[string]any{"type": "Create", "object": note(edited, eve, "<p>first version</p>", pub, nil), "to": pub})
	if got := w.one(t, `select content from statuses where uri = $1`, edited); got != "<p>second version</p>" {
		t.Fatalf("after Update then Create the post reads %q", got)
	}
	// In order, an edit still applies.
	w.deliver(t, w.eve, map[string]any{"type": "Update", "object": map[string]any{"id": edited, "type": "Note", "attributedTo": eve,
		"content": "<p>third version</p>", "published": "2026-11-27T10:00:00Z", "updated": "2026-11-27T12:00:00Z", "to": pub}, "to": pub})
	if got := w.one(t, `select content from statuses where uri = $1`, edited); got != "<p>third version</p>" {
		t.Fatalf("a later edit reads %q", got)
	}
}
