package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// notifyAt stores a notification for recipient as the triggers do, at a
// given time (the group key follows it).
func (w *moreWorld) notifyAt(recipient, from *federation.Account, kind string, status int64, at time.Time) int64 {
	w.t.Helper()
	var st any
	if status != 0 {
		st = status
	}
	var id int64
	if err := w.db.QueryRow(context.Background(), `insert into notifications (account_id, from_account_id, type, status_id, created_at)
		values ($1, $2, $3, $4, $5) returning id`, recipient.ID, from.ID, kind, st, at).Scan(&id); err != nil {
		w.t.Fatal(err)
	}
	return id
}

func groupKeys(gs []federation.NotificationGroup) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.Key)
	}
	return out
}

func dayKey(prefix string, at time.Time) string {
	return fmt.Sprintf("%s-%d", prefix, at.Unix()/86400)
}

// TestIssue17NotificationGroupsSQL: Mastodon's grouping in the store —
// one status's favourites of one day are one group (count, newest id,
// samples newest first), another day another group, follows of a day one
// group, a mention alone; pages walk distinct groups; every filter
// (mutes, blocks, hidden domains, account_id) applies before the limit;
// another account's key finds and dismisses nothing.
func TestIssue17NotificationGroupsSQL(t *testing.T) {
	ctx := context.Background()
	w := newMoreWorld(t)
	r1, r2, r3, r4 := w.remote("r1"), w.remote("r2"), w.remote("r3"), w.remote("r4")
	p := w.localPost(w.alice, "hello", federation.Public)
	now := time.Now().UTC()
	old := now.Add(-72 * time.Hour)

	fOld := w.notifyAt(w.alice, r3, "favourite", p.ID, old) // another day: another group
	fol1 := w.notifyAt(w.alice, r1, "follow", 0, now)
	fav1 := w.notifyAt(w.alice, r1, "favourite", p.ID, now)
	mention := w.notifyAt(w.alice, r4, "mention", p.ID, now)
	fol2 := w.notifyAt(w.alice, r2, "follow", 0, now)
	fav2 := w.notifyAt(w.alice, r2, "favourite", p.ID, now)
	favKey, favOldKey := dayKey(fmt.Sprintf("favourite-%d", p.ID), now), dayKey(fmt.Sprintf("favourite-%d", p.ID), old)
	folKey := dayKey("follow", now)
	q := federation.NotificationQuery{SiteDomain: "a.example"}

	gs, err := w.s.NotificationGroups(ctx, w.alice.ID, q, federation.GroupableNotificationTypes, federation.Page{Limit: 40})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{favKey, folKey, federation.UngroupedPrefix + fmt.Sprint(mention), favOldKey}
	if !slices.Equal(groupKeys(gs), want) {
		t.Fatalf("groups %v, want %v", groupKeys(gs), want)
	}
	fav := gs[0]
	if fav.Count != 2 || fav.MostRecentID != fav2 || fav.PageMaxID != fav2 || fav.PageMinID != fav1 ||
		!slices.Equal(fav.SampleAccountIDs, []int64{r2.ID, r1.ID}) || fav.Notification.StatusID != p.ID {
		t.Fatalf("favourites group: %+v", fav)
	}
	if gs[1].Count != 2 || gs[1].PageMinID != fol1 || gs[3].Count != 1 || gs[3].MostRecentID != fOld {
		t.Fatalf("follow or old group: %+v %+v", gs[1], gs[3])
	}

	// Pages of two groups: the next page starts below the page's oldest
	// representative; a group with older members comes again there,
	// counted up to that page (as Mastodon: clients merge by key).
	first, _ := w.s.NotificationGroups(ctx, w.alice.ID, q, federation.GroupableNotificationTypes, federation.Page{Limit: 2})
	next, _ := w.s.NotificationGroups(ctx, w.alice.ID, q, federation.GroupableNotificationTypes,
		federation.Page{Limit: 2, MaxID: first[len(first)-1].Notification.ID})
	if !slices.Equal(groupKeys(first), want[:2]) || !slices.Equal(groupKeys(next), []string{want[2], favKey}) ||
		next[1].Count != 1 || next[1].MostRecentID != fav1 || first[0].PageMinID != fav2 {
		t.Fatalf("pages %+v then %+v", first, next)
	}
	// min_id: the oldest groups above it.
	up, _ := w.s.NotificationGroups(ctx, w.alice.ID, q, federation.GroupableNotificationTypes, federation.Page{Limit: 2, MinID: fOld})
	if len(up) != 2 || up[1].Notification.ID != fol1 {
		t.Fatalf("min_id page: %+v", up)
	}
	// Grouping only favourites: follows come one by one.
	only, _ := w.s.NotificationGroups(ctx, w.alice.ID, q, []string{"favourite"}, federation.Page{Limit: 40})
	if len(only) != 5 || only[0].Key != favKey || only[1].Key != federation.UngroupedPrefix+fmt.Sprint(fol2) {
		t.Fatalf("favourites grouped only: %v", groupKeys(only))
	}
	if n, err := w.s.CountNotificationGroups(ctx, w.alice.ID, q, federation.GroupableNotificationTypes, fol1, 100); err != nil || n != 3 {
		t.Fatalf("unread groups above %d: %d %v", fol1, n, err)
	}

	// One group as a whole, its senders; not another account's.
	g, err := w.s.NotificationGroupByKey(ctx, w.alice.ID, q, favKey)
	if err != nil || g.Count != 2 || g.MostRecentID != fav2 {
		t.Fatalf("group by key: %+v %v", g, err)
	}
	if ids, err := w.s.NotificationGroupAccounts(ctx, w.alice.ID, q, folKey, 80); err != nil || !slices.Equal(ids, []int64{r2.ID, r1.ID}) {
		t.Fatalf("group accounts: %v %v", ids, err)
	}
	for _, key := range []string{favKey, federation.UngroupedPrefix + fmt.Sprint(mention)} {
		if _, err := w.s.NotificationGroupByKey(ctx, w.carol.ID, q, key); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("carol reads alice's %s: %v", key, err)
		}
		if err := w.s.DismissNotificationGroup(ctx, w.carol.ID, key); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("carol dismisses alice's %s: %v", key, err)
		}
	}
	if again, _ := w.s.NotificationGroups(ctx, w.alice.ID, q, federation.GroupableNotificationTypes, federation.Page{Limit: 40}); len(again) != 4 {
		t.Fatalf("carol's dismiss changed alice's groups: %v", groupKeys(again))
	}

	// Filters before the limit: r2 muted (notifications too), r4's domain
	// kept but r3 blocked; a page of one is never empty while matches exist.
	if err := w.s.Mute(ctx, w.alice.ID, r2.ID, true, nil); err != nil {
		t.Fatal(err)
	}
	w.exec(`insert into blocks (account_id, target_id, uri) values ($1, $2, 'https://a.example/blocks/1')`, w.alice.ID, r3.ID)
	one, err := w.s.Notifications(ctx, w.alice.ID, q, federation.Page{Limit: 1})
	if err != nil || len(one) != 1 || one[0].ID != mention {
		t.Fatalf("first of the unmuted: %+v %v", one, err)
	}
	gs, _ = w.s.NotificationGroups(ctx, w.alice.ID, q, federation.GroupableNotificationTypes, federation.Page{Limit: 40})
	if len(gs) != 3 || gs[0].Key != federation.UngroupedPrefix+fmt.Sprint(mention) || gs[1].Key != favKey ||
		gs[1].Count != 1 || !slices.Equal(gs[1].SampleAccountIDs, []int64{r1.ID}) {
		t.Fatalf("groups without muted and blocked: %+v", gs)
	}
	q1 := q
	q1.FromAccountID = r1.ID
	if ns, err := w.s.Notifications(ctx, w.alice.ID, q1, federation.Page{Limit: 1, MaxID: fav1}); err != nil || len(ns) != 1 || ns[0].ID != fol1 {
		t.Fatalf("account_id before the limit: %+v %v", ns, err)
	}
	if err := w.s.BlockDomain(ctx, w.alice.ID, "remote.example"); err != nil {
		t.Fatal(err)
	}
	if ns, _ := w.s.Notifications(ctx, w.alice.ID, q, federation.Page{Limit: 40}); len(ns) != 0 {
		t.Fatalf("hidden domain's notifications: %+v", ns)
	}
	// Dismissing a group removes its members only.
	if err := w.s.DismissNotificationGroup(ctx, w.alice.ID, favKey); err != nil {
		t.Fatal(err)
	}
	var left int
	_ = w.db.QueryRow(ctx, `select count(*) from notifications where account_id = $1 and group_key = $2`, w.alice.ID, favKey).Scan(&left)
	if left != 0 {
		t.Fatalf("dismissed group left %d", left)
	}
}

