package mastodon

// Handler tests of accountroutes.go (issue 17): blocks and mutes paged by
// their rows, notes, remove_from_followers (Reject sent through the real
// outbox), endorsements, suggestions, removing profile images (Update
// sent), accounts by id, the directory; and another tenant's token naming
// tenant A's accounts and rows changes and shows nothing of A's. Built on
// in-file fakes (prefix ar).

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api/httpx"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/outbox"
	"github.com/roost-social/roost/federation/social/account"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
	"github.com/roost-social/roost/tenant/oauth"
)

// The world: a.example (tenant 1) with alice (10) and ann (11); b.example
// (tenant 2) with bob (20); remote r (30), rq (31), x (32) on r.example.
// r and ann follow alice; rq asked to; alice follows r.
var arAccounts = map[int64]*federation.Account{
	10: {ID: 10, TenantID: 1, Domain: "a.example", Username: "alice"},
	11: {ID: 11, TenantID: 1, Domain: "a.example", Username: "ann"},
	20: {ID: 20, TenantID: 2, Domain: "b.example", Username: "bob"},
	30: {ID: 30, Domain: "r.example", Username: "r", Remote: &federation.RemoteInfo{URI: "https://r.example/users/r", Inbox: "https://r.example/users/r/inbox"}},
	31: {ID: 31, Domain: "r.example", Username: "rq", Remote: &federation.RemoteInfo{URI: "https://r.example/users/rq", Inbox: "https://r.example/users/rq/inbox"}},
	32: {ID: 32, Domain: "r.example", Username: "x", Remote: &federation.RemoteInfo{URI: "https://r.example/users/x", Inbox: "https://r.example/users/x/inbox"}},
}

var arTokens = map[string]*oauth.Token{
	"alice": {TenantID: 1, AccountID: 10, Scopes: oauth.Scopes{"read", "write", "follow"}},
	"bob":   {TenantID: 2, AccountID: 20, Scopes: oauth.Scopes{"read", "write", "follow"}},
	"read":  {TenantID: 1, AccountID: 10, Scopes: oauth.Scopes{"read"}},
}

// arRow is one owned row: a block, mute, endorsement, note or dismissal.
type arRow struct {
	id, owner, target int64
	text              string
	until             *time.Time
}

// arStore is every port the routes reach, in memory. writes records the
// owner of every write.
type arStore struct {
	federation.ViewStore
	federation.ClientStore
	federation.RelationStore
	federation.DomainBlockStore
	federation.ReportStore
	rows     map[string][]arRow // kind → rows
	follows  map[[2]int64]string
	writes   []string
	sent     []map[string]any
	profile  []federation.ProfileUpdate
	settings map[int64]federation.AccountSettings
	sugQ     [2]int64 // viewer, tenant of the last suggestions asked
	dirQ     federation.DirectoryQuery
}

func newARStore() *arStore {
	in := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	return &arStore{
		rows: map[string][]arRow{
			"block":   {{101, 10, 30, "", nil}, {102, 10, 31, "", nil}, {103, 10, 32, "", nil}},
			"mute":    {{201, 10, 31, "", &in}, {202, 10, 32, "", nil}},
			"endorse": {{301, 10, 30, "", nil}},
			"note":    {{401, 10, 30, "alice's note on r", nil}},
			"domain":  {{501, 10, 0, "one.example", nil}, {502, 10, 0, "two.example", nil}, {503, 10, 0, "three.example", nil}},
		},
		follows: map[[2]int64]string{{30, 10}: "accepted", {11, 10}: "accepted", {31, 10}: "pending", {10, 30}: "accepted"},
	}
}

func (s *arStore) write(op string, owner, target int64) {
	s.writes = append(s.writes, fmt.Sprintf("%s %d→%d", op, owner, target))
}

