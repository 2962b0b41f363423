package notification_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/filter"
	"github.com/roost-social/roost/federation/social/notification"
	"github.com/roost-social/roost/internal/errs"
)

// The viewer is 1 on a.example; its filter "spoiler" hides in
// notifications. Statuses with even ids say "spoiler"; every status is by
// account 2.
type fakeFilters struct{ federation.FilterStore }

func (fakeFilters) Filters(context.Context, int64) ([]*federation.Filter, error) {
	return []*federation.Filter{{ID: 1, Title: "spoilers", Context: []string{federation.FilterNotifications},
		Action: federation.FilterHide, Keywords: []federation.FilterKeyword{{Keyword: "spoiler"}}}}, nil
}

type fakeHidden struct{}

func (fakeHidden) Hidden(context.Context, int64) ([]string, []int64, error) { return nil, nil, nil }

type fakeViews struct{}

func (fakeViews) StatusViews(_ context.Context, _ int64, ids []int64) ([]*federation.StatusView, error) {
	var out []*federation.StatusView
	for _, id := range ids {
		text := "<p>hello</p>"
		if id%2 == 0 {
			text = "<p>a spoiler</p>"
		}
		out = append(out, &federation.StatusView{Status: &federation.Status{ID: id, AccountID: 2, Content: text}})
	}
	return out, nil
}

func (fakeViews) AccountViews(_ context.Context, ids []int64) (map[int64]*federation.AccountView, error) {
	out := map[int64]*federation.AccountView{}
	for _, id := range ids {
		out[id] = &federation.AccountView{Account: &federation.Account{ID: id, Domain: "a.example", TenantID: 1}}
	}
	return out, nil
}

// fakeStore pages ns (any order) by id as the real store does, and counts
// the reads; groups are one per notification, keyed by key.
type fakeStore struct {
	federation.NotificationStore
	ns     []federation.Notification
	keys   map[int64]string
	reads  int
	policy federation.NotificationPolicy
	saved  int
	marker int64
	counts []int64 // minIDs counted
}

func (f *fakeStore) Notifications(_ context.Context, _ int64, _ federation.NotificationQuery, p federation.Page) ([]federation.Notification, error) {
	f.reads++
	all := slices.Clone(f.ns)
	slices.SortFunc(all, func(a, b federation.Notification) int { return int(b.ID - a.ID) })
	var in []federation.Notification
	for _, n := range all {
		if (p.MaxID == 0 || n.ID < p.MaxID) && n.ID > p.SinceID && n.ID > p.MinID {
			in = append(in, n)
		}
	}
	if p.MinID > 0 {
		if len(in) > p.Limit {
			in = in[len(in)-p.Limit:]
		}
		return in, nil
	}
	if len(in) > p.Limit {
		in = in[:p.Limit]
	}
	return in, nil
}

func (f *fakeStore) NotificationGroups(ctx context.Context, id int64, q federation.NotificationQuery, _ []string, p federation.Page) ([]federation.NotificationGroup, error) {
	ns, err := f.Notifications(ctx, id, q, p)
	var out []federation.NotificationGroup
	for _, n := range ns {
		out = append(out, federation.NotificationGroup{Key: f.keys[n.ID], Notification: n, Count: 1})
	}
	return out, err
}

func (f *fakeStore) NotificationPolicy(context.Context, int64) (federation.NotificationPolicy, error) {
	return f.policy, nil
}

func (f *fakeStore) SetNotificationPolicy(_ context.Context, _ int64, p federation.NotificationPolicy) error {
	f.saved++
	f.policy = p
	return nil
}

func (f *fakeStore) NotificationRequest(_ context.Context, _, from int64) (*federation.NotificationRequest, error) {
	if from == 9 {
		return &federation.NotificationRequest{FromAccountID: 9}, nil
	}
	return nil, errs.E(errs.NotFound, "Record not found")
}

func (f *fakeStore) AcceptNotificationRequests(context.Context, int64, []int64) error {
	f.saved++
	return nil
}

func (f *fakeStore) CountNotifications(_ context.Context, _ int64, _ federation.NotificationQuery, minID int64, _ int) (int, error) {
	f.counts = append(f.counts, minID)
	return 3, nil
}

func (f *fakeStore) Markers(context.Context, int64) ([]federation.Marker, error) {
	return []federation.Marker{{Timeline: "home", LastReadID: 5}, {Timeline: "notifications", LastReadID: f.marker}}, nil
}

func mentions(ids ...int64) []federation.Notification {
	var out []federation.Notification
	for _, id := range ids {
		out = append(out, federation.Notification{ID: id, Type: "mention", FromAccountID: 2, StatusID: id, CreatedAt: time.Unix(1e9, 0)})
	}
	return out
}

func service(st *fakeStore) *notification.Service {
	return &notification.Service{Pages: st, Store: st, Views: fakeViews{}, Markers: st,
		Viewings: &filter.Service{Store: fakeFilters{}, Hidden: fakeHidden{}, Now: func() time.Time { return time.Unix(1e9, 0) }}}
}

func ids(ns []federation.Notification) []int64 {
	var out []int64
	for _, n := range ns {
		out = append(out, n.ID)
	}
	return out
}

var viewer = notification.Viewer{ID: 1, SiteDomain: "a.example"}