// TestIssue17NotificationPolicySQL: the policy decides in notify(): filter
// stores the notification for the requests only (not listed, not counted,
// shown with include_filtered or account_id), drop stores nothing;
// accepting a request shows its notifications and lets the sender through
// from then on; dismissing deletes them; another account's request is
// not found.
func TestIssue17NotificationPolicySQL(t *testing.T) {
	ctx := context.Background()
	w := newMoreWorld(t)
	r1, r2, friend := w.remote("r1"), w.remote("r2"), w.remote("friend")
	w.follow(w.alice, friend)
	p := w.localPost(w.alice, "hello", federation.Public)
	q := federation.NotificationQuery{SiteDomain: "a.example"}

	pol, err := w.s.NotificationPolicy(ctx, w.alice.ID)
	if err != nil || pol.ForNotFollowing != "accept" || pol.ForLimitedAccounts != "filter" {
		t.Fatalf("default policy: %+v %v", pol, err)
	}
	pol.ForNotFollowing = federation.PolicyFilter
	if err := w.s.SetNotificationPolicy(ctx, w.alice.ID, pol); err != nil {
		t.Fatal(err)
	}
	for i, a := range []*federation.Account{r1, friend} {
		if err := w.s.Favourite(ctx, a.ID, p.ID, fmt.Sprintf("https://remote.example/likes/%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	ns, _ := w.s.Notifications(ctx, w.alice.ID, q, federation.Page{Limit: 40})
	if len(ns) != 1 || ns[0].FromAccountID != friend.ID {
		t.Fatalf("listed with r1 filtered: %+v", ns)
	}
	withFiltered := q
	withFiltered.IncludeFiltered = true
	if ns, _ := w.s.Notifications(ctx, w.alice.ID, withFiltered, federation.Page{Limit: 40}); len(ns) != 2 {
		t.Fatalf("include_filtered: %+v", ns)
	}
	reqs, err := w.s.NotificationRequests(ctx, w.alice.ID, federation.Page{Limit: 40})
	if err != nil || len(reqs) != 1 || reqs[0].FromAccountID != r1.ID || reqs[0].Count != 1 || reqs[0].LastStatusID != p.ID {
		t.Fatalf("requests: %+v %v", reqs, err)
	}
	if pol, _ = w.s.NotificationPolicy(ctx, w.alice.ID); pol.PendingRequests != 1 || pol.PendingNotifications != 1 {
		t.Fatalf("summary: %+v", pol)
	}
	if _, err := w.s.NotificationRequest(ctx, w.carol.ID, r1.ID); errs.CodeOf(err) != errs.NotFound {
		t.Fatalf("carol reads alice's request: %v", err)
	}
	if err := w.s.AcceptNotificationRequests(ctx, w.carol.ID, []int64{r1.ID}); err != nil {
		t.Fatal(err)
	}
	if reqs, _ := w.s.NotificationRequests(ctx, w.alice.ID, federation.Page{Limit: 40}); len(reqs) != 1 {
		t.Fatalf("carol's accept changed alice's requests: %+v", reqs)
	}

	// Accepting: shown now, and r1's next notification is not filtered.
	if err := w.s.AcceptNotificationRequests(ctx, w.alice.ID, []int64{r1.ID}); err != nil {
		t.Fatal(err)
	}
	if ns, _ := w.s.Notifications(ctx, w.alice.ID, q, federation.Page{Limit: 40}); len(ns) != 2 {
		t.Fatalf("after accepting: %+v", ns)
	}
	w.exec(`insert into follows (follower_id, followee_id, state, uri) values ($1, $2, 'accepted', 'https://remote.example/f/1')`, r1.ID, w.alice.ID)
	if ns, _ := w.s.Notifications(ctx, w.alice.ID, q, federation.Page{Limit: 40}); len(ns) != 3 || ns[0].Type != "follow" {
		t.Fatalf("accepted sender filtered again: %+v", ns)
	}

	// Drop: r2's favourite is never stored; dismissing deletes.
	pol.ForNotFollowing = federation.PolicyDrop
	if err := w.s.SetNotificationPolicy(ctx, w.alice.ID, pol); err != nil {
		t.Fatal(err)
	}
	if err := w.s.Favourite(ctx, r2.ID, p.ID, "https://remote.example/likes/r2"); err != nil {
		t.Fatal(err)
	}
	var stored int
	_ = w.db.QueryRow(ctx, `select count(*) from notifications where from_account_id = $1`, r2.ID).Scan(&stored)
	if stored != 0 {
		t.Fatalf("dropped notification stored %d times", stored)
	}
	pol.ForNotFollowing = federation.PolicyFilter
	if err := w.s.SetNotificationPolicy(ctx, w.alice.ID, pol); err != nil {
		t.Fatal(err)
	}
	w.exec(`delete from favourites where account_id = $1`, r2.ID)
	if err := w.s.Favourite(ctx, r2.ID, p.ID, "https://remote.example/likes/r2b"); err != nil {
		t.Fatal(err)
	}
	if err := w.s.DismissNotificationRequests(ctx, w.alice.ID, []int64{r2.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.NotificationRequest(ctx, w.alice.ID, r2.ID); errs.CodeOf(err) != errs.NotFound {
		t.Fatalf("dismissed request: %v", err)
	}
	if err := w.s.SetNotificationPolicy(ctx, w.alice.ID, federation.NotificationPolicy{ForNotFollowing: "maybe",
		ForNotFollowers: "accept", ForNewAccounts: "accept", ForPrivateMentions: "accept", ForLimitedAccounts: "accept"}); err == nil ||
		!strings.Contains(err.Error(), "check") {
		t.Fatalf("a bad value stored: %v", err)
	}
}
