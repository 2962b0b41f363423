package mastodon

// Handler tests of followed and featured hashtags and the timeline
// filters (issue 17), on the sh fixtures of social_handlers_test.go and
// an in-memory TagStore (prefix tg).

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/social/tag"
	"github.com/roost-social/roost/internal/errs"
)

// tgStore keeps follows and features per account, as the real store
// scopes them: every method acts on the given account only.
type tgStore struct {
	follows  map[int64][]string
	featured map[int64][]federation.FeaturedTag
	nextID   int64
}

func newTGStore() *tgStore {
	return &tgStore{follows: map[int64][]string{}, featured: map[int64][]federation.FeaturedTag{}}
}

func (s *tgStore) TagStates(_ context.Context, viewer int64, names []string) ([]federation.TagState, error) {
	var out []federation.TagState
	for _, n := range names {
		st := federation.TagState{Name: n, Following: slices.Contains(s.follows[viewer], n)}
		for _, f := range s.featured[viewer] {
			st.Featuring = st.Featuring || f.Name == n
		}
		if n != "neverseen" {
			st.ID = int64(len(n))
		}
		out = append(out, st)
	}
	return out, nil
}

func (s *tgStore) FollowTag(_ context.Context, a int64, n string) error {
	if !slices.Contains(s.follows[a], n) {
		s.follows[a] = append(s.follows[a], n)
	}
	return nil
}

func (s *tgStore) UnfollowTag(_ context.Context, a int64, n string) error {
	s.follows[a] = slices.DeleteFunc(s.follows[a], func(x string) bool { return x == n })
	return nil
}

func (s *tgStore) FollowedTags(_ context.Context, a int64, p federation.Page) ([]string, []int64, error) {
	var names []string
	var cursors []int64
	for i := len(s.follows[a]) - 1; i >= 0 && len(names) < p.Limit; i-- {
		if p.MaxID == 0 || int64(i+1) < p.MaxID {
			names, cursors = append(names, s.follows[a][i]), append(cursors, int64(i+1))
		}
	}
	return names, cursors, nil
}

func (s *tgStore) FeatureTag(_ context.Context, a int64, n string) (*federation.FeaturedTag, error) {
	s.nextID++
	last := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	f := federation.FeaturedTag{ID: s.nextID, Name: n, StatusesCount: 2, LastStatusAt: &last}
	s.featured[a] = append(s.featured[a], f)
	return &f, nil
}

func (s *tgStore) UnfeatureTag(_ context.Context, a, id int64) error {
	before := len(s.featured[a])
	s.featured[a] = slices.DeleteFunc(s.featured[a], func(f federation.FeaturedTag) bool { return f.ID == id })
	if len(s.featured[a]) == before {
		return errs.E(errs.NotFound, "Record not found")
	}
	return nil
}

func (s *tgStore) UnfeatureTagName(_ context.Context, a int64, n string) error {
	s.featured[a] = slices.DeleteFunc(s.featured[a], func(f federation.FeaturedTag) bool { return f.Name == n })
	return nil
}

func (s *tgStore) FeaturedTags(_ context.Context, a int64) ([]federation.FeaturedTag, error) {
	return s.featured[a], nil
}

func (s *tgStore) TagSuggestions(context.Context, int64, int) ([]string, error) {
	return []string{"knitting"}, nil
}

func (s *tgStore) TagHistories(_ context.Context, _ int64, names []string) ([]federation.TagStats, error) {
	var out []federation.TagStats
	for _, n := range names {
		out = append(out, federation.TagStats{Name: n, History: []federation.TagDay{{Day: time.Unix(1764979200, 0), Uses: 3, Accounts: 2}}})
	}
	return out, nil
}

// tgViews records the timeline filters the handlers ask for and knows
// alice (10, local) and a remote account (30).
type tgViews struct {
	shViews
	tagFilter    *federation.TimelineFilter
	publicFilter *federation.TimelineFilter
	tagName      string
}