// TestIssue17NotificationPageFilledPastHideFilters: notifications whose
// status a hide filter matches (even ids) never make a page short: more
// rows are read until the page is full, and the window (the Link cursors)
// covers every row read, so the next page starts after the hidden ones.
func TestIssue17NotificationPageFilledPastHideFilters(t *testing.T) {
	ctx := context.Background()
	st := &fakeStore{ns: mentions(1, 2, 3, 4, 5, 6, 7, 8, 9, 10)}
	svc := service(st)

	got, w, err := svc.Page(ctx, viewer, federation.NotificationQuery{}, federation.Page{Limit: 3})
	if err != nil || !slices.Equal(ids(got), []int64{9, 7, 5}) || w != (notification.Window{Newest: 10, Oldest: 5}) {
		t.Fatalf("first page: %v %+v %v", ids(got), w, err)
	}
	got, w, err = svc.Page(ctx, viewer, federation.NotificationQuery{}, federation.Page{Limit: 3, MaxID: w.Oldest})
	if err != nil || !slices.Equal(ids(got), []int64{3, 1}) || w != (notification.Window{Newest: 4, Oldest: 1}) {
		t.Fatalf("second page: %v %+v %v", ids(got), w, err)
	}
	// min_id: the oldest kept above it, newest first.
	got, w, err = svc.Page(ctx, viewer, federation.NotificationQuery{}, federation.Page{Limit: 2, MinID: 2})
	if err != nil || !slices.Equal(ids(got), []int64{5, 3}) || w != (notification.Window{Newest: 5, Oldest: 3}) {
		t.Fatalf("min_id page: %v %+v %v", ids(got), w, err)
	}
	// All hidden: an empty page, after a bounded number of reads.
	st = &fakeStore{ns: mentions(2, 4, 6, 8, 10, 12, 14, 16)}
	st.reads = 0
	if got, _, err := service(st).Page(ctx, viewer, federation.NotificationQuery{}, federation.Page{Limit: 2}); err != nil || len(got) != 0 || st.reads > 5 {
		t.Fatalf("all hidden: %v %v after %d reads", ids(got), err, st.reads)
	}
	// Without filters: one read.
	st = &fakeStore{ns: mentions(1, 2, 3)}
	svc = &notification.Service{Pages: st, Views: fakeViews{}}
	if got, _, err := svc.Page(ctx, viewer, federation.NotificationQuery{}, federation.Page{Limit: 2}); err != nil ||
		!slices.Equal(ids(got), []int64{3, 2}) || st.reads != 1 {
		t.Fatalf("no filters: %v %v %d", ids(got), err, st.reads)
	}
}

// TestIssue17GroupsNotRepeatedWhenFilled: while a page of groups is filled
// past hidden ones, a group read again (older members) is not repeated.
func TestIssue17GroupsNotRepeatedWhenFilled(t *testing.T) {
	st := &fakeStore{ns: mentions(1, 2, 3, 4, 5), keys: map[int64]string{5: "favourite-1-1", 4: "x", 3: "favourite-1-1", 2: "y", 1: "z"}}
	gs, _, err := service(st).Groups(context.Background(), viewer, federation.NotificationQuery{}, nil, federation.Page{Limit: 2})
	var keys []string
	for _, g := range gs {
		keys = append(keys, g.Key)
	}
	if err != nil || !slices.Equal(keys, []string{"favourite-1-1", "z"}) {
		t.Fatalf("groups: %v %v", keys, err)
	}
}

// TestIssue17PolicyValidation: a value other than accept, filter or drop
// is refused and nothing is stored; a good change keeps the other rules.
func TestIssue17PolicyValidation(t *testing.T) {
	ctx := context.Background()
	st := &fakeStore{policy: federation.NotificationPolicy{ForNotFollowing: "accept", ForNotFollowers: "accept",
		ForNewAccounts: "accept", ForPrivateMentions: "accept", ForLimitedAccounts: "filter"}}
	bad, good := "maybe", "drop"
	if _, err := service(st).SetPolicy(ctx, viewer, notification.PolicyChange{ForNotFollowing: &good, ForNewAccounts: &bad}); errs.CodeOf(err) != errs.Invalid || st.saved != 0 {
		t.Fatalf("bad value: %v, saved %d", err, st.saved)
	}
	p, err := service(st).SetPolicy(ctx, viewer, notification.PolicyChange{ForNotFollowing: &good})
	if err != nil || p.ForNotFollowing != "drop" || p.ForLimitedAccounts != "filter" || st.saved != 1 {
		t.Fatalf("good value: %+v %v", p, err)
	}
	// A request that is not the viewer's is not found, and nothing changes.
	if err := service(st).Accept(ctx, viewer, []int64{8}, true); errs.CodeOf(err) != errs.NotFound || st.saved != 1 {
		t.Fatalf("accept another's: %v", err)
	}
	if err := service(st).Accept(ctx, viewer, []int64{9}, true); err != nil || st.saved != 2 {
		t.Fatalf("accept: %v", err)
	}
}

// TestIssue17UnreadCountFromMarker: the unread count starts at the
// notifications marker, not the home one.
func TestIssue17UnreadCountFromMarker(t *testing.T) {
	st := &fakeStore{marker: 42}
	n, err := service(st).UnreadCount(context.Background(), viewer, federation.NotificationQuery{}, nil, false, 5000)
	if err != nil || n != 3 || !slices.Equal(st.counts, []int64{42}) {
		t.Fatalf("unread: %d %v %v", n, err, st.counts)
	}
}
