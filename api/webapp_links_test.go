package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// Issue 18, "every link on those pages works": what the crawl of a
// seeded tenant (cmd/roost TestIssue18WebCrawl) found broken, one test
// per finding.

// Crawl finding 1: a followers-only post's url, which the client API
// prints to the people who may read it, answered 404 to them in a
// browser signed in to the web app (the public pages show only what the
// signed-out public may see). It is now the app's thread for them, and
// still the 404 of a missing post for everyone else.
func TestIssue18CrawlFinding1HiddenPostLinkOpensForItsReaders(t *testing.T) {
	t.Parallel()
	w := newAppWorld(t)
	code, body := w.apiCall(t, w.aliceA, http.MethodPost, "/api/v1/statuses",
		map[string]any{"status": "only for my followers", "visibility": "private"})
	var st struct{ ID, URL, URI string }
	if err := json.Unmarshal([]byte(body), &st); err != nil || code != 200 {
		t.Fatalf("post: %d %s", code, body)
	}
	links := []string{pathOf(t, st.URL), pathOf(t, st.URI)}
	signedOut, bob, alice := w.browser(t, "a.example"), w.browser(t, "a.example"), w.browser(t, "a.example")
	bob.signIn(w.bob)
	alice.signIn(w.aliceA)
	for _, l := range links {
		wantWeb(t, "signed out "+l, signedOut.get(l), http.StatusNotFound)
		wantWeb(t, "bob, not following, "+l, bob.get(l), http.StatusNotFound)
		wantWeb(t, "alice "+l, alice.get(l), http.StatusOK, "only for my followers", `action="/compose"`)
		// ActivityPub is not the app's: /@alice/ID redirects to the id,
		// which answers 404 to an unsigned fetch, session or not.
		p := alice.send(http.MethodGet, l, "", nil, "Accept", "application/activity+json")
		if (p.code != http.StatusNotFound && p.code != http.StatusFound) || strings.Contains(p.body, "only for my followers") {
			t.Errorf("an ActivityPub fetch of %s with a session: %d %s", l, p.code, p.body)
		}
	}
	if code, body := w.apiCall(t, w.bob, http.MethodPost, "/api/v1/accounts/"+strconv.FormatInt(w.aliceA.ID, 10)+"/follow", nil); code != 200 {
		t.Fatalf("follow: %d %s", code, body)
	}
	for _, l := range links {
		wantWeb(t, "bob, following, "+l, bob.get(l), http.StatusOK, "only for my followers")
	}
	// A public post's link is still the public page, signed in or not.
	pub := w.postAs(t, w.aliceA, "for everyone")
	wantWeb(t, "public post signed in", alice.get("/@alice/"+pub), http.StatusOK, "for everyone", `rel="alternate" type="application/activity+json"`)
}

// Crawl finding 2: a boost's url (/@bob/<boost id>) and uri
// (/users/bob/statuses/<boost id>/activity since the Announce has an id of
// its own, Mastodon's shape), printed by the client API
// for every boost, answered 404 in a browser. Both now open the boosted
// post's page.
func TestIssue18CrawlFinding2BoostLinksOpenTheBoostedPost(t *testing.T) {
	t.Parallel()
	w := newAppWorld(t)
	id := w.postAs(t, w.aliceA, "boost me")
	if code, body := w.apiCall(t, w.bob, http.MethodPost, "/api/v1/statuses/"+id+"/reblog", nil); code != 200 {
		t.Fatalf("boost: %d %s", code, body)
	}
	code, body := w.apiCall(t, w.bob, http.MethodGet, "/api/v1/accounts/"+strconv.FormatInt(w.bob.ID, 10)+"/statuses", nil)
	var boosts []struct {
		ID, URL, URI string
		Reblog       *struct{ ID string }
	}
	if err := json.Unmarshal([]byte(body), &boosts); err != nil || code != 200 || len(boosts) != 1 || boosts[0].Reblog == nil {
		t.Fatalf("bob's statuses: %d %s", code, body)
	}
	boost := boosts[0]
	if boost.URL != "https://a.example/@bob/"+boost.ID || boost.URI != "https://a.example/users/bob/statuses/"+boost.ID+"/activity" {
		t.Fatalf("the boost's url %q and uri %q", boost.URL, boost.URI)
	}
	b := w.browser(t, "a.example")
	for _, l := range []string{boost.URL, boost.URI} {
		p := b.get(pathOf(t, l))
		if p.code != http.StatusFound || p.header.Get("Location") != "https://a.example/@alice/"+id {
			t.Errorf("%s: %d to %q, want the boosted post", l, p.code, p.header.Get("Location"))
		}
	}
	wantWeb(t, "the boosted post", b.get("/@alice/"+id), http.StatusOK, "boost me")
	// Another account's name on the boost's url is no page.
	wantWeb(t, "a boost under another name", b.get("/@alice/"+boost.ID), http.StatusNotFound)
}

// Crawl finding 3: the about URL the client API's instance prints
// (/about) answered a JSON 404; it is the site's page, also on a site
// whose front page is its one account's profile.
func TestIssue18CrawlFinding3AboutPage(t *testing.T) {
	t.Parallel()
	w := newAppWorld(t)
	code, body := w.apiCall(t, w.aliceA, http.MethodGet, "/api/v2/instance", nil)
	if code != 200 || !strings.Contains(body, `"about":"https://a.example/about"`) {
		t.Fatalf("instance: %d %s", code, body)
	}
	for _, host := range []string{"a.example", "b.example"} {
		wantWeb(t, host+"/about", w.browser(t, host).get("/about"), http.StatusOK, `<link rel="canonical" href="https://`)
	}
}

// pathOf is a URL's path and query.
func pathOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.RequestURI()
}