func (v *tgViews) AccountViews(_ context.Context, ids []int64) (map[int64]*federation.AccountView, error) {
	out := map[int64]*federation.AccountView{}
	for _, id := range ids {
		switch id {
		case 10:
			out[id] = &federation.AccountView{Account: &federation.Account{ID: 10, TenantID: 1, Domain: "a.example", Username: "alice"}}
		case 30:
			out[id] = &federation.AccountView{Account: &federation.Account{ID: 30, Domain: "remote.example", Username: "rem",
				Remote: &federation.RemoteInfo{URI: "https://remote.example/users/rem"}}}
		}
	}
	return out, nil
}

func (v *tgViews) TagTimeline(_ context.Context, _, _ int64, name string, f federation.TimelineFilter, _ federation.Page) ([]int64, error) {
	v.tagName, v.tagFilter = name, &f
	return nil, nil
}

func (v *tgViews) PublicStatuses(_ context.Context, _, _ int64, f federation.TimelineFilter, _ federation.Page) ([]int64, error) {
	v.publicFilter = &f
	return nil, nil
}

type tgFixture struct {
	*shFixture
	store *tgStore
	views *tgViews
}

func newTGFixture(t *testing.T) *tgFixture {
	t.Helper()
	f := &tgFixture{shFixture: &shFixture{}, store: newTGStore(), views: &tgViews{}}
	h := &Handler{Auth: shAuth{}, Accounts: shAccounts{}, Views: f.views, Client: shClient{}, Sites: shResolver{},
		URL: httpx.URLConfig{Scheme: "https"}, Tags: &tag.Service{Store: f.store}}
	f.app = fiber.New(fiber.Config{ErrorHandler: httpx.ErrorHandler})
	f.app.Use(func(c *fiber.Ctx) error {
		s, ok := shSites[c.Hostname()]
		if !ok {
			return shNotFound
		}
		httpx.SetSite(c, s)
		return c.Next()
	})
	h.Register(f.app)
	return f
}

func tgTag(t *testing.T, body string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return m
}

func TestIssue17FollowedTagsRoutes(t *testing.T) {
	f := newTGFixture(t)
	status, body := f.do(t, "POST", "a.example", "/api/v1/tags/Cats/follow", "alice", url.Values{})
	m := tgTag(t, body)
	if status != 200 || m["name"] != "cats" || m["following"] != true || m["featuring"] != false || m["id"] != "4" ||
		m["url"] != "https://a.example/tags/cats" {
		t.Fatalf("follow: %d %s", status, body)
	}
	if h, _ := m["history"].([]any); len(h) != 1 || h[0].(map[string]any)["uses"] != "3" {
		t.Errorf("history: %s", body)
	}
	f.do(t, "POST", "a.example", "/api/v1/tags/dogs/follow", "alice", url.Values{})
	f.do(t, "POST", "a.example", "/api/v1/tags/dogs/follow", "alice", url.Values{}) // idempotent
	req := httptest.NewRequest("GET", "https://a.example/api/v1/followed_tags?limit=1", nil)
	req.Header.Set("Authorization", "Bearer alice")
	res, err := f.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	var page []map[string]any
	_ = json.NewDecoder(res.Body).Decode(&page)
	res.Body.Close()
	if res.StatusCode != 200 || len(page) != 1 || page[0]["name"] != "dogs" ||
		!strings.Contains(res.Header.Get("Link"), "max_id=2") {
		t.Fatalf("followed_tags: %d %v Link %q", res.StatusCode, page, res.Header.Get("Link"))
	}
	if status, body := f.do(t, "POST", "a.example", "/api/v1/tags/cats/unfollow", "alice", url.Values{}); status != 200 ||
		tgTag(t, body)["following"] != false {
		t.Errorf("unfollow: %d %s", status, body)
	}
	// Anonymous: no viewer state; a name nobody used has id "".
	if status, body := f.do(t, "GET", "a.example", "/api/v1/tags/neverseen", "", nil); status != 200 ||
		strings.Contains(body, "following") || tgTag(t, body)["id"] != "" {
		t.Errorf("anonymous tag: %d %s", status, body)
	}
	f.check(t, []shCase{
		{"GET", "/api/v1/tags/not-a-tag", "", nil, http.StatusNotFound, "Record not found"},
		{"POST", "/api/v1/tags/not-a-tag/follow", "alice", url.Values{}, http.StatusNotFound, "Record not found"},
		{"POST", "/api/v1/tags/cats/follow", "", url.Values{}, http.StatusUnauthorized, "The access token is invalid"},
		{"POST", "/api/v1/tags/cats/follow", "app-only", url.Values{}, http.StatusUnprocessableEntity, "This method requires an authenticated user"},
		{"GET", "/api/v1/followed_tags", "alice-write", nil, http.StatusForbidden, "This action is outside the authorized scopes"},
	})
}