// page applies Mastodon's paging to one owner's rows of a kind.
func (s *arStore) page(kind string, owner int64, p federation.Page) []arRow {
	var out []arRow
	for _, r := range s.rows[kind] {
		if r.owner == owner && (p.MaxID == 0 || r.id < p.MaxID) && (p.SinceID == 0 || r.id > p.SinceID) && (p.MinID == 0 || r.id > p.MinID) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id > out[j].id })
	if p.MinID > 0 && len(out) > p.Limit {
		return out[len(out)-p.Limit:]
	}
	return out[:min(len(out), p.Limit)]
}

func (s *arStore) pairs(kind string, owner int64, p federation.Page) ([]int64, []int64, error) {
	var ids, cursors []int64
	for _, r := range s.page(kind, owner, p) {
		ids, cursors = append(ids, r.target), append(cursors, r.id)
	}
	return ids, cursors, nil
}

func (s *arStore) find(kind string, owner, target int64) int {
	return slices.IndexFunc(s.rows[kind], func(r arRow) bool { return r.owner == owner && r.target == target })
}

func (s *arStore) BlockedAccounts(_ context.Context, owner int64, p federation.Page) ([]int64, []int64, error) {
	return s.pairs("block", owner, p)
}

func (s *arStore) MutedAccounts(_ context.Context, owner int64, p federation.Page) ([]federation.MutedAccount, error) {
	var out []federation.MutedAccount
	for _, r := range s.page("mute", owner, p) {
		out = append(out, federation.MutedAccount{AccountID: r.target, Cursor: r.id, ExpiresAt: r.until})
	}
	return out, nil
}

func (s *arStore) DomainBlocks(_ context.Context, owner int64, p federation.Page) ([]string, []int64, error) {
	var ds []string
	var cursors []int64
	for _, r := range s.page("domain", owner, p) {
		ds, cursors = append(ds, r.text), append(cursors, r.id)
	}
	return ds, cursors, nil
}

func (s *arStore) Endorsements(_ context.Context, owner int64, p federation.Page) ([]int64, []int64, error) {
	return s.pairs("endorse", owner, p)
}

func (s *arStore) SetAccountNote(_ context.Context, owner, target int64, comment string) error {
	s.write("note", owner, target)
	if i := s.find("note", owner, target); i >= 0 {
		s.rows["note"] = slices.Delete(s.rows["note"], i, i+1)
	}
	if comment != "" {
		s.rows["note"] = append(s.rows["note"], arRow{id: 499, owner: owner, target: target, text: comment})
	}
	return nil
}

func (s *arStore) Endorse(_ context.Context, owner, target int64) error {
	if s.follows[[2]int64{owner, target}] != "accepted" {
		return errs.E(errs.Invalid, "Validation failed: You must be already following the person you want to endorse")
	}
	s.write("endorse", owner, target)
	if s.find("endorse", owner, target) < 0 {
		s.rows["endorse"] = append(s.rows["endorse"], arRow{id: 399, owner: owner, target: target})
	}
	return nil
}

func (s *arStore) Unendorse(_ context.Context, owner, target int64) error {
	s.write("unendorse", owner, target)
	if i := s.find("endorse", owner, target); i >= 0 {
		s.rows["endorse"] = slices.Delete(s.rows["endorse"], i, i+1)
	}
	return nil
}

func (s *arStore) Suggestions(_ context.Context, viewer, tenantID int64, limit int) ([]federation.Suggestion, error) {
	s.sugQ = [2]int64{viewer, tenantID}
	out := []federation.Suggestion{{AccountID: 32, Sources: []string{federation.SuggestFriendsOfFriends}},
		{AccountID: 11, Sources: []string{federation.SuggestFeatured}}}
	return out[:min(limit, 2)], nil
}

func (s *arStore) DismissSuggestion(_ context.Context, viewer, target int64) error {
	s.write("dismiss", viewer, target)
	return nil
}

func (s *arStore) Directory(_ context.Context, q federation.DirectoryQuery) ([]int64, error) {
	s.dirQ = q
	return []int64{11, 10}, nil
}

func (s *arStore) ListedAccounts(_ context.Context, _ int64, ids []int64) ([]int64, error) {
	var out []int64
	for _, id := range ids {
		if _, ok := arAccounts[id]; ok {
			out = append(out, id)
		}
	}
	return out, nil
}

