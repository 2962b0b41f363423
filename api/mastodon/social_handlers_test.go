package mastodon

// Handler tests of lists, filters, search, status actions, profiles and
// moves: authentication and scopes, another account's or tenant's records
// not found, validation as 422; built on in-file fakes (prefix sh).

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/outbox"
	"github.com/roost-social/roost/federation/social/filter"
	"github.com/roost-social/roost/federation/social/list"
	"github.com/roost-social/roost/federation/social/search"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/oauth"
)

// Two tenants: a.example (1) with alice (10) and carol (12, moved away),
// b.example (2) with bob (20). Tokens are named after what they hold.
var shSites = map[string]*tenant.Site{
	"a.example": {TenantID: 1, Domain: "a.example"},
	"b.example": {TenantID: 2, Domain: "b.example"},
}

var shTokens = map[string]*oauth.Token{
	"alice":       {TenantID: 1, AccountID: 10, Scopes: oauth.Scopes{"read", "write"}},
	"alice-write": {TenantID: 1, AccountID: 10, Scopes: oauth.Scopes{"write"}},
	"app-only":    {TenantID: 1, Scopes: oauth.Scopes{"read", "write"}},
	"carol":       {TenantID: 1, AccountID: 12, Scopes: oauth.Scopes{"read", "write"}},
	"bob":         {TenantID: 2, AccountID: 20, Scopes: oauth.Scopes{"read", "write"}},
}

var shNotFound = errs.E(errs.NotFound, "Record not found")

type shAuth struct{}

func (shAuth) Authenticate(_ context.Context, tenantID int64, bearer string) (*oauth.Token, error) {
	t, ok := shTokens[bearer]
	if !ok || t.TenantID != tenantID {
		return nil, errs.E(errs.Unauthorized, "The access token is invalid")
	}
	cp := *t
	return &cp, nil
}

type shAccounts struct{ Accounts }

func (shAccounts) AccountByID(_ context.Context, id int64) (*federation.Account, error) {
	tenants := map[int64]int64{10: 1, 12: 1, 20: 2}
	t, ok := tenants[id]
	if !ok {
		return nil, shNotFound
	}
	a := &federation.Account{ID: id, TenantID: t}
	if id == 12 {
		a.MovedTo = "https://elsewhere.example/users/carol"
	}
	return a, nil
}

// shViews: alice's public post 1 and bob's private post 3, both seen by
// alice only. The handlers under test fail before rendering a status.
type shViews struct{ federation.ViewStore }

var shPosts = map[int64]*federation.StatusView{
	1: {Status: &federation.Status{ID: 1, AccountID: 10, Visibility: federation.Public}},
	3: {Status: &federation.Status{ID: 3, AccountID: 20, Visibility: federation.Private}},
}

func (shViews) StatusViews(_ context.Context, viewer int64, ids []int64) ([]*federation.StatusView, error) {
	var out []*federation.StatusView
	for _, id := range ids {
		if v, ok := shPosts[id]; ok && viewer == 10 {
			out = append(out, v)
		}
	}
	return out, nil
}

func (shViews) AccountViews(context.Context, []int64) (map[int64]*federation.AccountView, error) {
	return map[int64]*federation.AccountView{}, nil
}

// shLists: alice's list 1, bob's list 2.
type shLists struct {
	federation.ListStore
	saved int
}

var shListRows = map[int64]federation.List{
	1: {ID: 1, AccountID: 10, Title: "friends", RepliesPolicy: federation.RepliesList},
	2: {ID: 2, AccountID: 20, Title: "bob's", RepliesPolicy: federation.RepliesList},
}

func (f *shLists) Lists(_ context.Context, owner int64) ([]federation.List, error) {
	var out []federation.List
	for _, id := range []int64{1, 2} {
		if shListRows[id].AccountID == owner {
			out = append(out, shListRows[id])
		}
	}
	return out, nil
}

func (f *shLists) List(_ context.Context, owner, id int64) (*federation.List, error) {
	l, ok := shListRows[id]
	if !ok || l.AccountID != owner {
		return nil, shNotFound
	}
	return &l, nil
}

func (f *shLists) SaveList(_ context.Context, owner int64, l federation.List) (*federation.List, error) {
	f.saved++
	if l.ID == 0 {
		l.ID = 3
	}
	l.AccountID = owner
	return &l, nil
}