func TestIssue17FollowedTagsCrossTenant(t *testing.T) {
	f := newTGFixture(t)
	f.do(t, "POST", "a.example", "/api/v1/tags/cats/follow", "alice", url.Values{})
	// alice's token on tenant B is refused; bob sees only his own.
	if status, _ := f.do(t, "GET", "b.example", "/api/v1/followed_tags", "alice", nil); status != http.StatusUnauthorized {
		t.Errorf("alice's token on b.example: %d", status)
	}
	if status, body := f.do(t, "GET", "b.example", "/api/v1/followed_tags", "bob", nil); status != 200 || body != "[]" {
		t.Errorf("bob's followed tags: %d %s", status, body)
	}
	if status, body := f.do(t, "GET", "b.example", "/api/v1/tags/cats", "bob", nil); status != 200 || tgTag(t, body)["following"] != false {
		t.Errorf("bob sees alice's follow: %d %s", status, body)
	}
	if !slices.Equal(f.store.follows[10], []string{"cats"}) || len(f.store.follows[20]) != 0 {
		t.Errorf("follows: %v", f.store.follows)
	}
}

func TestIssue17FeaturedTagsRoutes(t *testing.T) {
	f := newTGFixture(t)
	status, body := f.do(t, "POST", "a.example", "/api/v1/featured_tags", "alice", url.Values{"name": {"#Knitting"}})
	m := tgTag(t, body)
	if status != 200 || m["id"] != "1" || m["name"] != "knitting" || m["statuses_count"] != float64(2) ||
		m["last_status_at"] != "2026-12-01" || m["url"] != "https://a.example/@alice/tagged/knitting" {
		t.Fatalf("feature: %d %s", status, body)
	}
	if status, body := f.do(t, "GET", "a.example", "/api/v1/featured_tags", "alice", nil); status != 200 || !strings.Contains(body, `"knitting"`) {
		t.Errorf("own featured tags: %d %s", status, body)
	}
	if status, body := f.do(t, "GET", "b.example", "/api/v1/accounts/10/featured_tags", "", nil); status != 200 || !strings.Contains(body, `"knitting"`) {
		t.Errorf("alice's featured tags seen from b.example: %d %s", status, body)
	}
	if status, body := f.do(t, "GET", "a.example", "/api/v1/accounts/30/featured_tags", "", nil); status != 200 || body != "[]" {
		t.Errorf("remote account's featured tags: %d %s", status, body)
	}
	if status, body := f.do(t, "GET", "a.example", "/api/v1/tags/knitting", "alice", nil); status != 200 || tgTag(t, body)["featuring"] != true {
		t.Errorf("featuring: %d %s", status, body)
	}
	// bob (tenant B) cannot remove alice's featured tag by its id.
	if status, _ := f.do(t, "DELETE", "b.example", "/api/v1/featured_tags/1", "bob", nil); status != http.StatusNotFound {
		t.Errorf("bob deletes alice's featured tag: %d", status)
	}
	if len(f.store.featured[10]) != 1 {
		t.Fatal("alice's featured tag is gone")
	}
	if status, body := f.do(t, "GET", "a.example", "/api/v1/featured_tags/suggestions", "alice", nil); status != 200 || !strings.Contains(body, `"knitting"`) {
		t.Errorf("suggestions: %d %s", status, body)
	}
	if status, body := f.do(t, "DELETE", "a.example", "/api/v1/featured_tags/1", "alice", nil); status != 200 || body != "{}" {
		t.Errorf("unfeature: %d %s", status, body)
	}
	f.do(t, "POST", "a.example", "/api/v1/tags/cats/feature", "alice", url.Values{})
	if status, body := f.do(t, "POST", "a.example", "/api/v1/tags/cats/unfeature", "alice", url.Values{}); status != 200 || tgTag(t, body)["featuring"] != false {
		t.Errorf("tags/:name/unfeature: %d %s", status, body)
	}
	f.check(t, []shCase{
		{"POST", "/api/v1/featured_tags", "alice", url.Values{"name": {"no tag!"}}, http.StatusUnprocessableEntity, "Validation failed: Tag is invalid"},
		{"POST", "/api/v1/featured_tags", "alice", url.Values{}, http.StatusUnprocessableEntity, "Validation failed: Tag is invalid"},
		{"GET", "/api/v1/accounts/99/featured_tags", "", nil, http.StatusNotFound, "Record not found"},
		{"GET", "/api/v1/featured_tags", "", nil, http.StatusUnauthorized, "The access token is invalid"},
	})
}