func (s *arStore) AccountSettings(_ context.Context, id int64) (federation.AccountSettings, error) {
	if st, ok := s.settings[id]; ok {
		return st, nil
	}
	return federation.AccountSettings{QuotePolicy: "public"}, nil
}

func (s *arStore) SetAccountSettings(_ context.Context, id int64, domains *[]string, policy *string) error {
	s.write("settings", id, id)
	st, _ := s.AccountSettings(context.Background(), id)
	if domains != nil {
		st.AttributionDomains = *domains
	}
	if policy != nil {
		st.QuotePolicy = *policy
	}
	if s.settings == nil {
		s.settings = map[int64]federation.AccountSettings{}
	}
	s.settings[id] = st
	return nil
}

// Views, accounts, relationships.

func (s *arStore) AccountViews(_ context.Context, ids []int64) (map[int64]*federation.AccountView, error) {
	out := map[int64]*federation.AccountView{}
	for _, id := range ids {
		if a, ok := arAccounts[id]; ok {
			out[id] = &federation.AccountView{Account: a}
		}
	}
	return out, nil
}

func (s *arStore) Relationships(_ context.Context, viewer int64, ids []int64) ([]federation.Relationship, error) {
	var out []federation.Relationship
	for _, id := range ids {
		r := federation.Relationship{ID: id, Following: s.follows[[2]int64{viewer, id}] == "accepted",
			FollowedBy: s.follows[[2]int64{id, viewer}] == "accepted", Endorsed: s.find("endorse", viewer, id) >= 0}
		if i := s.find("note", viewer, id); i >= 0 {
			r.Note = s.rows["note"][i].text
		}
		out = append(out, r)
	}
	return out, nil
}

func (s *arStore) AccountByID(_ context.Context, id int64) (*federation.Account, error) {
	if a, ok := arAccounts[id]; ok {
		cp := *a
		return &cp, nil
	}
	return nil, errs.E(errs.NotFound, "no account")
}

func (s *arStore) AccountByUsername(context.Context, int64, string, string) (*federation.Account, error) {
	return nil, errs.E(errs.NotFound, "no account")
}

func (s *arStore) Usage(context.Context, int64) (federation.Usage, error) {
	return federation.Usage{}, nil
}

// Client store: what the credential account reads, and profile edits.

func (s *arStore) Preferences(context.Context, int64) (federation.Preferences, error) {
	return federation.Preferences{Privacy: federation.Public}, nil
}

func (s *arStore) FollowRequests(context.Context, int64, federation.Page) ([]int64, []int64, error) {
	return nil, nil, nil
}

func (s *arStore) UpdateProfile(_ context.Context, id int64, u federation.ProfileUpdate) error {
	s.write("profile", id, id)
	s.profile = append(s.profile, u)
	return nil
}

// The outbox's ports: follows, locals, followers' inboxes, the sender.

func (s *arStore) FollowBetween(_ context.Context, follower, followee int64) (*federation.Follow, error) {
	st, ok := s.follows[[2]int64{follower, followee}]
	if !ok {
		return nil, errs.E(errs.NotFound, "no follow")
	}
	return &federation.Follow{ID: 7, FollowerID: follower, FolloweeID: followee, State: st,
		URI: fmt.Sprintf("https://x.example/follows/%d-%d", follower, followee)}, nil
}

func (s *arStore) DeleteFollow(_ context.Context, follower, followee int64) (bool, error) {
	s.write("unfollow", followee, follower)
	delete(s.follows, [2]int64{follower, followee})
	return true, nil
}

func (s *arStore) CreateFollow(context.Context, int64, int64, string, string) (*federation.Follow, bool, error) {
	panic("not used")
}

func (s *arStore) AcceptFollow(context.Context, string, int64) (bool, error) { panic("not used") }

func (s *arStore) ByURI(context.Context, int64, string) (*federation.Account, error) {
	return nil, errs.E(errs.NotFound, "no")
}

