package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mattn/go-mastodon"
	"github.com/roost-social/roost/federation"
)

// Search, lists, filters, conversations, custom emojis, domain blocks,
// reports, trends and rel=me verification, driven by go-mastodon (raw
// requests where it has no method) against a real node with two tenants:
// a.test (alice, bob) and b.test (carol). remote.test is a fake remote
// server, relme.test a web page host; both reached through the resolve
// override, as the safe client only reaches loopback that way.

// moreAPI sends JSON requests as one signed-in client (or anonymously).
type moreAPI struct {
	t      *testing.T
	addr   string
	server string
	token  string
}

func moreAs(t *testing.T, addr string, c *mastodon.Client) *moreAPI {
	return &moreAPI{t: t, addr: addr, server: c.Config.Server, token: c.Config.AccessToken}
}

// do sends body as JSON and decodes a 200 answer into out; it returns
// the status.
func (r *moreAPI) do(method, path string, body, out any) int {
	r.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			r.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, r.server+path, rd)
	if err != nil {
		r.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	hc := hostClient(r.addr)
	resp, err := hc.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == 200 && out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			r.t.Fatalf("%s %s: %v\n%s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

// moreRemote is another server: dave's actor, WebFinger, one public post,
// and inboxes that record what they are sent.
type moreRemote struct {
	*httptest.Server
	mu       sync.Mutex
	received []string
}

func newMoreRemote(t *testing.T) *moreRemote {
	t.Helper()
	keys, err := federation.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	f := &moreRemote{}
	const base = "http://remote.test"
	actor := map[string]any{
		"@context": []string{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"},
		"id":       base + "/users/dave", "type": "Person", "preferredUsername": "dave", "name": "Dave Remote",
		"inbox": base + "/users/dave/inbox", "outbox": base + "/users/dave/outbox",
		"followers": base + "/users/dave/followers", "url": base + "/@dave",
		"endpoints": map[string]any{"sharedInbox": base + "/inbox"},
		"publicKey": map[string]any{"id": base + "/users/dave#main-key", "owner": base + "/users/dave", "publicKeyPem": keys.PublicPEM},
	}
	note := map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       base + "/users/dave/statuses/1", "type": "Note", "attributedTo": base + "/users/dave",
		"content": "<p>remote hello world</p>", "published": "2026-01-02T03:04:05Z",
		"to": []string{federation.PublicCollection}, "cc": []string{base + "/users/dave/followers"},
		"url": base + "/@dave/1",
	}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		send := func(ct string, v any) {
			w.Header().Set("Content-Type", ct)
			json.NewEncoder(w).Encode(v)
		}
		switch {
		case r.Method == http.MethodPost:
			b, _ := io.ReadAll(r.Body)
			f.mu.Lock()
			f.received = append(f.received, string(b))
			f.mu.Unlock()
			w.WriteHeader(http.StatusAccepted)
		case r.URL.Path == "/.well-known/webfinger" && r.URL.Query().Get("resource") == "acct:dave@remote.test":
			send("application/jrd+json", map[string]any{"subject": "acct:dave@remote.test",
				"links": []map[string]string{{"rel": "self", "type": "application/activity+json", "href": base + "/users/dave"}}})
		case r.URL.Path == "/users/dave" || r.URL.Path == "/@dave":
			send("application/activity+json", actor)
		case r.URL.Path == "/users/dave/statuses/1":
			send("application/activity+json", note)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *moreRemote) inbox() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.received)
}

// moreRelMePages serves web pages that link back (or not) to local profiles.
func moreRelMePages(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		switch r.URL.Path {
		case "/alice":
			fmt.Fprint(w, `<html><body><a rel="me" href="http://a.test/@alice">Alice on Roost</a></body></html>`)
		case "/bob":
			fmt.Fprint(w, `<html><head><link rel="me" href="http://a.test/users/bob"></head></html>`)
		default:
			fmt.Fprint(w, `<html><body><a href="http://a.test/@alice">no rel</a></body></html>`)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func moreHostOf(u string) string {
	p, _ := url.Parse(u)
	return p.Host
}

// moreEmojiPNG writes a small PNG and returns its path and bytes.
func moreEmojiPNG(t *testing.T) (string, []byte) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for i := range img.Pix {
		img.Pix[i] = 0x80
	}
	img.Set(3, 3, color.RGBA{R: 255, A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "roostbird.png")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, b.Bytes()
}

func TestMoreClientAPI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	remote := newMoreRemote(t)
	pages := moreRelMePages(t)
	addr := freeAddr(t)
	n := startNode(t, "more", addr, "remote.test="+moreHostOf(remote.URL)+",relme.test="+moreHostOf(pages.URL))
	n.run(t, "tenant", "create", "--name", "A", "--domain", "a.test")
	n.run(t, "tenant", "create", "--name", "B", "--domain", "b.test")
	for _, a := range [][2]string{{"a.test", "alice"}, {"a.test", "bob"}, {"b.test", "carol"}} {
		n.run(t, "account", "create", "--domain", a[0], "--username", a[1], "--email", a[1]+"@"+a[0], "--password", testPassword)
	}
	pngPath, pngBytes := moreEmojiPNG(t)
	if out := n.run(t, "emoji", "add", "--domain", "a.test", "--shortcode", "roostbird", "--file", pngPath); !strings.Contains(out, ":roostbird: added to a.test") {
		t.Fatalf("emoji add: %q", out)
	}
	n.start(t, "serve")
	n.start(t, "work")
	waitHTTP(t, "http://"+addr+"/users/alice", "a.test", 200)

	scopes := "read write follow"
	alice := signIn(t, addr, "http://a.test", "alice@a.test", scopes)
	bob := signIn(t, addr, "http://a.test", "bob@a.test", scopes)
	carol := signIn(t, addr, "http://b.test", "carol@b.test", scopes)
	ra, rb, rc := moreAs(t, addr, alice), moreAs(t, addr, bob), moreAs(t, addr, carol)
	anonA := &moreAPI{t: t, addr: addr, server: "http://a.test"}
	anonB := &moreAPI{t: t, addr: addr, server: "http://b.test"}
	me := func(c *mastodon.Client) *mastodon.Account {
		t.Helper()
		a, err := c.GetAccountCurrentUser(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	aliceAcct, bobAcct, carolAcct := me(alice), me(bob), me(carol)
	post := func(c *mastodon.Client, text, visibility string) *mastodon.Status {
		t.Helper()
		s, err := c.PostStatus(ctx, &mastodon.Toot{Status: text, Visibility: visibility})
		if err != nil {
			t.Fatalf("post %q: %v", text, err)
		}
		return s
	}
	if _, err := alice.AccountFollow(ctx, bobAcct.ID); err != nil {
		t.Fatal(err)
	}
	garden := post(bob, "Gardening tips for spring #gardening", "public")
	secret := post(alice, "my secret sourdough recipe", "private")

	t.Run("Search", func(t *testing.T) {
		// Statuses: one's own, and what one liked; nobody else's.
		res, err := alice.Search(ctx, "sourdough", false)
		if err != nil || len(res.Statuses) != 1 || res.Statuses[0].ID != secret.ID {
			t.Fatalf("alice searching her post: %+v %v", res, err)
		}
		for _, c := range []*mastodon.Client{bob, carol} {
			if res, err := c.Search(ctx, "sourdough", false); err != nil || len(res.Statuses) != 0 {
				t.Fatalf("someone else finds alice's private post: %+v %v", res, err)
			}
		}
		if res, _ := alice.Search(ctx, "spring", false); len(res.Statuses) != 0 {
			t.Fatalf("alice finds bob's post she never touched: %v", statusIDs(res.Statuses))
		}
		if _, err := alice.Favourite(ctx, garden.ID); err != nil {
			t.Fatal(err)
		}
		if res, _ := alice.Search(ctx, "SPRING", false); len(res.Statuses) != 1 || res.Statuses[0].ID != garden.ID {
			t.Fatalf("alice after liking bob's post: %v", statusIDs(res.Statuses))
		}
		// Accounts: local ones of every tenant here, by name prefix.
		res, err = carol.Search(ctx, "ali", false)
		if err != nil || len(res.Accounts) == 0 || res.Accounts[0].ID != aliceAcct.ID || res.Accounts[0].Acct != "alice@a.test" {
			t.Fatalf("carol searching ali: %+v %v", res, err)
		}
		if accts, err := alice.AccountsSearch(ctx, "bo", 10); err != nil || len(accts) != 1 || accts[0].ID != bobAcct.ID {
			t.Fatalf("accounts/search bo: %v %v", accts, err)
		}
		// Hashtags: this tenant's own.
		if res, _ := alice.Search(ctx, "#garden", false); len(res.Hashtags) < 2 || res.Hashtags[0].Name != "garden" ||
			!slices.ContainsFunc(res.Hashtags, func(h *mastodon.Tag) bool { return h.Name == "gardening" }) {
			t.Fatalf("alice's hashtags: %+v", res.Hashtags)
		}
		if res, _ := carol.Search(ctx, "#garden", false); slices.ContainsFunc(res.Hashtags, func(h *mastodon.Tag) bool { return h.Name == "gardening" }) {
			t.Fatalf("b.test finds a.test's hashtag: %+v", res.Hashtags)
		}
		// A remote handle: unknown without resolve (and anonymous requests
		// never resolve), found through WebFinger with it.
		var anon moreSearchResults
		if anonA.do("GET", "/api/v2/search?resolve=true&q="+url.QueryEscape("@dave@remote.test"), nil, &anon) != 200 || len(anon.Accounts) != 0 {
			t.Fatalf("anonymous resolve: %+v", anon)
		}
		if res, _ := alice.Search(ctx, "@dave@remote.test", false); len(res.Accounts) != 0 {
			t.Fatalf("dave found before anyone resolved him: %+v", res.Accounts)
		}
		res, err = alice.Search(ctx, "@dave@remote.test", true)
		if err != nil || len(res.Accounts) != 1 || res.Accounts[0].Acct != "dave@remote.test" || res.Accounts[0].DisplayName != "Dave Remote" {
			t.Fatalf("resolving dave: %+v %v", res, err)
		}
		// Known now: found by prefix, by anyone.
		if res, _ := carol.Search(ctx, "dav", false); len(res.Accounts) != 1 || res.Accounts[0].Acct != "dave@remote.test" {
			t.Fatalf("carol searching dav: %+v", res.Accounts)
		}
		// URLs: a remote post fetched, a local profile looked up.
		res, err = alice.Search(ctx, "http://remote.test/users/dave/statuses/1", true)
		if err != nil || len(res.Statuses) != 1 || !strings.Contains(res.Statuses[0].Content, "remote hello world") {
			t.Fatalf("resolving a post URL: %+v %v", res, err)
		}
		if res, _ := carol.Search(ctx, "http://a.test/@bob", false); len(res.Accounts) != 1 || res.Accounts[0].ID != bobAcct.ID {
			t.Fatalf("a local profile URL: %+v", res.Accounts)
		}
		// A post URL of a followers-only post shows only to who may see it.
		if res, _ := carol.Search(ctx, fmt.Sprintf("http://a.test/users/alice/statuses/%s", secret.ID), false); len(res.Statuses) != 0 {
			t.Fatalf("carol resolves alice's private post: %+v", res.Statuses)
		}
		// Familiar followers: carol follows alice, who follows bob.
		if _, err := carol.AccountFollow(ctx, aliceAcct.ID); err != nil {
			t.Fatal(err)
		}
		var fam []struct {
			ID       string             `json:"id"`
			Accounts []mastodon.Account `json:"accounts"`
		}
		if rc.do("GET", "/api/v1/accounts/familiar_followers?id[]="+string(bobAcct.ID), nil, &fam) != 200 ||
			len(fam) != 1 || len(fam[0].Accounts) != 1 || fam[0].Accounts[0].ID != aliceAcct.ID {
			t.Fatalf("familiar followers: %+v", fam)
		}
	})

	t.Run("Lists", func(t *testing.T) {
		l, err := alice.CreateList(ctx, "friends")
		if err != nil {
			t.Fatal(err)
		}
		if err := alice.AddToList(ctx, l.ID, bobAcct.ID); err != nil {
			t.Fatal(err)
		}
		// Only followed accounts join a list.
		if err := alice.AddToList(ctx, l.ID, carolAcct.ID); apiStatus(err) != 422 {
			t.Fatalf("adding an account alice does not follow: %v", err)
		}
		fromBob := post(bob, "for the list", "public")
		tl, err := alice.GetTimelineList(ctx, l.ID, nil)
		if err != nil || len(tl) == 0 || tl[0].ID != fromBob.ID || slices.Contains(statusIDs(tl), string(secret.ID)) {
			t.Fatalf("list timeline: %v %v", statusIDs(tl), err)
		}
		if ls, err := alice.GetAccountLists(ctx, bobAcct.ID); err != nil || len(ls) != 1 || ls[0].ID != l.ID {
			t.Fatalf("bob's lists: %v %v", ls, err)
		}
		if accts, err := alice.GetListAccounts(ctx, l.ID); err != nil || len(accts) != 1 || accts[0].ID != bobAcct.ID {
			t.Fatalf("list accounts: %v %v", accts, err)
		}
		// Exclusive: bob's posts leave alice's home and stay on the list.
		var lj map[string]any
		if ra.do("PUT", "/api/v1/lists/"+string(l.ID), map[string]any{"exclusive": true, "replies_policy": "none"}, &lj) != 200 ||
			lj["exclusive"] != true || lj["replies_policy"] != "none" || lj["title"] != "friends" {
			t.Fatalf("update list: %v", lj)
		}
		if home, _ := alice.GetTimelineHome(ctx, nil); slices.Contains(statusIDs(home), string(fromBob.ID)) {
			t.Fatalf("an exclusive list's member is still at home")
		}
		if tl, _ := alice.GetTimelineList(ctx, l.ID, nil); len(tl) == 0 || tl[0].ID != fromBob.ID {
			t.Fatalf("list timeline after exclusive: %v", statusIDs(tl))
		}
		ra.do("PUT", "/api/v1/lists/"+string(l.ID), map[string]any{"exclusive": false}, nil)
		if home, _ := alice.GetTimelineHome(ctx, nil); !slices.Contains(statusIDs(home), string(fromBob.ID)) {
			t.Fatalf("bob's post not back at home")
		}
		// Another tenant's account (and another account here) can do nothing
		// with alice's list.
		for _, other := range []*mastodon.Client{carol, bob} {
			if _, err := other.GetList(ctx, l.ID); apiStatus(err) != 404 {
				t.Errorf("GetList: %v", err)
			}
			if _, err := other.GetTimelineList(ctx, l.ID, nil); apiStatus(err) != 404 {
				t.Errorf("GetTimelineList: %v", err)
			}
			if _, err := other.GetListAccounts(ctx, l.ID); apiStatus(err) != 404 {
				t.Errorf("GetListAccounts: %v", err)
			}
			if _, err := other.RenameList(ctx, l.ID, "stolen"); apiStatus(err) != 404 {
				t.Errorf("RenameList: %v", err)
			}
			if err := other.AddToList(ctx, l.ID, aliceAcct.ID); apiStatus(err) != 404 {
				t.Errorf("AddToList: %v", err)
			}
			if err := other.RemoveFromList(ctx, l.ID, bobAcct.ID); apiStatus(err) != 404 {
				t.Errorf("RemoveFromList: %v", err)
			}
			if err := other.DeleteList(ctx, l.ID); apiStatus(err) != 404 {
				t.Errorf("DeleteList: %v", err)
			}
			// Their own built-in "For you" list only.
			if ls, err := other.GetLists(ctx); err != nil || len(ls) != 1 || ls[0].ID == l.ID || ls[0].Title != "For you" {
				t.Errorf("GetLists: %v %v", ls, err)
			}
		}
		if got, err := alice.GetList(ctx, l.ID); err != nil || got.Title != "friends" {
			t.Fatalf("alice's list after the others tried: %+v %v", got, err)
		}
		if _, err := alice.RenameList(ctx, l.ID, "close friends"); err != nil {
			t.Fatal(err)
		}
		if err := alice.RemoveFromList(ctx, l.ID, bobAcct.ID); err != nil {
			t.Fatal(err)
		}
		if tl, _ := alice.GetTimelineList(ctx, l.ID, nil); len(tl) != 0 {
			t.Fatalf("empty list's timeline: %v", statusIDs(tl))
		}
		if err := alice.DeleteList(ctx, l.ID); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("Filters", func(t *testing.T) {
		var f moreFilter
		if code := ra.do("POST", "/api/v2/filters", map[string]any{
			"title": "no spoilers", "context": []string{"home", "public", "thread", "notifications", "account"},
			"filter_action": "warn", "keywords_attributes": []map[string]any{{"keyword": "spoiler", "whole_word": true}},
		}, &f); code != 200 || f.ID == "" || len(f.Keywords) != 1 || f.Keywords[0].Keyword != "spoiler" {
			t.Fatalf("create filter: %d %+v", code, f)
		}
		spoiler := post(bob, "big spoiler ahead", "public")
		harmless := post(bob, "spoilers are fine as a word", "public")
		home, err := alice.GetTimelineHome(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		byID := map[mastodon.ID]*mastodon.Status{}
		for _, s := range home {
			byID[s.ID] = s
		}
		if s := byID[spoiler.ID]; s == nil || len(s.Filtered) != 1 || s.Filtered[0].Filter.Title != "no spoilers" ||
			!slices.Equal(s.Filtered[0].KeywordMatches, []string{"spoiler"}) || s.Filtered[0].Filter.FilterAction != "warn" {
			t.Fatalf("warned status: %+v", byID[spoiler.ID])
		}
		if s := byID[harmless.ID]; s == nil || len(s.Filtered) != 0 {
			t.Fatalf("whole word matched inside a word: %+v", s)
		}
		// carol's views are not alice's filters'.
		if s, err := carol.GetStatus(ctx, spoiler.ID); err != nil || len(s.Filtered) != 0 {
			t.Fatalf("carol sees alice's filter: %+v %v", s, err)
		}
		// hide: gone from home, public, account, thread and notifications.
		if ra.do("PUT", "/api/v2/filters/"+f.ID, map[string]any{"filter_action": "hide"}, &f) != 200 || f.FilterAction != "hide" {
			t.Fatalf("update filter: %+v", f)
		}
		reply := post(alice, "what happens next?", "public")
		spoilerReply, err := bob.PostStatus(ctx, &mastodon.Toot{Status: "@alice spoiler: everyone wins", InReplyToID: reply.ID})
		if err != nil {
			t.Fatal(err)
		}
		hidden := func(ss []*mastodon.Status) bool {
			ids := statusIDs(ss)
			return !slices.Contains(ids, string(spoiler.ID)) && !slices.Contains(ids, string(spoilerReply.ID))
		}
		home, _ = alice.GetTimelineHome(ctx, nil)
		public, _ := alice.GetTimelinePublic(ctx, true, nil)
		acctStatuses, _ := alice.GetAccountStatuses(ctx, bobAcct.ID, nil)
		if !hidden(home) || !hidden(public) || !hidden(acctStatuses) || !slices.Contains(statusIDs(home), string(harmless.ID)) {
			t.Fatalf("hide: home %v public %v account %v", statusIDs(home), statusIDs(public), statusIDs(acctStatuses))
		}
		if thread, err := alice.GetStatusContext(ctx, reply.ID); err != nil || len(thread.Descendants) != 0 {
			t.Fatalf("thread: %+v %v", thread, err)
		}
		notes, _ := alice.GetNotifications(ctx, nil)
		for _, nt := range notes {
			if nt.Status != nil && nt.Status.ID == spoilerReply.ID {
				t.Fatalf("a hidden status's notification is listed")
			}
		}
		// Others still see everything.
		if thread, _ := bob.GetStatusContext(ctx, reply.ID); len(thread.Descendants) != 1 {
			t.Fatalf("bob's thread: %+v", thread)
		}
		// A single status in a filter.
		var fs moreFilterStatus
		if ra.do("POST", "/api/v2/filters/"+f.ID+"/statuses", map[string]any{"status_id": string(harmless.ID)}, &fs) != 200 || fs.StatusID != string(harmless.ID) {
			t.Fatalf("filter a status: %+v", fs)
		}
		if home, _ := alice.GetTimelineHome(ctx, nil); slices.Contains(statusIDs(home), string(harmless.ID)) {
			t.Fatalf("a filtered status is still at home")
		}
		// v1 sees the keyword as a filter of its own.
		v1, err := alice.GetFilters(ctx)
		if err != nil || len(v1) != 1 || v1[0].Phrase != "spoiler" || !v1[0].Irreversible || !v1[0].WholeWord {
			t.Fatalf("v1 filters: %+v %v", v1, err)
		}
		kale, err := alice.CreateFilter(ctx, &mastodon.Filter{Phrase: "kale", Context: []string{"home"}})
		if err != nil || kale.Phrase != "kale" || kale.Irreversible {
			t.Fatalf("v1 create: %+v %v", kale, err)
		}
		// Another tenant's account cannot reach alice's filter in any way.
		var kws []moreFilterKeyword
		ra.do("GET", "/api/v2/filters/"+f.ID+"/keywords", nil, &kws)
		if len(kws) != 1 {
			t.Fatalf("keywords: %+v", kws)
		}
		for _, other := range []*moreAPI{rc, rb} {
			for _, c := range []struct{ method, path string }{
				{"GET", "/api/v2/filters/" + f.ID},
				{"PUT", "/api/v2/filters/" + f.ID},
				{"DELETE", "/api/v2/filters/" + f.ID},
				{"GET", "/api/v2/filters/" + f.ID + "/keywords"},
				{"POST", "/api/v2/filters/" + f.ID + "/keywords"},
				{"GET", "/api/v2/filters/keywords/" + kws[0].ID},
				{"PUT", "/api/v2/filters/keywords/" + kws[0].ID},
				{"DELETE", "/api/v2/filters/keywords/" + kws[0].ID},
				{"GET", "/api/v2/filters/statuses/" + fs.ID},
				{"DELETE", "/api/v2/filters/statuses/" + fs.ID},
				{"POST", "/api/v2/filters/" + f.ID + "/statuses"},
				{"GET", "/api/v1/filters/" + kws[0].ID},
				{"PUT", "/api/v1/filters/" + kws[0].ID},
				{"DELETE", "/api/v1/filters/" + kws[0].ID},
			} {
				body := map[string]any{"title": "x", "keyword": "x", "phrase": "x", "context": []string{"home"}, "status_id": string(garden.ID)}
				if code := other.do(c.method, c.path, body, nil); code != 404 {
					t.Errorf("%s %s by another account: %d, want 404", c.method, c.path, code)
				}
			}
			var list []moreFilter
			if other.do("GET", "/api/v2/filters", nil, &list); len(list) != 0 {
				t.Errorf("another account lists alice's filters: %+v", list)
			}
		}
		var again moreFilter
		if ra.do("GET", "/api/v2/filters/"+f.ID, nil, &again) != 200 || again.Title != "no spoilers" || len(again.Keywords) != 1 || len(again.Statuses) != 1 {
			t.Fatalf("alice's filter after the others tried: %+v", again)
		}
		if err := alice.DeleteFilter(ctx, kale.ID); err != nil {
			t.Fatal(err)
		}
		if ra.do("DELETE", "/api/v2/filters/"+f.ID, nil, nil) != 200 {
			t.Fatal("delete filter")
		}
		if home, _ := alice.GetTimelineHome(ctx, nil); !slices.Contains(statusIDs(home), string(spoiler.ID)) {
			t.Fatalf("the status is not back once the filter is gone")
		}
	})

	t.Run("Conversations", func(t *testing.T) {
		dm := post(alice, "@bob the secret plan", "direct")
		cs, err := bob.GetConversations(ctx, nil)
		if err != nil || len(cs) != 1 || !cs[0].Unread || len(cs[0].Accounts) != 1 || cs[0].Accounts[0].ID != aliceAcct.ID ||
			cs[0].LastStatus == nil || cs[0].LastStatus.ID != dm.ID {
			t.Fatalf("bob's conversations: %+v %v", cs, err)
		}
		reply, err := bob.PostStatus(ctx, &mastodon.Toot{Status: "@alice count me in", Visibility: "direct", InReplyToID: dm.ID})
		if err != nil {
			t.Fatal(err)
		}
		acs, _ := alice.GetConversations(ctx, nil)
		if len(acs) != 1 || !acs[0].Unread || acs[0].LastStatus == nil || acs[0].LastStatus.ID != reply.ID {
			t.Fatalf("alice's conversations: %+v", acs)
		}
		// carol can neither see nor touch them.
		if ccs, _ := carol.GetConversations(ctx, nil); len(ccs) != 0 {
			t.Fatalf("carol's conversations: %+v", ccs)
		}
		for _, id := range []mastodon.ID{cs[0].ID, acs[0].ID} {
			if err := carol.MarkConversationAsRead(ctx, id); apiStatus(err) != 404 {
				t.Errorf("carol marking a conversation read: %v", err)
			}
			if err := carol.DeleteConversation(ctx, id); apiStatus(err) != 404 {
				t.Errorf("carol deleting a conversation: %v", err)
			}
		}
		if err := alice.MarkConversationAsRead(ctx, acs[0].ID); err != nil {
			t.Fatal(err)
		}
		if acs, _ := alice.GetConversations(ctx, nil); len(acs) != 1 || acs[0].Unread {
			t.Fatalf("after read: %+v", acs)
		}
		if err := bob.DeleteConversation(ctx, cs[0].ID); err != nil {
			t.Fatal(err)
		}
		if cs, _ := bob.GetConversations(ctx, nil); len(cs) != 0 {
			t.Fatalf("after delete: %+v", cs)
		}
		if acs, _ := alice.GetConversations(ctx, nil); len(acs) != 1 {
			t.Fatalf("bob's delete removed alice's conversation: %+v", acs)
		}
	})

	t.Run("Emojis", func(t *testing.T) {
		var es []mastodon.Emoji
		if anonA.do("GET", "/api/v1/custom_emojis", nil, &es) != 200 || len(es) != 1 || es[0].ShortCode != "roostbird" ||
			es[0].URL != "http://a.test/custom_emojis/roostbird.png" || !es[0].VisibleInPicker {
			t.Fatalf("a.test emojis: %+v", es)
		}
		if anonB.do("GET", "/api/v1/custom_emojis", nil, &es) != 200 || len(es) != 0 {
			t.Fatalf("b.test lists a.test's emojis: %+v", es)
		}
		hc := hostClient(addr)
		get := func(u string) (int, string, []byte) {
			resp, err := hc.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, resp.Header.Get("Content-Type"), b
		}
		if code, ct, b := get("http://a.test/custom_emojis/roostbird.png"); code != 200 || ct != "image/png" || !bytes.Equal(b, pngBytes) {
			t.Fatalf("emoji image on a.test: %d %s", code, ct)
		}
		if code, _, _ := get("http://b.test/custom_emojis/roostbird.png"); code != 404 {
			t.Fatalf("emoji image on b.test: %d", code)
		}
		s := post(alice, "hello :roostbird: and :unknown:", "public")
		if len(s.Emojis) != 1 || s.Emojis[0].ShortCode != "roostbird" || s.Emojis[0].URL != "http://a.test/custom_emojis/roostbird.png" {
			t.Fatalf("status emojis: %+v", s.Emojis)
		}
		if s := post(carol, "also :roostbird:", "public"); len(s.Emojis) != 0 {
			t.Fatalf("carol's post uses a.test's emoji: %+v", s.Emojis)
		}
	})

	t.Run("DomainBlocks", func(t *testing.T) {
		fromCarol := post(carol, "hi @alice@a.test from b", "public")
		home, _ := alice.GetTimelineHome(ctx, nil)
		notes, _ := alice.GetNotifications(ctx, nil)
		hasNote := func(ns []*mastodon.Notification) bool {
			return slices.ContainsFunc(ns, func(n *mastodon.Notification) bool { return n.Account.ID == carolAcct.ID })
		}
		if !slices.Contains(statusIDs(home), string(fromCarol.ID)) || !hasNote(notes) {
			t.Fatalf("before the block: home %v, notified %v", statusIDs(home), hasNote(notes))
		}
		if code := ra.do("POST", "/api/v1/domain_blocks", map[string]any{"domain": "B.test"}, nil); code != 200 {
			t.Fatalf("block: %d", code)
		}
		if code := ra.do("POST", "/api/v1/domain_blocks", map[string]any{"domain": "a.test"}, nil); code != 422 {
			t.Fatalf("blocking one's own domain: %d", code)
		}
		var ds []string
		if ra.do("GET", "/api/v1/domain_blocks", nil, &ds) != 200 || !slices.Equal(ds, []string{"b.test"}) {
			t.Fatalf("alice's domain blocks: %v", ds)
		}
		home, _ = alice.GetTimelineHome(ctx, nil)
		notes, _ = alice.GetNotifications(ctx, nil)
		if slices.Contains(statusIDs(home), string(fromCarol.ID)) || hasNote(notes) {
			t.Fatalf("after the block: home %v, notified %v", statusIDs(home), hasNote(notes))
		}
		// carol's own blocks are hers: empty, and unblocking touches only hers.
		if rc.do("GET", "/api/v1/domain_blocks", nil, &ds) != 200 || len(ds) != 0 {
			t.Fatalf("carol sees alice's blocks: %v", ds)
		}
		rc.do("DELETE", "/api/v1/domain_blocks?domain=b.test", nil, nil)
		if ra.do("GET", "/api/v1/domain_blocks", nil, &ds); !slices.Equal(ds, []string{"b.test"}) {
			t.Fatalf("carol's unblock changed alice's: %v", ds)
		}
		if code := ra.do("DELETE", "/api/v1/domain_blocks?domain=b.test", nil, nil); code != 200 {
			t.Fatalf("unblock: %d", code)
		}
		if home, _ = alice.GetTimelineHome(ctx, nil); !slices.Contains(statusIDs(home), string(fromCarol.ID)) {
			t.Fatalf("carol's post not back after unblocking")
		}
	})

	t.Run("Reports", func(t *testing.T) {
		rep, err := carol.Report(ctx, bobAcct.ID, []mastodon.ID{garden.ID}, "spam from a.test")
		if err != nil || rep.ID == "" || rep.ActionTaken {
			t.Fatalf("report: %+v %v", rep, err)
		}
		// a.test's moderators get it without carol's name; b.test keeps it with.
		if got := n.query(t, `select count(*) from reports r join domains d on d.tenant_id = r.tenant_id
			where d.domain = 'a.test' and r.reporter_id is null and r.target_account_id = $1 and cardinality(r.status_uris) = 1`,
			moreID(t, bobAcct.ID)); got != "1" {
			t.Fatalf("a.test's copy: %s", got)
		}
		if got := n.query(t, `select count(*) from reports r join domains d on d.tenant_id = r.tenant_id
			where d.domain = 'b.test' and r.id = $1 and r.reporter_id = $2`, moreID(t, rep.ID), moreID(t, carolAcct.ID)); got != "1" {
			t.Fatalf("b.test's copy: %s", got)
		}
		// Only posts the reporter can see, of the reported account.
		dm := post(alice, "@bob between us", "direct")
		if _, err := carol.Report(ctx, aliceAcct.ID, []mastodon.ID{dm.ID}, "x"); apiStatus(err) != 404 {
			t.Fatalf("carol reporting alice's direct message to bob: %v", err)
		}
		if _, err := carol.Report(ctx, aliceAcct.ID, []mastodon.ID{garden.ID}, "x"); apiStatus(err) != 404 {
			t.Fatalf("reporting alice with bob's post: %v", err)
		}
		// A remote account: forwarded to its server as the instance actor.
		res, _ := alice.Search(ctx, "@dave@remote.test", false)
		if len(res.Accounts) != 1 {
			t.Fatalf("dave: %+v", res.Accounts)
		}
		var rj map[string]any
		if ra.do("POST", "/api/v1/reports", map[string]any{"account_id": string(res.Accounts[0].ID), "comment": "please look",
			"forward": true, "category": "spam"}, &rj) != 200 || rj["forwarded"] != true || rj["category"] != "spam" {
			t.Fatalf("forwarded report: %v", rj)
		}
		var flag map[string]any
		eventuallyTrue(t, "the Flag reaches remote.test", func() bool {
			for _, b := range remote.inbox() {
				var m map[string]any
				if json.Unmarshal([]byte(b), &m) == nil && m["type"] == "Flag" {
					flag = m
					return true
				}
			}
			return false
		})
		raw, _ := json.Marshal(flag)
		if flag["actor"] != "http://a.test/actor" || flag["content"] != "please look" ||
			!strings.Contains(string(raw), "http://remote.test/users/dave") || strings.Contains(string(raw), "alice") {
			t.Fatalf("flag: %s", raw)
		}
	})

	t.Run("Trends", func(t *testing.T) {
		var tags []mastodon.Tag
		if anonA.do("GET", "/api/v1/trends/tags", nil, &tags) != 200 || len(tags) == 0 || tags[0].Name != "gardening" ||
			len(tags[0].History) != 7 || tags[0].History[0].Uses != "1" || tags[0].History[0].Accounts != "1" {
			t.Fatalf("a.test trending tags: %+v", tags)
		}
		if anonB.do("GET", "/api/v1/trends/tags", nil, &tags) != 200 || slices.ContainsFunc(tags, func(tg mastodon.Tag) bool { return tg.Name == "gardening" }) {
			t.Fatalf("b.test trends a.test's tag: %+v", tags)
		}
		var ss []mastodon.Status
		if anonA.do("GET", "/api/v1/trends/statuses", nil, &ss) != 200 || len(ss) == 0 || ss[0].ID != garden.ID {
			t.Fatalf("a.test trending statuses: %v", ss)
		}
		if anonB.do("GET", "/api/v1/trends/statuses", nil, &ss) != 200 || slices.ContainsFunc(ss, func(s mastodon.Status) bool { return s.ID == garden.ID }) {
			t.Fatalf("b.test trends a.test's post")
		}
		var tag mastodon.Tag
		if ra.do("GET", "/api/v1/tags/gardening", nil, &tag) != 200 || tag.Name != "gardening" || tag.History[0].Uses != "1" {
			t.Fatalf("a.test tag: %+v", tag)
		}
		if rc.do("GET", "/api/v1/tags/Gardening", nil, &tag) != 200 || tag.History[0].Uses != "0" {
			t.Fatalf("b.test tag: %+v", tag)
		}
	})

	t.Run("RelMe", func(t *testing.T) {
		fields := func(c *mastodon.Client) []mastodon.Field {
			a, err := c.GetAccountCurrentUser(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return a.Fields
		}
		if _, err := alice.AccountUpdate(ctx, &mastodon.Profile{Fields: &[]mastodon.Field{
			{Name: "Site", Value: "http://relme.test/alice"}, {Name: "Other", Value: "http://relme.test/nobody"}}}); err != nil {
			t.Fatal(err)
		}
		eventuallyTrue(t, "alice's link verified", func() bool { return !fields(alice)[0].VerifiedAt.IsZero() })
		if f := fields(alice); !f[1].VerifiedAt.IsZero() {
			t.Fatalf("a page without rel=me verified: %+v", f)
		}
		// An unchanged value keeps its verification; a changed one loses it.
		if _, err := alice.AccountUpdate(ctx, &mastodon.Profile{Fields: &[]mastodon.Field{
			{Name: "Website", Value: "http://relme.test/alice"}, {Name: "Other", Value: "http://relme.test/elsewhere"}}}); err != nil {
			t.Fatal(err)
		}
		if f := fields(alice); f[0].VerifiedAt.IsZero() {
			t.Fatalf("an unchanged link lost its verification: %+v", f)
		}
		if _, err := alice.AccountUpdate(ctx, &mastodon.Profile{Fields: &[]mastodon.Field{
			{Name: "Website", Value: "http://relme.test/nobody"}}}); err != nil {
			t.Fatal(err)
		}
		if f := fields(alice); !f[0].VerifiedAt.IsZero() {
			t.Fatalf("a changed link kept its verification: %+v", f)
		}
		// A page linking back to alice does not verify bob; his own does.
		if _, err := bob.AccountUpdate(ctx, &mastodon.Profile{Fields: &[]mastodon.Field{
			{Name: "Alice's", Value: "http://relme.test/alice"}, {Name: "Mine", Value: "http://relme.test/bob"}}}); err != nil {
			t.Fatal(err)
		}
		eventuallyTrue(t, "bob's link verified", func() bool { return !fields(bob)[1].VerifiedAt.IsZero() })
		if f := fields(bob); !f[0].VerifiedAt.IsZero() {
			t.Fatalf("bob verified with alice's page: %+v", f)
		}
		// Others see the verification too.
		if a, err := carol.GetAccount(ctx, bobAcct.ID); err != nil || a.Fields[1].VerifiedAt.IsZero() {
			t.Fatalf("bob's profile as carol sees it: %+v %v", a, err)
		}
	})
}

// The JSON shapes read by raw requests.
type (
	moreSearchResults struct {
		Accounts []mastodon.Account `json:"accounts"`
		Statuses []mastodon.Status  `json:"statuses"`
	}
	moreFilterKeyword struct {
		ID        string `json:"id"`
		Keyword   string `json:"keyword"`
		WholeWord bool   `json:"whole_word"`
	}
	moreFilterStatus struct {
		ID       string `json:"id"`
		StatusID string `json:"status_id"`
	}
	moreFilter struct {
		ID           string              `json:"id"`
		Title        string              `json:"title"`
		Context      []string            `json:"context"`
		FilterAction string              `json:"filter_action"`
		Keywords     []moreFilterKeyword `json:"keywords"`
		Statuses     []moreFilterStatus  `json:"statuses"`
	}
)

func moreID(t *testing.T, id mastodon.ID) int64 {
	t.Helper()
	var n int64
	if _, err := fmt.Sscan(string(id), &n); err != nil {
		t.Fatal(err)
	}
	return n
}