func (f *shLists) ListMembers(context.Context, int64, int64, federation.Page) ([]int64, []int64, error) {
	return nil, nil, nil
}

func (f *shLists) AddListMembers(context.Context, int64, int64, []int64) error { return nil }

// shFilters: alice's filter 5 with keyword 51.
type shFilters struct {
	federation.FilterStore
	saved int
}

func (f *shFilters) Filter(_ context.Context, owner, id int64) (*federation.Filter, error) {
	if id != 5 || owner != 10 {
		return nil, shNotFound
	}
	return &federation.Filter{ID: 5, AccountID: 10, Title: "spoilers", Context: []string{"home"}, Action: "warn",
		Keywords: []federation.FilterKeyword{{ID: 51, FilterID: 5, Keyword: "finale", WholeWord: true}}}, nil
}

func (f *shFilters) FilterOfKeyword(ctx context.Context, owner, id int64) (*federation.Filter, error) {
	if id != 51 {
		return nil, shNotFound
	}
	return f.Filter(ctx, owner, 5)
}

func (f *shFilters) AddFilterStatus(context.Context, int64, int64, int64) (*federation.FilterStatus, error) {
	f.saved++
	return &federation.FilterStatus{}, nil
}

func (f *shFilters) SaveFilter(_ context.Context, _ int64, in *federation.Filter, _ []int64) (*federation.Filter, error) {
	f.saved++
	out := *in
	out.ID = 6
	for i := range out.Keywords {
		out.Keywords[i].ID = int64(60 + i)
	}
	return &out, nil
}

// shSearch finds no accounts, one hashtag, and counts lookups elsewhere.
type shSearch struct {
	search.Store
	network int
}

func (f *shSearch) SearchAccounts(context.Context, federation.AccountQuery) ([]int64, error) {
	return nil, nil
}

func (f *shSearch) SearchTags(context.Context, int64, string, int, int) ([]string, error) {
	return []string{"cats"}, nil
}

func (f *shSearch) AccountByUsername(context.Context, int64, string, string) (*federation.Account, error) {
	return nil, shNotFound
}

func (f *shSearch) RemoteActorByURI(context.Context, string) (*federation.Account, error) {
	return nil, shNotFound
}

func (f *shSearch) StatusByURI(context.Context, string) (*federation.Status, error) {
	return nil, shNotFound
}

func (f *shSearch) Known(context.Context, string) (*federation.Account, error) {
	return nil, shNotFound
}

func (f *shSearch) Resolve(context.Context, string) (*federation.Account, error) {
	f.network++
	return nil, shNotFound
}

func (f *shSearch) ResolveURL(context.Context, string) (*federation.Account, *federation.Status, error) {
	f.network++
	return nil, nil, shNotFound
}

// shClient: default settings, no earlier posts by key.
type shClient struct{ federation.ClientStore }

func (shClient) Preferences(context.Context, int64) (federation.Preferences, error) {
	return federation.Preferences{Privacy: federation.Public}, nil
}

func (shClient) IdempotentStatus(context.Context, int64, string) (int64, error) { return 0, nil }

type shResolver struct{}

func (shResolver) Resolve(_ context.Context, host string) (*tenant.Site, error) {
	if s, ok := shSites[host]; ok {
		return s, nil
	}
	return nil, shNotFound
}

type shFixture struct {
	app     *fiber.App
	lists   *shLists
	filters *shFilters
	search  *shSearch
}