func (s *arStore) ByHandle(context.Context, string, string) (*federation.Account, error) {
	return nil, errs.E(errs.NotFound, "no")
}

func (s *arStore) Links(_ context.Context, a *federation.Account) (federation.Links, error) {
	return federation.NewLinks("https", a.Domain, 0), nil
}

func (s *arStore) SetMovedTo(context.Context, int64, string) error   { panic("not used") }
func (s *arStore) SetAliases(context.Context, int64, []string) error { panic("not used") }
func (s *arStore) AllLocalFollowers(context.Context, int64) ([]*federation.Account, error) {
	panic("not used")
}

func (s *arStore) FollowerInboxes(context.Context, int64) ([]string, error) {
	return []string{"https://r.example/inbox"}, nil
}

func (s *arStore) Send(_ context.Context, sender int64, _ string, body []byte, inboxes []string, _ bool) error {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return err
	}
	m["_sender"], m["_inboxes"] = sender, inboxes
	s.sent = append(s.sent, m)
	return nil
}

type arAuth struct{}

func (arAuth) Authenticate(_ context.Context, tenantID int64, bearer string) (*oauth.Token, error) {
	t, ok := arTokens[bearer]
	if !ok || t.TenantID != tenantID {
		return nil, errs.E(errs.Unauthorized, "The access token is invalid")
	}
	cp := *t
	return &cp, nil
}

var arSites = map[string]*tenant.Site{
	"a.example": {TenantID: 1, Domain: "a.example"},
	"b.example": {TenantID: 2, Domain: "b.example"},
}

type arResolver struct{}

func (arResolver) Resolve(_ context.Context, host string) (*tenant.Site, error) {
	if s, ok := arSites[host]; ok {
		return s, nil
	}
	return nil, errs.E(errs.NotFound, "no site")
}

type arFixture struct {
	app   *fiber.App
	store *arStore
}

func newARFixture(t *testing.T) *arFixture {
	t.Helper()
	s := newARStore()
	ob := &outbox.Service{Follows: s, Locals: s, Send: s, Mover: s}
	h := &Handler{Auth: arAuth{}, Accounts: s, Views: s, Client: s, Sites: arResolver{}, Outbox: ob,
		URL: httpx.URLConfig{Scheme: "https"}}
	h.Relations = &account.Relations{Store: s, Accounts: s, Follows: s, Answer: ob}
	h.DomainBlocks, h.Reports = s, s
	app := fiber.New(fiber.Config{ErrorHandler: httpx.ErrorHandler})
	app.Use(func(c *fiber.Ctx) error {
		site, ok := arSites[c.Hostname()]
		if !ok {
			return errs.E(errs.NotFound, "no site")
		}
		httpx.SetSite(c, site)
		return c.Next()
	})
	h.Register(app)
	return &arFixture{app: app, store: s}
}

// do sends a request and returns its status, body and Link header.
func (f *arFixture) do(t *testing.T, method, host, path, token string, form url.Values) (int, string, string) {
	t.Helper()
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req, _ := http.NewRequest(method, "https://"+host+path, body)
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
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b), res.Header.Get("Link")
}

// arIDs lists the "id" of each object in a JSON array (or of each
// suggestion's account).
func arIDs(t *testing.T, body string) []string {
	t.Helper()
	var items []struct {
		ID      string `json:"id"`
		Account *struct {
			ID string `json:"id"`
		} `json:"account"`
	}
	if err := json.Unmarshal([]byte(body), &items); err != nil {
		t.Fatalf("not an array: %s", body)
	}
	out := []string{}
	for _, it := range items {
		if it.Account != nil {
			out = append(out, it.Account.ID)
		} else {
			out = append(out, it.ID)
		}
	}
	return out
}

