package postgres_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

func wantIDs(t *testing.T, what string, got []int64, want ...int64) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// discoverable marks the remote actors known so far as discoverable, as
// their documents would.
func discoverable(t *testing.T, w *moreWorld) {
	t.Helper()
	if _, err := w.db.Exec(context.Background(), `update accounts set discoverable = true where tenant_id is null`); err != nil {
		t.Fatal(err)
	}
}

func TestIssue17BlocksAndMutesPagedByRowID(t *testing.T) {
	w := newMoreWorld(t)
	ctx := context.Background()
	r1, r2, r3 := w.remote("r1"), w.remote("r2"), w.remote("r3")
	// Blocked in the order r2, r3, r1: pages follow the blocks, not the accounts.
	for _, a := range []*federation.Account{r2, r3, r1} {
		if err := w.s.Block(ctx, w.alice.ID, a.ID, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.s.Block(ctx, w.bob.ID, r3.ID, ""); err != nil { // bob's: never in alice's list
		t.Fatal(err)
	}
	ids, cursors, err := w.s.BlockedAccounts(ctx, w.alice.ID, federation.Page{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "first page", ids, r1.ID, r3.ID)
	next, _, _ := w.s.BlockedAccounts(ctx, w.alice.ID, federation.Page{Limit: 2, MaxID: cursors[1]})
	wantIDs(t, "next page", next, r2.ID)
	all, allCursors, _ := w.s.BlockedAccounts(ctx, w.alice.ID, federation.Page{Limit: 40})
	prev, _, _ := w.s.BlockedAccounts(ctx, w.alice.ID, federation.Page{Limit: 1, MinID: allCursors[2]})
	wantIDs(t, "all", all, r1.ID, r3.ID, r2.ID)
	wantIDs(t, "oldest page above r2's block", prev, r3.ID)

	past := time.Now().Add(-time.Hour)
	for _, m := range []struct {
		a     *federation.Account
		until *time.Time
	}{{r1, nil}, {r2, &past}, {r3, nil}} {
		if err := w.s.Mute(ctx, w.alice.ID, m.a.ID, true, m.until); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.s.Mute(ctx, w.carol.ID, r2.ID, true, nil); err != nil {
		t.Fatal(err)
	}
	mutes, err := w.s.MutedAccounts(ctx, w.alice.ID, federation.Page{Limit: 1})
	if err != nil || len(mutes) != 1 || mutes[0].AccountID != r3.ID || mutes[0].ExpiresAt != nil {
		t.Fatalf("mutes page 1 = %+v %v", mutes, err)
	}
	// r2's mute ended: the next page is r1's, not an empty or short one.
	mutes, _ = w.s.MutedAccounts(ctx, w.alice.ID, federation.Page{Limit: 1, MaxID: mutes[0].Cursor})
	if len(mutes) != 1 || mutes[0].AccountID != r1.ID {
		t.Fatalf("mutes page 2 = %+v", mutes)
	}
}

func TestIssue17NotesAndEndorsementsAreTheWritersOnly(t *testing.T) {
	w := newMoreWorld(t)
	ctx := context.Background()
	r := w.remote("r")
	rel := func(viewer, target *federation.Account) federation.Relationship {
		t.Helper()
		rs, err := w.s.Relationships(ctx, viewer.ID, []int64{target.ID})
		if err != nil || len(rs) != 1 {
			t.Fatalf("relationships: %v %v", rs, err)
		}
		return rs[0]
	}
	if err := w.s.SetAccountNote(ctx, w.alice.ID, r.ID, "met at the conference"); err != nil {
		t.Fatal(err)
	}
	// Carol, on tenant B, notes the same account: two notes, each its writer's.
	if err := w.s.SetAccountNote(ctx, w.carol.ID, r.ID, "carol's"); err != nil {
		t.Fatal(err)
	}
	if got := rel(w.alice, r).Note; got != "met at the conference" {
		t.Errorf("alice's note = %q", got)
	}
	if got := rel(w.carol, r).Note; got != "carol's" {
		t.Errorf("carol's note = %q", got)
	}
	if got := rel(w.bob, r).Note; got != "" {
		t.Errorf("bob sees note %q", got)
	}
	if err := w.s.SetAccountNote(ctx, w.carol.ID, r.ID, ""); err != nil {
		t.Fatal(err)
	}
	if rel(w.carol, r).Note != "" || rel(w.alice, r).Note == "" {
		t.Errorf("removing carol's note: carol %q, alice %q", rel(w.carol, r).Note, rel(w.alice, r).Note)
	}
	// domain_blocking: alice hides remote.example, carol does not.
	if err := w.s.BlockDomain(ctx, w.alice.ID, "remote.example"); err != nil {
		t.Fatal(err)
	}
	if !rel(w.alice, r).DomainBlocking || rel(w.carol, r).DomainBlocking || rel(w.alice, w.carol).DomainBlocking {
		t.Errorf("domain_blocking: alice→r %v, carol→r %v, alice→carol %v",
			rel(w.alice, r).DomainBlocking, rel(w.carol, r).DomainBlocking, rel(w.alice, w.carol).DomainBlocking)
	}

	// Endorsing needs an accepted follow.
	wantCode(t, w.s.Endorse(ctx, w.carol.ID, w.alice.ID), errs.Invalid)
	w.follow(w.carol, w.alice)
	if err := w.s.Endorse(ctx, w.carol.ID, w.alice.ID); err != nil {
		t.Fatal(err)
	}
	if err := w.s.Endorse(ctx, w.carol.ID, w.alice.ID); err != nil { // again: done
		t.Fatal(err)
	}
	if !rel(w.carol, w.alice).Endorsed || rel(w.bob, w.alice).Endorsed {
		t.Errorf("endorsed: carol %v, bob %v", rel(w.carol, w.alice).Endorsed, rel(w.bob, w.alice).Endorsed)
	}
	ids, _, _ := w.s.Endorsements(ctx, w.carol.ID, federation.Page{Limit: 40})
	wantIDs(t, "carol's endorsements", ids, w.alice.ID)
	ids, _, _ = w.s.Endorsements(ctx, w.alice.ID, federation.Page{Limit: 40})
	wantIDs(t, "alice's endorsements", ids)
	if err := w.s.Unendorse(ctx, w.carol.ID, w.alice.ID); err != nil {
		t.Fatal(err)
	}
	if rel(w.carol, w.alice).Endorsed {
		t.Error("still endorsed")
	}
	// An endorsement ends with the follow behind it.
	if err := w.s.Endorse(ctx, w.carol.ID, w.alice.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.DeleteFollow(ctx, w.carol.ID, w.alice.ID); err != nil {
		t.Fatal(err)
	}
	if rel(w.carol, w.alice).Endorsed {
		t.Error("endorsement outlived the follow")
	}
	// At most MaxEndorsements.
	for i := 0; i < federation.MaxEndorsements; i++ {
		a := w.remote("e" + string(rune('a'+i%26)) + string(rune('a'+i/26)))
		w.follow(w.bob, a)
		if err := w.s.Endorse(ctx, w.bob.ID, a.ID); err != nil {
			t.Fatal(err)
		}
	}
	w.follow(w.bob, r)
	wantCode(t, w.s.Endorse(ctx, w.bob.ID, r.ID), errs.Invalid)
}

func TestIssue17SuggestionsFromRealData(t *testing.T) {
	w := newMoreWorld(t)
	ctx := context.Background()
	dave := mustCreate(t, w.s, newAccount(t, w.ta, "a.example", "dave", "dave@a.example"))
	erin := mustCreate(t, w.s, newAccount(t, w.ta, "a.example", "erin", "erin@a.example"))
	hidden := mustCreate(t, w.s, newAccount(t, w.ta, "a.example", "hidden", "hidden@a.example"))
	if _, err := w.db.Exec(ctx, `update accounts set discoverable = false where id = $1`, hidden.ID); err != nil {
		t.Fatal(err)
	}
	fof, far := w.remote("fof"), w.remote("far")
	discoverable(t, w)
	w.follow(w.alice, w.bob)
	w.follow(w.bob, fof)
	w.follow(w.carol, far) // tenant B's: not a friend of alice's friends
	if err := w.s.Mute(ctx, w.alice.ID, erin.ID, true, nil); err != nil {
		t.Fatal(err)
	}
	sugs, err := w.s.Suggestions(ctx, w.alice.ID, w.ta, 40)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64][]string{}
	for _, s := range sugs {
		got[s.AccountID] = s.Sources
	}
	if len(got) != 2 || !slices.Equal(got[fof.ID], []string{federation.SuggestFriendsOfFriends}) ||
		!slices.Equal(got[dave.ID], []string{federation.SuggestFeatured}) || sugs[0].AccountID != fof.ID {
		t.Fatalf("alice's suggestions = %+v (fof %d, dave %d)", sugs, fof.ID, dave.ID)
	}
	// Carol, on tenant B, dismisses dave: alice's suggestions do not change.
	if err := w.s.DismissSuggestion(ctx, w.carol.ID, dave.ID); err != nil {
		t.Fatal(err)
	}
	if again, _ := w.s.Suggestions(ctx, w.alice.ID, w.ta, 40); len(again) != 2 {
		t.Fatalf("after carol's dismissal, alice's = %+v", again)
	}
	carols, _ := w.s.Suggestions(ctx, w.carol.ID, w.tb, 40)
	for _, s := range carols {
		if s.AccountID == dave.ID || s.AccountID == w.alice.ID || s.AccountID == w.bob.ID {
			t.Errorf("carol is suggested tenant A's %d: %+v", s.AccountID, carols)
		}
	}
	if err := w.s.DismissSuggestion(ctx, w.alice.ID, fof.ID); err != nil {
		t.Fatal(err)
	}
	if err := w.s.Block(ctx, dave.ID, w.alice.ID, ""); err != nil { // blocked by: left out too
		t.Fatal(err)
	}
	if rest, _ := w.s.Suggestions(ctx, w.alice.ID, w.ta, 40); len(rest) != 0 {
		t.Fatalf("after dismissing and being blocked: %+v", rest)
	}
}

func TestIssue17DirectoryAndListedAccountsAreTenantScoped(t *testing.T) {
	w := newMoreWorld(t)
	ctx := context.Background()
	known, unknown := w.remote("known"), w.remote("unknown")
	discoverable(t, w)
	w.follow(known, w.bob)
	quiet := mustCreate(t, w.s, newAccount(t, w.ta, "a.example", "quiet", "quiet@a.example"))
	gone := mustCreate(t, w.s, newAccount(t, w.ta, "a.example", "gone", "gone@a.example"))
	if _, err := w.db.Exec(ctx, `update accounts set discoverable = false where id = $1`, quiet.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.Exec(ctx, `insert into account_limits (account_id, tenant_id, suspended_at) values ($1, $2, now())`, gone.ID, w.ta); err != nil {
		t.Fatal(err)
	}
	muted := mustCreate(t, w.s, newAccount(t, w.ta, "a.example", "muted", "muted@a.example"))
	if _, err := w.db.Exec(ctx, `insert into account_limits (account_id, silenced_at) values ($1, now())`, muted.ID); err != nil {
		t.Fatal(err)
	}
	dir := func(tenant int64, local bool, order string) []int64 {
		t.Helper()
		ids, err := w.s.Directory(ctx, federation.DirectoryQuery{TenantID: tenant, Local: local, Order: order, Limit: 40})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(ids)
		return ids
	}
	wantIDs(t, "A local", dir(w.ta, true, "active"), sortedIDs(w.alice.ID, w.bob.ID)...)
	wantIDs(t, "A all", dir(w.ta, false, "new"), sortedIDs(w.alice.ID, w.bob.ID, known.ID)...)
	wantIDs(t, "B all", dir(w.tb, false, "active"), w.carol.ID)
	// Once carol follows alice, tenant B knows alice.
	w.follow(w.carol, w.alice)
	wantIDs(t, "B all, following alice", dir(w.tb, false, "active"), sortedIDs(w.alice.ID, w.carol.ID)...)
	newest, _ := w.s.Directory(ctx, federation.DirectoryQuery{TenantID: w.ta, Local: true, Order: "new", Limit: 1})
	wantIDs(t, "newest", newest, w.bob.ID)

	ids, err := w.s.ListedAccounts(ctx, w.ta, []int64{unknown.ID, 1 << 40, gone.ID, w.carol.ID})
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "listed on A", ids, unknown.ID, w.carol.ID)
	ids, _ = w.s.ListedAccounts(ctx, w.tb, []int64{gone.ID}) // suspended by tenant A only
	wantIDs(t, "listed on B", ids, gone.ID)
}

func TestIssue17AccountSettings(t *testing.T) {
	w := newMoreWorld(t)
	ctx := context.Background()
	st, err := w.s.AccountSettings(ctx, w.alice.ID)
	if err != nil || st.QuotePolicy != "public" || len(st.AttributionDomains) != 0 {
		t.Fatalf("defaults = %+v %v", st, err)
	}
	ds, policy := []string{"blog.example", "news.example"}, "followers"
	if err := w.s.SetAccountSettings(ctx, w.alice.ID, &ds, &policy); err != nil {
		t.Fatal(err)
	}
	bad := "everyone"
	wantCode(t, w.s.SetAccountSettings(ctx, w.alice.ID, nil, &bad), errs.Invalid)
	wantCode(t, w.s.SetAccountSettings(ctx, w.remote("r").ID, nil, &policy), errs.NotFound)
	st, _ = w.s.AccountSettings(ctx, w.alice.ID)
	if st.QuotePolicy != "followers" || !slices.Equal(st.AttributionDomains, ds) {
		t.Fatalf("saved = %+v", st)
	}
	if other, _ := w.s.AccountSettings(ctx, w.bob.ID); other.QuotePolicy != "public" {
		t.Fatalf("bob's changed: %+v", other)
	}
}