func newSHFixture(t *testing.T) *shFixture {
	t.Helper()
	f := &shFixture{lists: &shLists{}, filters: &shFilters{}, search: &shSearch{}}
	h := &Handler{Auth: shAuth{}, Accounts: shAccounts{}, Views: shViews{}, Client: shClient{}, Sites: shResolver{}, URL: httpx.URLConfig{Scheme: "https"},
		Outbox: &outbox.Service{}, // migration's routes need one; the tests fail before it is called
		Lists:  &list.Service{Store: f.lists}, Filters: &filter.Service{Store: f.filters, Statuses: shViews{}},
		Search: &search.Service{Store: f.search, Network: f.search, Sites: shResolver{}}}
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

// do sends a request on host with token (none when ""); form, when not
// nil, is the urlencoded body.
func (f *shFixture) do(t *testing.T, method, host, path, token string, form url.Values) (int, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, "https://"+host+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := f.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func shErrorOf(body string) string {
	var e httpx.ErrorBody
	_ = json.Unmarshal([]byte(body), &e)
	return e.Error
}

// shCase is a request and the error it must get.
type shCase struct {
	method, path, token string
	form                url.Values
	status              int
	err                 string
}

func (f *shFixture) check(t *testing.T, cases []shCase) {
	t.Helper()
	for _, c := range cases {
		status, body := f.do(t, c.method, "a.example", c.path, c.token, c.form)
		if status != c.status || shErrorOf(body) != c.err {
			t.Errorf("%s %s as %q %v: %d %s", c.method, c.path, c.token, c.form, status, body)
		}
	}
}

func TestIssue15Finding9HandlerAuthAndScopes(t *testing.T) {
	f := newSHFixture(t)
	cases := []struct {
		name, host, token string
		status            int
		err               string
	}{
		{"no token", "a.example", "", http.StatusUnauthorized, "The access token is invalid"},
		{"unknown token", "a.example", "nope", http.StatusUnauthorized, "The access token is invalid"},
		{"another tenant's token", "b.example", "alice", http.StatusUnauthorized, "The access token is invalid"},
		{"scope missing", "a.example", "alice-write", http.StatusForbidden, "This action is outside the authorized scopes"},
		{"app-only token", "a.example", "app-only", http.StatusUnprocessableEntity, "This method requires an authenticated user"},
		{"ok", "a.example", "alice", http.StatusOK, ""},
	}
	for _, c := range cases {
		status, body := f.do(t, "GET", c.host, "/api/v1/lists", c.token, nil)
		if status != c.status || shErrorOf(body) != c.err {
			t.Errorf("%s: %d %s", c.name, status, body)
		}
	}
}

func TestIssue15Finding2ListsAreTheOwners(t *testing.T) {
	f := newSHFixture(t)
	status, body := f.do(t, "GET", "a.example", "/api/v1/lists", "alice", nil)
	if status != 200 || body != `[{"id":"1","title":"friends","replies_policy":"list","exclusive":false}]` {
		t.Errorf("alice's lists: %d %s", status, body)
	}
	// Bob's list, through alice's token or carol's on the same tenant, is
	// not found: as one that does not exist.
	for _, path := range []string{"/api/v1/lists/2", "/api/v1/lists/2/accounts", "/api/v1/timelines/list/2", "/api/v1/lists/99", "/api/v1/lists/x"} {
		for _, tok := range []string{"alice", "carol"} {
			if status, body := f.do(t, "GET", "a.example", path, tok, nil); status != 404 || shErrorOf(body) != "Record not found" {
				t.Errorf("%s as %s: %d %s", path, tok, status, body)
			}
		}
	}
	f.check(t, []shCase{
		{"PUT", "/api/v1/lists/2", "alice", url.Values{"title": {"mine"}}, 404, "Record not found"},
		{"POST", "/api/v1/lists/2/accounts", "alice", url.Values{"account_ids[]": {"12"}}, 404, "Record not found"},
	})
	if f.lists.saved != 0 {
		t.Errorf("bob's list was saved %d times", f.lists.saved)
	}
}

func TestIssue15Finding2ListValidationIs422(t *testing.T) {
	f := newSHFixture(t)
	const u = http.StatusUnprocessableEntity
	f.check(t, []shCase{
		{"POST", "/api/v1/lists", "alice", url.Values{}, u, "Validation failed: Title can't be blank"},
		{"POST", "/api/v1/lists", "alice", url.Values{"title": {strings.Repeat("x", 201)}}, u, "Validation failed: Title is too long (maximum is 200 characters)"},
		{"POST", "/api/v1/lists", "alice", url.Values{"title": {"x"}, "replies_policy": {"all"}}, u, "Validation failed: replies_policy must be followed, list or none"},
		{"POST", "/api/v1/lists", "alice", url.Values{"title": {"x"}, "exclusive": {"maybe"}}, u, "Validation failed: exclusive must be true or false"},
		{"PUT", "/api/v1/lists/1", "alice", url.Values{"title": {" "}}, u, "Validation failed: Title can't be blank"},
		{"POST", "/api/v1/lists/1/accounts", "alice", url.Values{}, u, "account_ids is required"},
	})
	if f.lists.saved != 0 {
		t.Errorf("invalid requests saved %d lists", f.lists.saved)
	}
	status, body := f.do(t, "POST", "a.example", "/api/v1/lists", "alice", url.Values{"title": {" Work "}, "exclusive": {"1"}})
	if status != 200 || body != `{"id":"3","title":"Work","replies_policy":"list","exclusive":true}` {
		t.Errorf("create: %d %s", status, body)
	}
}

func TestIssue15Finding2Filters(t *testing.T) {
	f := newSHFixture(t)
	for _, path := range []string{"/api/v2/filters/5", "/api/v2/filters/keywords/51", "/api/v1/filters/51"} {
		if status, body := f.do(t, "GET", "a.example", path, "carol", nil); status != 404 || shErrorOf(body) != "Record not found" {
			t.Errorf("%s as carol: %d %s", path, status, body)
		}
		if status, _ := f.do(t, "GET", "a.example", path, "alice", nil); status != 200 {
			t.Errorf("%s as alice: %d", path, status)
		}
	}
	const u = http.StatusUnprocessableEntity
	f.check(t, []shCase{
		{"POST", "/api/v2/filters", "alice", url.Values{"title": {"t"}}, u, "Validation failed: Context can't be blank"},
		{"POST", "/api/v2/filters", "alice", url.Values{"title": {"t"}, "context[]": {"everywhere"}}, u,
			`Validation failed: context "everywhere" is not one of home, notifications, public, thread, account`},
		{"POST", "/api/v2/filters", "alice", url.Values{"title": {"t"}, "context[]": {"home"}, "filter_action": {"delete"}}, u,
			"Validation failed: filter_action must be warn or hide"},
		{"POST", "/api/v2/filters", "alice", url.Values{"title": {"t"}, "context[]": {"home"}, "expires_in": {"-1"}}, u,
			"Validation failed: expires_in must be a number of seconds"},
		{"POST", "/api/v2/filters/5/keywords", "alice", url.Values{"keyword": {" "}}, u, "Validation failed: Keyword can't be blank"},
		{"POST", "/api/v1/filters", "alice", url.Values{"phrase": {"x"}}, u, "Validation failed: Context can't be blank"},
		{"POST", "/api/v2/filters/5/statuses", "alice", url.Values{"status_id": {"9"}}, 404, "Record not found"}, // unseen
		{"POST", "/api/v2/filters/5/statuses", "carol", url.Values{"status_id": {"1"}}, 404, "Record not found"}, // not hers
	})
	if f.filters.saved != 0 {
		t.Errorf("invalid requests saved %d filters", f.filters.saved)
	}
	status, body := f.do(t, "POST", "a.example", "/api/v1/filters", "alice", url.Values{"phrase": {"plot"}, "context[]": {"home"}, "irreversible": {"true"}})
	if status != 200 || body != `{"id":"60","phrase":"plot","context":["home"],"whole_word":true,"expires_at":null,"irreversible":true}` {
		t.Errorf("v1 create: %d %s", status, body)
	}
}

func TestIssue15Finding2SearchResolvesOnlyForSignedIn(t *testing.T) {
	f := newSHFixture(t)
	for _, q := range []string{"", "?q=x" + strings.Repeat("x", 501)} { // an unknown type: TestIssue17SearchUnknownTypeFindsNothing
		if status, _ := f.do(t, "GET", "a.example", "/api/v2/search"+q, "", nil); status != http.StatusUnprocessableEntity {
			t.Errorf("search %q: %d", q, status)
		}
	}
	remote := "/api/v2/search?resolve=true&q=" + url.QueryEscape("https://c.example/notes/1")
	status, body := f.do(t, "GET", "a.example", remote, "", nil)
	if status != 200 || body != `{"accounts":[],"statuses":[],"hashtags":[]}` || f.search.network != 0 {
		t.Errorf("anonymous resolve: %d %s, network %d", status, body, f.search.network)
	}
	if status, _ = f.do(t, "GET", "a.example", remote, "alice", nil); status != 200 || f.search.network != 1 {
		t.Errorf("signed-in resolve: %d, network %d", status, f.search.network)
	}
	status, body = f.do(t, "GET", "a.example", "/api/v2/search?type=hashtags&q=%23Dogs", "", nil)
	if status != 200 || body != `{"accounts":[],"statuses":[],"hashtags":[{"id":"","name":"dogs","url":"https://a.example/tags/dogs","history":[]},{"id":"","name":"cats","url":"https://a.example/tags/cats","history":[]}]}` {
		t.Errorf("hashtags: %d %s", status, body)
	}
}

func TestIssue15Finding2StatusActionRules(t *testing.T) {
	f := newSHFixture(t)
	f.check(t, []shCase{
		{"POST", "/api/v1/statuses/3/pin", "alice", url.Values{}, http.StatusUnprocessableEntity, "Validation failed: only your own posts can be pinned"},
		{"POST", "/api/v1/statuses/3/reblog", "alice", url.Values{}, http.StatusForbidden, "This action is not allowed"},
		{"POST", "/api/v1/statuses/1/favourite", "carol", url.Values{}, http.StatusNotFound, "Record not found"}, // carol cannot see it
		{"POST", "/api/v1/statuses/x/bookmark", "alice", url.Values{}, http.StatusNotFound, "Record not found"},
		{"POST", "/api/v1/statuses/1/pin", "bob", url.Values{}, http.StatusUnauthorized, "The access token is invalid"}, // bob's token here
		{"PUT", "/api/v1/statuses/3", "alice", url.Values{}, http.StatusNotFound, "Record not found"},
		{"DELETE", "/api/v1/statuses/3", "alice", url.Values{}, http.StatusNotFound, "Record not found"},
	})
}

func TestIssue15Finding2ProfileAndMigrationValidation(t *testing.T) {
	f := newSHFixture(t)
	const u = http.StatusUnprocessableEntity
	f.check(t, []shCase{
		{"PATCH", "/api/v1/accounts/update_credentials", "alice", url.Values{"display_name": {strings.Repeat("n", 31)}}, u,
			"Validation failed: Display name is too long (maximum is 30 characters)"},
		{"PATCH", "/api/v1/accounts/update_credentials", "alice", url.Values{"source[privacy]": {"friends"}}, u,
			"Validation failed: privacy must be public, unlisted, private or direct"},
		{"PATCH", "/api/v1/accounts/update_credentials", "alice", url.Values{"locked": {"perhaps"}}, u,
			"Validation failed: locked must be true or false"},
		{"POST", "/api/v1/roost/migration", "carol", url.Values{"acct": {"carol@new.example"}}, u,
			"this account has already moved to https://elsewhere.example/users/carol"},
		{"POST", "/api/v1/roost/aliases", "alice", url.Values{"acct": {" "}}, u, "acct is required (user@domain or an actor URI)"},
	})
}

func TestIssue15Finding2ComposeRules(t *testing.T) {
	f := newSHFixture(t)
	const u = http.StatusUnprocessableEntity
	f.check(t, []shCase{
		{"POST", "/api/v1/statuses", "alice", url.Values{"status": {"hi"}, "scheduled_at": {"2030-01-01T00:00:00Z"}}, u,
			"scheduled posts are not supported on this server"},
		{"POST", "/api/v1/statuses", "alice", url.Values{"status": {"hi"}, "poll[options][]": {"a", "b"}, "poll[expires_in]": {"soon"}}, u,
			"poll[expires_in] must be a number of seconds"},
		{"POST", "/api/v1/statuses", "alice", url.Values{"status": {"hi"}, "in_reply_to_id": {"9"}}, http.StatusNotFound, "Record not found"},
		{"POST", "/api/v1/statuses", "carol", url.Values{"status": {"hi"}, "in_reply_to_id": {"1"}}, http.StatusNotFound, "Record not found"},
	})
	req := httptest.NewRequest("POST", "https://a.example/api/v1/statuses", strings.NewReader("status=hi"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer alice")
	req.Header.Set("Idempotency-Key", strings.Repeat("k", 201))
	res, err := f.app.Test(req, -1)
	if err != nil || res.StatusCode != u {
		t.Errorf("long Idempotency-Key: %v %v", res.StatusCode, err)
	}
}