func TestIssue17BlocksAndMutesListsPaged(t *testing.T) {
	f := newARFixture(t)
	status, body, link := f.do(t, "GET", "a.example", "/api/v1/blocks?limit=2", "alice", nil)
	if status != 200 || strings.Join(arIDs(t, body), ",") != "32,31" {
		t.Fatalf("blocks page 1: %d %s", status, body)
	}
	if !strings.Contains(link, "max_id=102") || !strings.Contains(link, "min_id=103") || !strings.Contains(link, "limit=2") {
		t.Errorf("Link = %s", link)
	}
	if _, body, _ = f.do(t, "GET", "a.example", "/api/v1/blocks?limit=2&max_id=102", "alice", nil); strings.Join(arIDs(t, body), ",") != "30" {
		t.Errorf("blocks page 2: %s", body)
	}
	if _, body, _ = f.do(t, "GET", "a.example", "/api/v1/blocks?limit=1&min_id=101", "alice", nil); strings.Join(arIDs(t, body), ",") != "31" {
		t.Errorf("blocks above 101: %s", body)
	}
	status, body, link = f.do(t, "GET", "a.example", "/api/v1/mutes", "alice", nil)
	var mutes []map[string]any
	if err := json.Unmarshal([]byte(body), &mutes); err != nil || status != 200 || len(mutes) != 2 {
		t.Fatalf("mutes: %d %s", status, body)
	}
	if mutes[0]["id"] != "32" || mutes[0]["mute_expires_at"] != nil || mutes[1]["mute_expires_at"] != "2030-01-01T00:00:00.000Z" {
		t.Errorf("mutes = %s", body)
	}
	if !strings.Contains(link, "max_id=201") {
		t.Errorf("mutes Link = %s", link)
	}
	status, body, link = f.do(t, "GET", "a.example", "/api/v1/domain_blocks?limit=2", "alice", nil)
	if status != 200 || body != `["three.example","two.example"]` || !strings.Contains(link, "max_id=502") || !strings.Contains(link, "min_id=503") {
		t.Errorf("domain_blocks: %d %s %s", status, body, link)
	}
	if _, body, _ = f.do(t, "GET", "a.example", "/api/v1/domain_blocks?max_id=502", "alice", nil); body != `["one.example"]` {
		t.Errorf("domain_blocks page 2: %s", body)
	}
	if status, _, _ := f.do(t, "GET", "a.example", "/api/v1/blocks", "", nil); status != 401 {
		t.Errorf("anonymous blocks: %d", status)
	}
}

