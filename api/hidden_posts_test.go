package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/roost-social/roost/api"
	"github.com/roost-social/roost/api/mastodon"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/actors"
	"github.com/roost-social/roost/federation/delivery"
	"github.com/roost-social/roost/federation/fetch"
	"github.com/roost-social/roost/federation/inbox"
	"github.com/roost-social/roost/federation/outbox"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant/oauth"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

// Issue 14, finding 3: an attacker (bob, on the victim's tenant but not a
// follower; alice of tenant B) tries every route that links an account
// to a post, and every search form, against alice of tenant A's hidden
// direct and followers-only posts and against an id that does not exist.
// Every answer must be the same for hidden and missing, nothing may be
// stored, and search must answer the same whether a hidden post holds
// the word or not.

// hiddenWorld is the client API with a real outbox on two tenants.
type hiddenWorld struct {
	*world
	bob              *federation.Account
	tokens           map[int64]string // account id → bearer token
	direct, private  int64            // alice of A's hidden posts, each with a poll
	missing          int64
	filters          map[int64]int64 // attacker → its own filter
	hosts            map[int64]string
	attackers        []*federation.Account
	own              map[int64]string // attacker → its own post mentioning both search words
	secret, harmless string
}

// newHiddenWorld builds the world; with each, the handler is completed
// (more use cases wired) before the app is built.
func newHiddenWorld(t *testing.T, with ...func(*mastodon.Handler)) *hiddenWorld {
	t.Helper()
	ctx := context.Background()
	w := &hiddenWorld{world: newWorld(t), tokens: map[int64]string{}, filters: map[int64]int64{},
		hosts: map[int64]string{}, own: map[int64]string{}, secret: "zanzibar", harmless: "quokka"}
	store := tenantpg.NewOAuthStore(w.db)
	svc := &oauth.Service{Store: store}
	rdb, prefix := testenv.Redis(t)
	queue := &delivery.Queue{Store: w.accounts, Redis: rdb, Prefix: prefix}
	ob := &outbox.Service{Keys: &actors.Keys{Store: w.accounts, Fetch: fetch.New(fetch.Config{})},
		Follows: w.accounts, Locals: &inbox.SiteLocals{Sites: w.opts.Sites, Accounts: w.accounts, Scheme: "https"},
		Send: queue, Publisher: w.accounts, Dispatch: queue, Mover: w.accounts, Store: w.accounts}
	o := w.opts
	o.Metrics = nil
	o.Mastodon = &mastodon.Handler{Auth: svc, Views: w.accounts, Client: w.accounts, Accounts: w.accounts,
		Outbox: ob, Sites: o.Sites, URL: o.URL, Polls: w.accounts, ForYou: w.accounts}
	o.Mastodon.UseSocialStore(w.accounts, ob)
	for _, f := range with {
		f(o.Mastodon)
	}
	w.app = api.New(o)
	var err error
	if w.bob, err = w.accounts.AccountByUsername(ctx, w.tenantA.ID, "a.example", "bob"); err != nil {
		t.Fatal(err)
	}
	w.attackers = []*federation.Account{w.bob, w.aliceB}
	for _, a := range []*federation.Account{w.aliceA, w.bob, w.aliceB} {
		w.tokens[a.ID] = mintToken(t, svc, a)
		w.hosts[a.ID] = a.Domain
	}
	for _, a := range w.attackers {
		w.own[a.ID] = w.post(t, a, map[string]any{"status": "my own " + w.secret + " and " + w.harmless})
		f, err := w.accounts.SaveFilter(ctx, a.ID, &federation.Filter{Title: "f", Context: []string{"home"}, Action: "warn"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		w.filters[a.ID] = f.ID
		// Its own post bookmarked and favourited: the lists' first page.
		for _, verb := range []string{"bookmark", "favourite"} {
			w.call(t, a, http.MethodPost, "/api/v1/statuses/"+w.own[a.ID]+"/"+verb, nil).want(t, 200)
		}
	}
	poll := map[string]any{"options": []string{"yes", "no"}, "expires_in": 3600}
	w.direct, _ = strconv.ParseInt(w.post(t, w.aliceA, map[string]any{"status": "a secret: " + w.secret,
		"visibility": "direct", "poll": poll}), 10, 64)
	w.private, _ = strconv.ParseInt(w.post(t, w.aliceA, map[string]any{"status": "for followers: " + w.secret,
		"visibility": "private", "poll": poll}), 10, 64)
	w.missing = w.private + 1000
	return w
}

// mintToken signs an account in to its tenant through an app.
func mintToken(t *testing.T, svc *oauth.Service, a *federation.Account) string {
	t.Helper()
	ctx := context.Background()
	app, secret, err := svc.RegisterApp(ctx, a.TenantID, "finding 3", "", oauth.OOB, "read write follow")
	if err != nil {
		t.Fatal(err)
	}
	code, err := svc.Authorize(ctx, app, a.ID, oauth.OOB, "read write follow", "", "")
	if err != nil {
		t.Fatal(err)
	}
	g, err := svc.Exchange(ctx, a.TenantID, oauth.TokenRequest{GrantType: "authorization_code", ClientID: app.ClientID,
		ClientSecret: secret, Code: code, RedirectURI: oauth.OOB})
	if err != nil {
		t.Fatal(err)
	}
	return g.AccessToken
}

// reply is an answer as a client sees it.
type reply struct {
	code       int
	body, link string
}

func (r reply) want(t *testing.T, code int) reply {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d: %s", r.code, code, r.body)
	}
	return r
}

// call makes a request as account a on its own tenant's domain.
func (w *hiddenWorld) call(t *testing.T, a *federation.Account, method, target string, body any) reply {
	t.Helper()
	var rd io.Reader
	headers := []string{"Authorization", "Bearer " + w.tokens[a.ID]}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = strings.NewReader(string(b))
		headers = append(headers, "Content-Type", "application/json")
	}
	r := w.do(t, method, w.hosts[a.ID], target, rd, headers...)
	return reply{code: r.StatusCode, body: readAll(t, r.Body), link: r.Header.Get("Link")}
}

