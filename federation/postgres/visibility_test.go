package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// Issue 14, finding 3: a post one may not see must be answered exactly as
// one that does not exist, by every store call that links an account to
// a post and by every query that pages. The tests below are generated
// over those calls, against alice's direct post (mentioning nobody) and
// followers-only post, by bob (her tenant, not a follower) and carol
// (another tenant).

// post publishes a local post with tags and, optionally, a poll.
func (w *moreWorld) post(author *federation.Account, text string, vis federation.Visibility, tags []string, poll bool) *federation.Status {
	w.t.Helper()
	st := &federation.Status{AccountID: author.ID, TenantID: author.TenantID, Content: "<p>" + text + "</p>", Text: text,
		Visibility: vis, Tags: tags, Published: time.Now()}
	if poll {
		end := time.Now().Add(time.Hour)
		st.Poll = &federation.Poll{EndsAt: &end, Options: []federation.PollOption{{Title: "yes"}, {Title: "no"}}}
	}
	out, _, err := w.s.Publish(context.Background(), st, func(id int64) string {
		return fmt.Sprintf("https://%s/users/%s/statuses/%d", author.Domain, author.Username, id)
	}, func(*federation.Status) (string, []byte, error) { return "x", []byte("{}"), nil })
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

func (w *moreWorld) exec(query string, args ...any) {
	w.t.Helper()
	if _, err := w.db.Exec(context.Background(), query, args...); err != nil {
		w.t.Fatalf("%s: %v", query, err)
	}
}

// linkCounts counts every row a linking call could leave behind.
func (w *moreWorld) linkCounts() [8]int64 {
	w.t.Helper()
	var n [8]int64
	err := w.db.QueryRow(context.Background(), `select (select count(*) from favourites), (select count(*) from bookmarks),
		(select count(*) from statuses), (select count(*) from poll_votes), (select count(*) from filter_statuses),
		(select count(*) from reports where cardinality(status_ids) > 0), (select count(*) from status_mentions),
		(select count(*) from notifications)`).Scan(&n[0], &n[1], &n[2], &n[3], &n[4], &n[5], &n[6], &n[7])
	if err != nil {
		w.t.Fatal(err)
	}
	return n
}

// answer is what a caller learns from an error: its code and message.
func answer(err error) string {
	if err == nil {
		return "ok"
	}
	return string(errs.CodeOf(err)) + ": " + errs.MessageOf(err)
}

var errNotAttached = errors.New("no status attached")

// storeLink is one store call that links account a to a status (by id,
// or by URI for replies).
type storeLink struct {
	name string
	do   func(ctx context.Context, w *moreWorld, a *federation.Account, id int64, uri string) error
}

func storeLinks(filterOf map[int64]int64) []storeLink {
	n := 0
	return []storeLink{
		{"favourite", func(ctx context.Context, w *moreWorld, a *federation.Account, id int64, _ string) error {
			return w.s.Favourite(ctx, a.ID, id, "")
		}},
		{"bookmark", func(ctx context.Context, w *moreWorld, a *federation.Account, id int64, _ string) error {
			return w.s.SetBookmark(ctx, a.ID, id, true)
		}},
		{"reblog", func(ctx context.Context, w *moreWorld, a *federation.Account, id int64, _ string) error {
			n++
			_, err := w.s.Reblog(ctx, &federation.Status{AccountID: a.ID, TenantID: a.TenantID, Visibility: federation.Public,
				URI: fmt.Sprintf("https://%s/users/%s/boosts/%d", a.Domain, a.Username, n), Published: time.Now()}, id)
			return err
		}},
		{"vote", func(ctx context.Context, w *moreWorld, a *federation.Account, id int64, _ string) error {
			_, err := w.s.Vote(ctx, federation.Vote{StatusID: id, AccountID: a.ID, Choices: []int{0}})
			return err
		}},
		{"filter", func(ctx context.Context, w *moreWorld, a *federation.Account, id int64, _ string) error {
			_, err := w.s.AddFilterStatus(ctx, a.ID, filterOf[a.ID], id)
			return err
		}},
		{"reply", func(ctx context.Context, w *moreWorld, a *federation.Account, _ int64, uri string) error {
			_, _, err := w.s.Publish(ctx, &federation.Status{AccountID: a.ID, TenantID: a.TenantID, Content: "<p>re</p>",
				Visibility: federation.Public, InReplyToURI: uri, Published: time.Now()},
				func(id int64) string { return fmt.Sprintf("https://%s/users/%s/statuses/%d", a.Domain, a.Username, id) },
				func(*federation.Status) (string, []byte, error) { return "x", []byte("{}"), nil })
			return err
		}},
		{"report", func(ctx context.Context, w *moreWorld, a *federation.Account, id int64, _ string) error {
			r := &federation.UserReport{ReporterID: a.ID, ReporterTenantID: a.TenantID, TargetTenantID: w.alice.TenantID,
				TargetID: w.alice.ID, StatusIDs: []int64{id}, Category: federation.ReportOther}
			if err := w.s.FileReport(ctx, r); err != nil {
				return err
			}
			if len(r.StatusIDs) == 0 {
				return errNotAttached
			}
			return nil
		}},
		{"context", func(ctx context.Context, w *moreWorld, a *federation.Account, id int64, _ string) error {
			_, _, err := w.s.Context(ctx, a.ID, id)
			return err
		}},
	}
}

func TestIssue14Finding3StoreRefusesLinksToHiddenPosts(t *testing.T) {
	t.Parallel()
	w := newMoreWorld(t)
	ctx := context.Background()
	direct := w.post(w.alice, "zanzibar direct", federation.Direct, nil, true)
	private := w.post(w.alice, "zanzibar private", federation.Private, nil, true)
	filterOf := map[int64]int64{}
	attackers := []*federation.Account{w.bob, w.carol}
	for _, a := range attackers {
		f, err := w.s.SaveFilter(ctx, a.ID, &federation.Filter{Title: "f", Context: []string{"home"}, Action: "warn"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		filterOf[a.ID] = f.ID
	}
	missing := private.ID + 1000
	missingURI := fmt.Sprintf("https://a.example/users/alice/statuses/%d", missing)
	before := w.linkCounts()
	for _, l := range storeLinks(filterOf) {
		for _, a := range attackers {
			got := map[string]string{
				"direct":  answer(l.do(ctx, w, a, direct.ID, direct.URI)),
				"private": answer(l.do(ctx, w, a, private.ID, private.URI)),
				"missing": answer(l.do(ctx, w, a, missing, missingURI)),
			}
			if got["direct"] != got["missing"] || got["private"] != got["missing"] || got["missing"] == "ok" {
				t.Errorf("%s by %s: hidden and missing answered differently or allowed: %v", l.name, a.Username, got)
			}
		}
	}
	if after := w.linkCounts(); after != before {
		t.Fatalf("links to hidden posts were stored: rows %v, then %v", before, after)
	}
	// The same calls on a post they may see go through: the checks above
	// exercised the real paths, not a refusal of everything.
	public := w.post(w.alice, "zanzibar public", federation.Public, nil, true)
	for _, l := range storeLinks(filterOf) {
		if err := l.do(ctx, w, w.carol, public.ID, public.URI); err != nil {
			t.Errorf("%s of a public post: %v", l.name, err)
		}
	}
}

// pagedWorld is the world of the paging test: for each reader, links and
// feed entries of posts it may not see, newer than those of one it may.
type pagedWorld struct {
	*moreWorld
	dave                       *federation.Account
	visible                    *federation.Status // dave's public post, followed by everyone
	direct, private, blockedBy *federation.Status // hidden from bob and carol
	own                        map[int64]*federation.Status
	list                       map[int64]*federation.List
}

func newPagedWorld(t *testing.T) *pagedWorld {
	t.Helper()
	ctx := context.Background()
	w := &pagedWorld{moreWorld: newMoreWorld(t), own: map[int64]*federation.Status{}, list: map[int64]*federation.List{}}
	w.dave = w.remote("dave")
	readers := []*federation.Account{w.bob, w.carol}
	for _, r := range readers {
		w.follow(r, w.dave)
	}
	w.visible = w.remotePost(w.dave, w.ta, "zanzibar from dave", "", "secret")
	if err := w.s.AddToHomeFeeds(ctx, w.visible.ID, w.dave.ID, w.tb); err != nil {
		t.Fatal(err)
	}
	for _, r := range readers {
		w.own[r.ID] = w.post(r, "zanzibar of my own", federation.Public, nil, false)
	}
	w.direct = w.post(w.alice, "zanzibar direct", federation.Direct, nil, false)
	w.private = w.post(w.alice, "zanzibar private", federation.Private, nil, false)
	erin := mustCreate(t, w.s, newAccount(t, w.ta, "a.example", "erin", "erin@a.example"))
	w.blockedBy = w.post(erin, "zanzibar #secret", federation.Public, []string{"secret"}, false)
	w.exec(`insert into tenant_timeline (tenant_id, status_id, local) values ($1, $2, false)`, w.tb, w.blockedBy.ID)
	if _, err := w.s.Reblog(ctx, &federation.Status{AccountID: w.dave.ID, URI: w.dave.Remote.URI + "/boosts/1",
		Visibility: federation.Public, Published: time.Now()}, w.blockedBy.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.s.EditLocalStatus(ctx, w.direct.URI, w.alice.ID, federation.StatusEdit{Content: "<p>zanzibar!</p>",
		At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	hidden := []int64{w.direct.ID, w.private.ID, w.blockedBy.ID}
	for _, r := range readers {
		w.exec(`insert into blocks (account_id, target_id) values ($1, $2)`, erin.ID, r.ID)
		w.linkAll(r, hidden)
	}
	return w
}

// linkAll gives reader r, the way an import or a since-revoked follow
// would have, links to dave's post and then to the hidden ones, and a
// list of dave and alice (followed, but not accepted).
func (w *pagedWorld) linkAll(r *federation.Account, hidden []int64) {
	ctx := context.Background()
	for _, id := range append([]int64{w.visible.ID}, hidden...) {
		w.exec(`insert into bookmarks (account_id, status_id) values ($1, $2)`, r.ID, id)
		w.exec(`insert into favourites (account_id, status_id) values ($1, $2)`, r.ID, id)
		w.exec(`insert into home_feeds (account_id, status_id) values ($1, $2) on conflict do nothing`, r.ID, id)
		w.exec(`insert into notifications (account_id, from_account_id, type, status_id)
			select $1, account_id, 'mention', id from statuses where id = $2`, r.ID, id)
	}
	w.exec(`insert into account_conversations (account_id, participant_ids, last_status_id) values
		($1, array[$2::bigint], $3), ($1, array[$4::bigint], $5)`, r.ID, w.dave.ID, w.visible.ID, w.alice.ID, w.direct.ID)
	if _, _, err := w.s.CreateFollow(ctx, r.ID, w.alice.ID, fmt.Sprintf("https://x.example/pending/%d", r.ID), "pending"); err != nil {
		w.t.Fatal(err)
	}
	l, err := w.s.SaveList(ctx, r.ID, federation.List{Title: "people", RepliesPolicy: federation.RepliesList})
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.s.AddListMembers(ctx, r.ID, l.ID, []int64{w.dave.ID, w.alice.ID}); err != nil {
		w.t.Fatal(err)
	}
	w.list[r.ID] = l
}

// pagedQuery is one paged (or limited) read: what it returns for reader r
// with a page of one, and what it must return.
type pagedQuery struct {
	name string
	get  func(ctx context.Context, w *pagedWorld, r *federation.Account) ([]int64, error)
	want func(w *pagedWorld, r *federation.Account) []int64
}

func statusQuery(q federation.StatusQuery) func(context.Context, *pagedWorld, *federation.Account) ([]int64, error) {
	return func(ctx context.Context, w *pagedWorld, r *federation.Account) ([]int64, error) {
		q := q
		q.ViewerID = r.ID
		if q.AccountID == -1 {
			q.AccountID = w.alice.ID
		}
		return w.s.SearchStatuses(ctx, q)
	}
}

func pagedQueries() []pagedQuery {
	one := federation.Page{Limit: 1}
	visible := func(w *pagedWorld, _ *federation.Account) []int64 { return []int64{w.visible.ID} }
	own := func(w *pagedWorld, r *federation.Account) []int64 { return []int64{w.own[r.ID].ID} }
	none := func(*pagedWorld, *federation.Account) []int64 { return nil }
	return []pagedQuery{
		{"search", statusQuery(federation.StatusQuery{Text: "zanzibar", Limit: 1}), own},
		{"search offset", statusQuery(federation.StatusQuery{Text: "zanzibar", Limit: 1, Offset: 1}), visible},
		{"search max_id", statusQuery(federation.StatusQuery{Text: "zanzibar", Limit: 1, MaxID: 1 << 40}), own},
		{"search account_id", statusQuery(federation.StatusQuery{Text: "zanzibar", Limit: 1, AccountID: -1}), none},
		{"search min_id", func(ctx context.Context, w *pagedWorld, r *federation.Account) ([]int64, error) {
			return w.s.SearchStatuses(ctx, federation.StatusQuery{ViewerID: r.ID, Text: "zanzibar", Limit: 1, MinID: w.own[r.ID].ID})
		}, none},
		{"bookmarks", func(ctx context.Context, w *pagedWorld, r *federation.Account) ([]int64, error) {
			ids, _, err := w.s.Bookmarks(ctx, r.ID, one)
			return ids, err
		}, visible},
		{"favourites", func(ctx context.Context, w *pagedWorld, r *federation.Account) ([]int64, error) {
			ids, _, err := w.s.Favourites(ctx, r.ID, one)
			return ids, err
		}, visible},
		{"notifications", func(ctx context.Context, w *pagedWorld, r *federation.Account) ([]int64, error) {
			ns, err := w.s.Notifications(ctx, r.ID, federation.NotificationQuery{}, one)
			var ids []int64
			for _, n := range ns {
				ids = append(ids, n.StatusID)
			}
			return ids, err
		}, visible},
		{"conversations", func(ctx context.Context, w *pagedWorld, r *federation.Account) ([]int64, error) {
			cs, err := w.s.Conversations(ctx, r.ID, one)
			var ids []int64
			for _, c := range cs {
				ids = append(ids, c.LastStatusID)
			}
			return ids, err
		}, visible},
		{"home", func(ctx context.Context, w *pagedWorld, r *federation.Account) ([]int64, error) {
			return w.s.HomeTimeline(ctx, r.ID, one)
		}, own},
		{"list", func(ctx context.Context, w *pagedWorld, r *federation.Account) ([]int64, error) {
			return w.s.ListTimeline(ctx, r.ID, w.list[r.ID], one)
		}, visible},
		{"public", func(ctx context.Context, w *pagedWorld, r *federation.Account) ([]int64, error) {
			return w.s.PublicTimeline(ctx, r.TenantID, r.ID, true, true, one)
		}, own},
		{"tag", func(ctx context.Context, w *pagedWorld, r *federation.Account) ([]int64, error) {
			return w.s.TagTimeline(ctx, r.TenantID, r.ID, "secret", federation.TimelineFilter{}, one)
		}, visible},
		{"trends", func(ctx context.Context, w *pagedWorld, r *federation.Account) ([]int64, error) {
			return w.s.TrendingStatuses(ctx, r.TenantID, r.ID, 1, 0)
		}, visible},
		{"account statuses", func(ctx context.Context, w *pagedWorld, r *federation.Account) ([]int64, error) {
			return w.s.AccountStatuses(ctx, r.ID, w.alice.ID, federation.AccountStatusesFilter{}, one)
		}, none},
		{"favourited_by", func(ctx context.Context, w *pagedWorld, r *federation.Account) ([]int64, error) {
			ids, _, err := w.s.FavouritedBy(ctx, r.ID, w.direct.ID, one)
			return ids, err
		}, none},
		{"reblogged_by", func(ctx context.Context, w *pagedWorld, r *federation.Account) ([]int64, error) {
			ids, _, err := w.s.RebloggedBy(ctx, r.ID, w.blockedBy.ID, one)
			return ids, err
		}, none},
		{"history", func(ctx context.Context, w *pagedWorld, r *federation.Account) ([]int64, error) {
			vs, err := w.s.StatusHistory(ctx, r.ID, w.direct.ID)
			return make([]int64, len(vs)), err
		}, none},
	}
}

// Every paged query decides visibility before it cuts the page: with a
// page of one, the newest row the reader may see comes back, never an
// empty page that a hidden row took (the search oracle of the finding).
func TestIssue14Finding3PagedQueriesApplyVisibilityBeforeLimit(t *testing.T) {
	t.Parallel()
	w := newPagedWorld(t)
	ctx := context.Background()
	for _, q := range pagedQueries() {
		for _, r := range []*federation.Account{w.bob, w.carol} {
			got, err := q.get(ctx, w, r)
			if err != nil {
				t.Errorf("%s for %s: %v", q.name, r.Username, err)
				continue
			}
			if want := q.want(w, r); !slices.Equal(got, want) {
				t.Errorf("%s for %s with a page of one: %v, want %v (hidden: %d %d %d)", q.name, r.Username, got, want,
					w.direct.ID, w.private.ID, w.blockedBy.ID)
			}
		}
	}
}

// A suspended account's posts leave every paged query of the viewers the
// suspension covers (its tenant, or every tenant when the instance
// suspends), as Mastodon removes them from timelines; viewers on other
// tenants still see them. Found by the home page cache's tests (session 9):
// a moderator's suspension hid the account but not its posts on home.
func TestSuspendedAccountsPostsLeaveEveryPagedQuery(t *testing.T) {
	t.Parallel()
	w := newPagedWorld(t)
	ctx := context.Background()
	w.exec(`insert into account_limits (account_id, tenant_id, suspended_at) values ($1, $2, now())`, w.dave.ID, w.ta)
	for _, q := range pagedQueries() {
		for _, r := range []*federation.Account{w.bob, w.carol} {
			want := q.want(w, r)
			if !slices.Equal(want, []int64{w.visible.ID}) {
				continue
			}
			got, err := q.get(ctx, w, r)
			if err != nil {
				t.Errorf("%s for %s: %v", q.name, r.Username, err)
				continue
			}
			suspendedHere := r.TenantID == w.ta
			if suspendedHere && slices.Contains(got, w.visible.ID) {
				t.Errorf("%s for %s: the suspended account's post is still listed: %v", q.name, r.Username, got)
			}
			if !suspendedHere && !slices.Equal(got, want) {
				t.Errorf("%s for %s on another tenant: %v, want %v", q.name, r.Username, got, want)
			}
		}
	}
	if ok, err := w.s.CanSee(ctx, w.bob.ID, w.visible.ID); err != nil || ok {
		t.Errorf("bob can see the suspended account's post: %v %v", ok, err)
	}
	w.exec(`insert into account_limits (account_id, tenant_id, suspended_at) values ($1, null, now())`, w.dave.ID)
	if ok, err := w.s.CanSee(ctx, w.carol.ID, w.visible.ID); err != nil || ok {
		t.Errorf("an instance-wide suspension left the post visible on tenant b: %v %v", ok, err)
	}
}