func TestIssue17NoteEndorseAndRemoveFromFollowers(t *testing.T) {
	f := newARFixture(t)
	status, body, _ := f.do(t, "POST", "a.example", "/api/v1/accounts/30/note", "alice", url.Values{"comment": {"new note"}})
	if status != 200 || !strings.Contains(body, `"note":"new note"`) || !strings.Contains(body, `"endorsed":true`) {
		t.Fatalf("note: %d %s", status, body)
	}
	if status, body, _ = f.do(t, "POST", "a.example", "/api/v1/accounts/30/note", "alice", url.Values{"comment": {strings.Repeat("n", 2001)}}); status != 422 {
		t.Errorf("long note: %d %s", status, body)
	}
	if status, _, _ = f.do(t, "POST", "a.example", "/api/v1/accounts/99/note", "alice", url.Values{"comment": {"x"}}); status != 404 {
		t.Errorf("note on nobody: %d", status)
	}

	// Endorsements: the 4.4 names and the older ones.
	if status, body, _ = f.do(t, "POST", "a.example", "/api/v1/accounts/32/pin", "alice", url.Values{}); status != 422 {
		t.Errorf("endorsing someone not followed: %d %s", status, body)
	}
	if status, body, _ = f.do(t, "POST", "a.example", "/api/v1/accounts/30/unendorse", "alice", url.Values{}); status != 200 || !strings.Contains(body, `"endorsed":false`) {
		t.Errorf("unendorse: %d %s", status, body)
	}
	if status, body, _ = f.do(t, "POST", "a.example", "/api/v1/accounts/30/endorse", "alice", url.Values{}); status != 200 || !strings.Contains(body, `"endorsed":true`) {
		t.Errorf("endorse: %d %s", status, body)
	}
	if _, body, _ = f.do(t, "GET", "a.example", "/api/v1/endorsements", "alice", nil); strings.Join(arIDs(t, body), ",") != "30" {
		t.Errorf("endorsements: %s", body)
	}
	if _, body, _ = f.do(t, "GET", "b.example", "/api/v1/accounts/10/endorsements", "", nil); strings.Join(arIDs(t, body), ",") != "30" {
		t.Errorf("alice's featured accounts, public: %s", body)
	}

	// A remote follower is removed and its server gets Reject{Follow}; a
	// pending request is left alone.
	status, body, _ = f.do(t, "POST", "a.example", "/api/v1/accounts/30/remove_from_followers", "alice", url.Values{})
	if status != 200 || !strings.Contains(body, `"followed_by":false`) {
		t.Fatalf("remove_from_followers: %d %s", status, body)
	}
	if _, ok := f.store.follows[[2]int64{30, 10}]; ok || len(f.store.sent) != 1 {
		t.Fatalf("follow left or not one activity sent: %v", f.store.sent)
	}
	rej := f.store.sent[0]
	obj, _ := rej["object"].(map[string]any)
	if rej["type"] != "Reject" || obj["type"] != "Follow" || obj["actor"] != "https://r.example/users/r" ||
		fmt.Sprint(rej["_inboxes"]) != "[https://r.example/users/r/inbox]" {
		t.Errorf("Reject = %v", rej)
	}
	if status, _, _ = f.do(t, "POST", "a.example", "/api/v1/accounts/31/remove_from_followers", "alice", url.Values{}); status != 200 ||
		f.store.follows[[2]int64{31, 10}] != "pending" || len(f.store.sent) != 1 {
		t.Errorf("a pending request was touched: %d %v", status, f.store.follows)
	}
	if status, _, _ = f.do(t, "POST", "a.example", "/api/v1/accounts/30/note", "read", url.Values{"comment": {"x"}}); status != 403 {
		t.Errorf("read-only token writing a note: %d", status)
	}
}

func TestIssue17SuggestionsProfileImagesAccountsDirectory(t *testing.T) {
	f := newARFixture(t)
	status, body, _ := f.do(t, "GET", "a.example", "/api/v2/suggestions?limit=5", "alice", nil)
	if status != 200 || body != `[{"source":"global","sources":["friends_of_friends"],"account":`+arAccountJSON(t, f, 32)+`},`+
		`{"source":"staff","sources":["featured"],"account":`+arAccountJSON(t, f, 11)+`}]` {
		t.Fatalf("v2 suggestions: %d %s", status, body)
	}
	if f.store.sugQ != [2]int64{10, 1} {
		t.Errorf("suggestions asked for %v", f.store.sugQ)
	}
	if _, body, _ = f.do(t, "GET", "a.example", "/api/v1/suggestions", "alice", nil); strings.Join(arIDs(t, body), ",") != "32,11" {
		t.Errorf("v1 suggestions: %s", body)
	}
	if status, body, _ = f.do(t, "DELETE", "a.example", "/api/v1/suggestions/32", "alice", nil); status != 200 || body != "{}" {
		t.Errorf("dismiss: %d %s", status, body)
	}
	if status, _, _ = f.do(t, "DELETE", "a.example", "/api/v1/suggestions/99", "alice", nil); status != 404 {
		t.Errorf("dismiss nobody: %d", status)
	}

	status, body, _ = f.do(t, "DELETE", "a.example", "/api/v1/profile/avatar", "alice", nil)
	if status != 200 || !strings.Contains(body, `"avatar":"https://a.example/avatars/original/missing.png"`) || !strings.Contains(body, `"source":{`) {
		t.Fatalf("delete avatar: %d %s", status, body)
	}
	if len(f.store.profile) != 1 || f.store.profile[0].AvatarURL == nil || *f.store.profile[0].AvatarURL != "" || f.store.profile[0].HeaderURL != nil {
		t.Errorf("profile update = %+v", f.store.profile)
	}
	if len(f.store.sent) != 1 || f.store.sent[0]["type"] != "Update" {
		t.Errorf("no Update sent: %v", f.store.sent)
	}
	if status, _, _ = f.do(t, "DELETE", "a.example", "/api/v1/profile/header", "alice", nil); status != 200 || f.store.profile[1].HeaderURL == nil {
		t.Errorf("delete header: %d %+v", status, f.store.profile)
	}

	if _, body, _ = f.do(t, "GET", "a.example", "/api/v1/accounts?id[]=30&id[]=99&id[]=10&id[]=30", "", nil); strings.Join(arIDs(t, body), ",") != "30,10" {
		t.Errorf("accounts by id: %s", body)
	}
	many := url.Values{}
	for i := 1; i <= 41; i++ {
		many.Add("id[]", fmt.Sprint(i))
	}
	if status, _, _ = f.do(t, "GET", "a.example", "/api/v1/accounts?"+many.Encode(), "", nil); status != 422 {
		t.Errorf("41 accounts: %d", status)
	}
	if _, body, _ = f.do(t, "GET", "a.example", "/api/v1/directory?local=true&order=new&offset=5&limit=2", "", nil); strings.Join(arIDs(t, body), ",") != "11,10" {
		t.Errorf("directory: %s", body)
	}
	if q := f.store.dirQ; q != (federation.DirectoryQuery{TenantID: 1, Local: true, Order: "new", Offset: 5, Limit: 2}) {
		t.Errorf("directory query = %+v", q)
	}
}