func TestIssue17TimelineFiltersReachTheQuery(t *testing.T) {
	f := newTGFixture(t)
	// Public only_media answered 422 before; now it is a filter.
	if status, body := f.do(t, "GET", "a.example", "/api/v1/timelines/public?only_media=true", "", nil); status != 200 ||
		f.views.publicFilter == nil || !f.views.publicFilter.OnlyMedia || !f.views.publicFilter.Local || !f.views.publicFilter.Remote {
		t.Fatalf("public only_media: %d %s %+v", status, body, f.views.publicFilter)
	}
	f.do(t, "GET", "a.example", "/api/v1/timelines/public?remote=true", "", nil)
	if pf := f.views.publicFilter; pf.Local || !pf.Remote || pf.OnlyMedia {
		t.Errorf("public remote: %+v", pf)
	}
	status, body := f.do(t, "GET", "a.example",
		"/api/v1/timelines/tag/Cats?any[]=Dogs&any[]=birds&all[]=pets&none[]=%23fish&only_media=1&local=true", "", nil)
	want := federation.TimelineFilter{Local: true, OnlyMedia: true, Any: []string{"dogs", "birds"}, All: []string{"pets"}, None: []string{"fish"}}
	if tf := f.views.tagFilter; status != 200 || tf == nil || f.views.tagName != "cats" || tf.Local != want.Local || tf.Remote ||
		tf.OnlyMedia != want.OnlyMedia || !slices.Equal(tf.Any, want.Any) || !slices.Equal(tf.All, want.All) || !slices.Equal(tf.None, want.None) {
		t.Fatalf("tag filters: %d %s %+v", status, body, f.views.tagFilter)
	}
	// No hashtag, or all[] naming no hashtag: nothing can match, the store
	// is not asked.
	f.views.tagFilter = nil
	if status, body := f.do(t, "GET", "a.example", "/api/v1/timelines/tag/no-tag", "", nil); status != 200 ||
		body != "[]" || f.views.tagFilter != nil {
		t.Errorf("timeline of a non-hashtag: %d %s", status, body)
	}
	f.views.tagFilter = nil
	if status, body := f.do(t, "GET", "a.example", "/api/v1/timelines/tag/cats?all[]=no%20tag", "", nil); status != 200 ||
		body != "[]" || f.views.tagFilter != nil {
		t.Errorf("impossible all[]: %d %s", status, body)
	}
}
