package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/announcement"
	"github.com/roost-social/roost/internal/errs"
)

// Announcements on a real database: the operator's are read on every
// tenant, a tenant's on that tenant only; reactions are counted per
// tenant; no scope writes another's.
func TestIssue17AnnouncementsScopedByTenant(t *testing.T) {
	t.Parallel()
	w := newMoreWorld(t)
	ctx := context.Background()
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	svc := &announcement.Service{Store: w.s, Emojis: w.s, Now: func() time.Time { return now }}
	op, err := svc.Save(ctx, 0, announcement.Draft{Text: "maintenance <tonight>", Published: true})
	if err != nil || op.Content != "<p>maintenance &lt;tonight&gt;</p>" {
		t.Fatalf("operator's: %+v %v", op, err)
	}
	mine, err := svc.Save(ctx, w.ta, announcement.Draft{Text: "welcome to a", Published: true})
	if err != nil {
		t.Fatal(err)
	}
	draft, err := svc.Save(ctx, w.ta, announcement.Draft{Text: "not yet"})
	if err != nil {
		t.Fatal(err)
	}
	ended := now.Add(-time.Hour)
	if _, err := svc.Save(ctx, w.ta, announcement.Draft{Text: "over", Published: true, EndsAt: &ended}); err != nil {
		t.Fatal(err)
	}
	ids := func(who *federation.Account, dismissed bool) []int64 {
		list, err := svc.List(ctx, who, dismissed)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, a := range list {
			out = append(out, a.ID)
		}
		return out
	}
	if got := ids(w.alice, false); len(got) != 2 || got[0] != op.ID || got[1] != mine.ID {
		t.Errorf("alice on a sees %v, want [%d %d]", got, op.ID, mine.ID)
	}
	if got := ids(w.carol, false); len(got) != 1 || got[0] != op.ID {
		t.Errorf("carol on b sees %v, want only the operator's %d", got, op.ID)
	}

	// Reading: another tenant's, a draft, one that ended are not found.
	for _, id := range []int64{mine.ID, draft.ID} {
		if err := svc.Dismiss(ctx, w.carol, id); errs.CodeOf(err) != errs.NotFound {
			t.Errorf("carol dismisses %d: %v", id, err)
		}
		if err := svc.React(ctx, w.carol, id, "👍", true); errs.CodeOf(err) != errs.NotFound {
			t.Errorf("carol reacts to %d: %v", id, err)
		}
	}
	if err := svc.Dismiss(ctx, w.alice, mine.ID); err != nil {
		t.Fatal(err)
	}
	if got := ids(w.alice, false); len(got) != 1 || len(ids(w.alice, true)) != 2 {
		t.Errorf("after dismissing: %v / %v", got, ids(w.alice, true))
	}

	// Reactions are counted per tenant; a custom emoji is the reader's tenant's.
	for _, who := range []*federation.Account{w.alice, w.bob, w.carol} {
		if err := svc.React(ctx, who, op.ID, "👍", true); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.React(ctx, w.alice, op.ID, "👍", true); err != nil { // again: once
		t.Fatal(err)
	}
	if err := svc.React(ctx, w.alice, op.ID, "blobcat", true); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("an unknown custom emoji: %v", err)
	}
	if _, err := w.s.AddCustomEmoji(ctx, federation.CustomEmoji{TenantID: w.tb, Shortcode: "blobcat", ContentType: "image/png", Image: []byte{1}}); err != nil {
		t.Fatal(err)
	}
	if err := svc.React(ctx, w.alice, op.ID, "blobcat", true); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("another tenant's custom emoji: %v", err)
	}
	if err := svc.React(ctx, w.carol, op.ID, "blobcat", true); err != nil {
		t.Errorf("carol's own tenant's emoji: %v", err)
	}
	list, _ := svc.List(ctx, w.alice, true)
	if r := list[0].Reactions; len(r) != 1 || r[0].Name != "👍" || r[0].Count != 2 || !r[0].Me {
		t.Errorf("a's reactions: %+v", r)
	}
	list, _ = svc.List(ctx, w.carol, true)
	if r := list[0].Reactions; len(r) != 2 || r[0].Count != 1 || r[1].Name != "blobcat" {
		t.Errorf("b's reactions: %+v", r)
	}
	emojis := []string{"😀", "😁", "😂", "🤣", "😃", "😄", "😅"} // with 👍: 8
	for _, e := range emojis {
		if err := svc.React(ctx, w.bob, op.ID, e, true); err != nil {
			t.Fatalf("reaction %s: %v", e, err)
		}
	}
	if err := svc.React(ctx, w.bob, op.ID, "😆", true); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("a ninth reaction: %v", err)
	}
	if err := svc.React(ctx, w.bob, op.ID, "😀", false); err != nil {
		t.Fatal(err)
	}

	// Authoring: a tenant's scope never reaches the operator's or another tenant's.
	for _, c := range []struct {
		scope, id int64
	}{{w.tb, mine.ID}, {w.ta, op.ID}, {w.tb, op.ID}, {0, mine.ID}} {
		if _, err := svc.Save(ctx, c.scope, announcement.Draft{ID: c.id, Text: "hijacked", Published: true}); errs.CodeOf(err) != errs.NotFound {
			t.Errorf("scope %d saves %d: %v", c.scope, c.id, err)
		}
		if _, err := svc.Delete(ctx, c.scope, c.id); errs.CodeOf(err) != errs.NotFound {
			t.Errorf("scope %d deletes %d: %v", c.scope, c.id, err)
		}
	}
	if got, _ := svc.Authored(ctx, w.tb); len(got) != 0 {
		t.Errorf("b authored %v", got)
	}
	if got, _ := svc.Get(ctx, 0, op.ID); got == nil || got.Text != "maintenance <tonight>" {
		t.Errorf("the operator's changed: %+v", got)
	}
	// Publishing keeps its first time; bad input changes nothing.
	later := now.Add(time.Hour)
	svc.Now = func() time.Time { return later }
	again, err := svc.Save(ctx, w.ta, announcement.Draft{ID: mine.ID, Text: "welcome to a!", Published: true})
	if err != nil || !again.PublishedAt.Equal(*mine.PublishedAt) {
		t.Errorf("republished: %+v %v", again, err)
	}
	if _, err := svc.Save(ctx, w.ta, announcement.Draft{ID: mine.ID, Text: " "}); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("empty text: %v", err)
	}
	if _, err := svc.Save(ctx, w.ta, announcement.Draft{ID: mine.ID, Text: "x", StartsAt: &later, EndsAt: &now}); errs.CodeOf(err) != errs.Invalid {
		t.Errorf("ends before it starts: %v", err)
	}
}