// arAccountJSON renders an account as the routes do.
func arAccountJSON(t *testing.T, f *arFixture, id int64) string {
	t.Helper()
	_, body, _ := f.do(t, "GET", "a.example", fmt.Sprintf("/api/v1/accounts?id[]=%d", id), "", nil)
	return strings.TrimSuffix(strings.TrimPrefix(body, "["), "]")
}

// TestIssue17CrossTenantAccountRoutes: bob, on tenant B, names tenant A's
// accounts and rows on every route: nothing of A's changes (every write is
// bob's own), nothing of A's is shown; alice's token on B's domain is
// refused everywhere.
func TestIssue17CrossTenantAccountRoutes(t *testing.T) {
	cases := []struct {
		method, path string
		form         url.Values
		status       int
		// shows, when set, must be the ids listed (A's rows never among them).
		shows *string
	}{
		{"GET", "/api/v1/blocks", nil, 200, arPtr("")},
		{"GET", "/api/v1/mutes", nil, 200, arPtr("")},
		{"GET", "/api/v1/endorsements", nil, 200, arPtr("")},
		{"GET", "/api/v1/blocks?max_id=104", nil, 200, arPtr("")},
		{"GET", "/api/v1/domain_blocks", nil, 200, nil},
		{"POST", "/api/v1/accounts/30/note", url.Values{"comment": {"bob's"}}, 200, nil},
		{"POST", "/api/v1/accounts/10/note", url.Values{"comment": {""}}, 200, nil},
		{"POST", "/api/v1/accounts/30/remove_from_followers", url.Values{}, 200, nil},
		{"POST", "/api/v1/accounts/11/remove_from_followers", url.Values{}, 200, nil},
		{"POST", "/api/v1/accounts/30/endorse", url.Values{}, 422, nil},
		{"POST", "/api/v1/accounts/30/pin", url.Values{}, 422, nil},
		{"POST", "/api/v1/accounts/30/unendorse", url.Values{}, 200, nil},
		{"POST", "/api/v1/accounts/30/unpin", url.Values{}, 200, nil},
		{"DELETE", "/api/v1/suggestions/11", nil, 200, nil},
		{"GET", "/api/v2/suggestions", nil, 200, nil},
		{"GET", "/api/v1/directory", nil, 200, nil},
		{"DELETE", "/api/v1/profile/avatar", nil, 200, nil},
	}
	f := newARFixture(t)
	before := fmt.Sprint(f.store.rows["endorse"], f.store.rows["block"], f.store.rows["mute"], f.store.follows)
	for _, c := range cases {
		status, body, _ := f.do(t, c.method, "b.example", c.path, "bob", c.form)
		if status != c.status {
			t.Errorf("%s %s as bob: %d %s", c.method, c.path, status, body)
		}
		if c.shows != nil && strings.Join(arIDs(t, body), ",") != *c.shows {
			t.Errorf("%s %s as bob shows %s", c.method, c.path, body)
		}
		if strings.Contains(body, "alice's note") || strings.Contains(body, `"endorsed":true`) {
			t.Errorf("%s %s shows alice's rows: %s", c.method, c.path, body)
		}
		// Alice's token is refused on B's domain whatever the route.
		if status, _, _ := f.do(t, c.method, "b.example", c.path, "alice", c.form); status != 401 {
			t.Errorf("%s %s with alice's token on b.example: %d", c.method, c.path, status)
		}
	}
	for _, w := range f.store.writes {
		if !strings.Contains(w, " 20→") {
			t.Errorf("a write not bob's own: %s (all: %v)", w, f.store.writes)
		}
	}
	if after := fmt.Sprint(f.store.rows["endorse"], f.store.rows["block"], f.store.rows["mute"], f.store.follows); after != before {
		t.Errorf("tenant A's rows changed:\n%s\n%s", before, after)
	}
	if i := f.store.find("note", 10, 30); i < 0 || f.store.rows["note"][i].text != "alice's note on r" {
		t.Errorf("alice's note changed: %v", f.store.rows["note"])
	}
	if f.store.sugQ != [2]int64{20, 2} || f.store.dirQ.TenantID != 2 {
		t.Errorf("suggestions/directory asked for %v / %+v", f.store.sugQ, f.store.dirQ)
	}
	for _, a := range f.store.sent {
		if a["_sender"] != int64(20) || a["type"] != "Update" {
			t.Errorf("activity sent for someone else: %v", a)
		}
	}
	status, body, _ := f.do(t, "GET", "b.example", "/api/v1/accounts/relationships?id[]=30", "bob", nil)
	if status != 200 || !strings.Contains(body, `"note":"bob's"`) || !strings.Contains(body, `"endorsed":false`) {
		t.Errorf("bob's relationship with r: %d %s", status, body)
	}
}