// post publishes a status as a through the API and returns its id.
func (w *hiddenWorld) post(t *testing.T, a *federation.Account, body map[string]any) string {
	t.Helper()
	r := w.call(t, a, http.MethodPost, "/api/v1/statuses", body).want(t, 200)
	var st struct{ ID string }
	if err := json.Unmarshal([]byte(r.body), &st); err != nil || st.ID == "" {
		t.Fatalf("posted status: %v %s", err, r.body)
	}
	return st.ID
}

// stored counts every row a linking route could leave behind.
func (w *hiddenWorld) stored(t *testing.T) [9]int64 {
	t.Helper()
	var n [9]int64
	err := w.db.QueryRow(context.Background(), `select (select count(*) from favourites), (select count(*) from bookmarks),
		(select count(*) from statuses), (select count(*) from poll_votes), (select count(*) from filter_statuses),
		(select count(*) from reports), (select count(*) from pins), (select count(*) from notifications),
		(select count(*) from deliveries)`).
		Scan(&n[0], &n[1], &n[2], &n[3], &n[4], &n[5], &n[6], &n[7], &n[8])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// linkRoute is one route naming a post; {id}, {victim} and {filter} are
// filled in.
type linkRoute struct{ method, path, body string }

// linkRoutes are every client API route that takes a post's id, and
// those Mastodon has that Roost does not (mute, translate, quotes): they
// must answer the same too, should they come.
var linkRoutes = []linkRoute{
	{"GET", "/api/v1/statuses/{id}", ""},
	{"GET", "/api/v1/statuses/{id}/context", ""},
	{"GET", "/api/v1/statuses/{id}/history", ""},
	{"GET", "/api/v1/statuses/{id}/source", ""},
	{"GET", "/api/v1/statuses/{id}/favourited_by", ""},
	{"GET", "/api/v1/statuses/{id}/reblogged_by", ""},
	{"POST", "/api/v1/statuses/{id}/favourite", ""},
	{"POST", "/api/v1/statuses/{id}/unfavourite", ""},
	{"POST", "/api/v1/statuses/{id}/reblog", ""},
	{"POST", "/api/v1/statuses/{id}/unreblog", ""},
	{"POST", "/api/v1/statuses/{id}/bookmark", ""},
	{"POST", "/api/v1/statuses/{id}/unbookmark", ""},
	{"POST", "/api/v1/statuses/{id}/pin", ""},
	{"POST", "/api/v1/statuses/{id}/unpin", ""},
	{"POST", "/api/v1/statuses/{id}/mute", ""},
	{"POST", "/api/v1/statuses/{id}/unmute", ""},
	{"POST", "/api/v1/statuses/{id}/translate", ""},
	{"GET", "/api/v1/statuses/{id}/quotes", ""},
	{"PUT", "/api/v1/statuses/{id}", `{"status":"mine now"}`},
	{"DELETE", "/api/v1/statuses/{id}", ""},
	{"POST", "/api/v1/statuses", `{"status":"a reply","in_reply_to_id":"{id}"}`},
	{"POST", "/api/v1/statuses", `{"status":"a quote","quoted_status_id":"{id}","in_reply_to_id":"{id}"}`},
	{"GET", "/api/v1/polls/{id}", ""},
	{"POST", "/api/v1/polls/{id}/votes", `{"choices":["0"]}`},
	{"POST", "/api/v1/reports", `{"account_id":"{victim}","status_ids":["{id}"],"comment":"x"}`},
	{"POST", "/api/v2/filters/{filter}/statuses", `{"status_id":"{id}"}`},
	{"GET", "/api/v1/timelines/for_you/explain?status_id={id}", ""},
}

func (w *hiddenWorld) fill(s string, a *federation.Account, id int64) string {
	return strings.NewReplacer("{id}", strconv.FormatInt(id, 10), "{victim}", strconv.FormatInt(w.aliceA.ID, 10),
		"{filter}", strconv.FormatInt(w.filters[a.ID], 10)).Replace(s)
}

func (w *hiddenWorld) try(t *testing.T, a *federation.Account, rt linkRoute, id int64) reply {
	t.Helper()
	var body any
	if rt.body != "" {
		body = json.RawMessage(w.fill(rt.body, a, id))
	}
	r := w.call(t, a, rt.method, w.fill(rt.path, a, id), body)
	// An answer may name the id it was asked about (a missing route
	// does): that is no oracle, the asker knows it.
	r.body = strings.ReplaceAll(r.body, strconv.FormatInt(id, 10), "{id}")
	return r
}

func TestIssue14Finding3EveryLinkingRouteAnswersHiddenAsMissing(t *testing.T) {
	t.Parallel()
	w := newHiddenWorld(t)
	before := w.stored(t)
	for _, rt := range linkRoutes {
		for _, a := range w.attackers {
			missing := w.try(t, a, rt, w.missing)
			for name, id := range map[string]int64{"direct": w.direct, "followers-only": w.private} {
				if got := w.try(t, a, rt, id); got != missing {
					t.Errorf("%s %s by %s@%s: %s post answered %+v, a missing one %+v",
						rt.method, rt.path, a.Username, a.Domain, name, got, missing)
				}
			}
			if missing.code != http.StatusNotFound {
				t.Errorf("%s %s by %s@%s on a missing post: %d %s", rt.method, rt.path, a.Username, a.Domain, missing.code, missing.body)
			}
		}
	}
	if after := w.stored(t); after != before {
		t.Fatalf("rows changed: %v, then %v", before, after)
	}
	// The victim, who may see them, gets through: the routes above were
	// refused for what the attackers may see, not for being broken.
	r := w.call(t, w.aliceA, http.MethodPost, fmt.Sprintf("/api/v1/statuses/%d/bookmark", w.direct), nil)
	r.want(t, 200)
}

// searchForms are the ways of searching statuses: v2 with every paging
// parameter, and v1 (gone from Mastodon; it must not exist either way).
func (w *hiddenWorld) searchForms(a *federation.Account) []string {
	victim, self := strconv.FormatInt(w.aliceA.ID, 10), strconv.FormatInt(a.ID, 10)
	top := strconv.FormatInt(w.missing+1, 10)
	var out []string
	for _, extra := range []string{"", "&type=statuses", "&limit=1", "&type=statuses&limit=1", "&limit=1&offset=1",
		"&offset=1", "&max_id=" + top, "&max_id=" + top + "&limit=1", "&min_id=1", "&min_id=1&limit=1",
		"&account_id=" + victim, "&account_id=" + victim + "&type=statuses&limit=1", "&account_id=" + self + "&limit=1",
		"&type=statuses&resolve=true&limit=1", "&type=statuses&following=true&limit=1"} {
		out = append(out, "/api/v2/search?q={q}"+extra, "/api/v1/search?q={q}"+extra)
	}
	return out
}

func TestIssue14Finding3SearchIsNoOracleOverHiddenPosts(t *testing.T) {
	t.Parallel()
	w := newHiddenWorld(t)
	ctx := context.Background()
	// Links to the hidden posts exist already, as an archive import or a
	// follow since revoked would have left them: newer than the
	// attacker's own.
	for _, a := range w.attackers {
		for _, id := range []int64{w.direct, w.private} {
			for _, table := range []string{"bookmarks", "favourites"} {
				if _, err := w.db.Exec(ctx, `insert into `+table+` (account_id, status_id) values ($1, $2)`, a.ID, id); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for _, a := range w.attackers {
		for _, form := range w.searchForms(a) {
			ask := func(word string) reply {
				return w.call(t, a, http.MethodGet, strings.ReplaceAll(form, "{q}", url.QueryEscape(word)), nil)
			}
			withSecret, without := ask(w.secret), ask(w.harmless)
			// Both words are in the attacker's own post; only the hidden
			// posts tell them apart. Hashtag results echo the word asked,
			// so the words are made one before comparing.
			without.body = strings.ReplaceAll(without.body, w.harmless, w.secret)
			withSecret.body = strings.ReplaceAll(withSecret.body, w.harmless, w.secret)
			if withSecret != without {
				t.Errorf("%s as %s@%s: %q answered %+v, %q answered %+v", form, a.Username, a.Domain,
					w.secret, withSecret, w.harmless, without)
			}
		}
		// A page of one of the lists shows the attacker's own post, not
		// an empty page whose slot a hidden post took.
		for _, list := range []string{"/api/v1/bookmarks?limit=1", "/api/v1/favourites?limit=1"} {
			r := w.call(t, a, http.MethodGet, list, nil).want(t, 200)
			if !strings.Contains(r.body, `"id":"`+w.own[a.ID]+`"`) {
				t.Errorf("%s as %s@%s: %s (Link %s)", list, a.Username, a.Domain, r.body, r.link)
			}
		}
	}
}