func arPtr(s string) *string { return &s }

func TestIssue17SourceAttributionDomainsAndQuotePolicy(t *testing.T) {
	f := newARFixture(t)
	const path = "/api/v1/accounts/update_credentials"
	for _, form := range []url.Values{
		{"display_name": {"Alice"}, "source[quote_policy]": {"everyone"}},
		{"display_name": {"Alice"}, "attribution_domains[]": {"ok.example", "not a domain"}},
	} {
		if status, body, _ := f.do(t, "PATCH", "a.example", path, "alice", form); status != 422 {
			t.Errorf("%v: %d %s", form, status, body)
		}
	}
	if len(f.store.writes) != 0 {
		t.Fatalf("refused edits wrote %v", f.store.writes)
	}
	status, body, _ := f.do(t, "PATCH", "a.example", path, "alice", url.Values{
		"attribution_domains[]": {"Blog.Example", "news.example"}, "source[quote_policy]": {"followers"}})
	if status != 200 || !strings.Contains(body, `"attribution_domains":["blog.example","news.example"],"quote_policy":"followers"`) {
		t.Fatalf("update: %d %s", status, body)
	}
	if _, body, _ = f.do(t, "GET", "a.example", "/api/v1/accounts/verify_credentials", "alice", nil); !strings.Contains(body, `"quote_policy":"followers"`) {
		t.Errorf("verify_credentials: %s", body)
	}
	if _, body, _ = f.do(t, "GET", "a.example", "/api/v1/preferences", "alice", nil); !strings.Contains(body, `"posting:default:quote_policy":"followers"`) {
		t.Errorf("preferences: %s", body)
	}
	if _, body, _ = f.do(t, "GET", "b.example", "/api/v1/preferences", "bob", nil); !strings.Contains(body, `"posting:default:quote_policy":"public"`) {
		t.Errorf("bob's preferences: %s", body)
	}
}
