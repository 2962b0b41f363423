package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/roost-social/roost/api"
	"github.com/roost-social/roost/api/mastodon"
	"github.com/roost-social/roost/api/public"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/actors"
	"github.com/roost-social/roost/federation/delivery"
	"github.com/roost-social/roost/federation/fetch"
	"github.com/roost-social/roost/federation/inbox"
	"github.com/roost-social/roost/federation/outbox"
	"github.com/roost-social/roost/federation/social/about"
	"github.com/roost-social/roost/federation/social/media"
	mediapg "github.com/roost-social/roost/federation/social/media/postgres"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant/oauth"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

// Issue 18: the public pages of every tenant domain, opened by a visitor
// who is signed in nowhere.

// webWorld is the client API (to post through, as an app would) and the
// public pages, on the two tenants of world.
type webWorld struct {
	*world
	bob    *federation.Account
	tokens map[int64]string
	// pages are the public pages of app; node builds more apps (web
	// nodes) on the same database, each with its own page cache.
	pages *public.Handler
	node  func(cache *public.PageCache) *fiber.App
}

func newWebWorld(t *testing.T, cache ...*public.PageCache) *webWorld {
	t.Helper()
	ctx := context.Background()
	w := &webWorld{world: newWorld(t), tokens: map[int64]string{}}
	store := tenantpg.NewOAuthStore(w.db)
	svc := &oauth.Service{Store: store}
	rdb, prefix := testenv.Redis(t)
	queue := &delivery.Queue{Store: w.accounts, Redis: rdb, Prefix: prefix}
	ob := &outbox.Service{Keys: &actors.Keys{Store: w.accounts, Fetch: fetch.New(fetch.Config{})},
		Follows: w.accounts, Locals: &inbox.SiteLocals{Sites: w.opts.Sites, Accounts: w.accounts, Scheme: "https"},
		Send: queue, Publisher: w.accounts, Dispatch: queue, Mover: w.accounts, Store: w.accounts}
	o := w.opts
	o.Metrics = nil
	m := &mastodon.Handler{Auth: svc, Views: w.accounts, Client: w.accounts, Accounts: w.accounts,
		Outbox: ob, Sites: o.Sites, URL: o.URL, Polls: w.accounts}
	m.UseSocialStore(w.accounts, ob)
	m.Threads, m.InstanceData = w.accounts, w.accounts
	m.About = &about.Service{Store: w.accounts} // the front page's rules and about text
	m.Media = &media.Service{Store: mediapg.New(w.db), Blobs: media.NewLocalStore(t.TempDir())}
	o.Mastodon = m
	o.Statuses = w.accounts
	w.node = func(cache *public.PageCache) *fiber.App {
		o := o
		o.Public = &public.Handler{Accounts: w.accounts, Views: w.accounts, Source: m, URL: o.URL, Log: o.Log, Cache: cache,
			Emojis: w.accounts, Sizes: w.accounts}
		w.pages = o.Public
		return api.New(o)
	}
	w.app = w.node(append(cache, nil)[0])
	var err error
	if w.bob, err = w.accounts.AccountByUsername(ctx, w.tenantA.ID, "a.example", "bob"); err != nil {
		t.Fatal(err)
	}
	for _, a := range []*federation.Account{w.aliceA, w.bob, w.aliceB} {
		w.tokens[a.ID] = mintToken(t, svc, a)
	}
	return w
}

// apiStatus is the part of a Status the tests read.
type apiStatus struct {
	ID, URI string
	URL     string
	Account struct{ URL string }
}

// post publishes through the client API as a.
func (w *webWorld) post(t *testing.T, a *federation.Account, body map[string]any) apiStatus {
	t.Helper()
	b, _ := json.Marshal(body)
	r := w.do(t, http.MethodPost, a.Domain, "/api/v1/statuses", bytes.NewReader(b),
		"Authorization", "Bearer "+w.tokens[a.ID], "Content-Type", "application/json")
	var st apiStatus
	if err := json.Unmarshal([]byte(readAll(t, r.Body)), &st); err != nil || r.StatusCode != 200 || st.ID == "" {
		t.Fatalf("post: %d %v", r.StatusCode, err)
	}
	return st
}

// upload sends a small PNG with alt text as a, returning the media id.
func (w *webWorld) upload(t *testing.T, a *federation.Account, alt string) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	img.Set(1, 1, color.RGBA{255, 0, 0, 255})
	var pic, body bytes.Buffer
	if err := png.Encode(&pic, img); err != nil {
		t.Fatal(err)
	}
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "dot.png")
	fw.Write(pic.Bytes())
	mw.WriteField("description", alt)
	mw.Close()
	r := w.do(t, http.MethodPost, a.Domain, "/api/v1/media", &body,
		"Authorization", "Bearer "+w.tokens[a.ID], "Content-Type", mw.FormDataContentType())
	var m struct{ ID string }
	if err := json.Unmarshal([]byte(readAll(t, r.Body)), &m); err != nil || m.ID == "" {
		t.Fatalf("upload: %d %v", r.StatusCode, err)
	}
	return m.ID
}

// page opens a URL the way a browser does, on the URL's own host.
func (w *webWorld) page(t *testing.T, raw string) (int, string, http.Header) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	r := w.get(t, u.Host, u.RequestURI(), "Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	return r.StatusCode, readAll(t, r.Body), r.Header
}

func wantPage(t *testing.T, what string, code int, body string, h http.Header, wants ...string) {
	t.Helper()
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Fatalf("%s: status %d, type %q:\n%s", what, code, h.Get("Content-Type"), body)
	}
	for _, s := range wants {
		if !strings.Contains(body, s) {
			t.Errorf("%s lacks %q:\n%s", what, s, body)
		}
	}
}

func TestIssue18PostLinkOpensThePostWithItsThread(t *testing.T) {
	t.Parallel()
	w := newWebWorld(t)
	root := w.post(t, w.bob, map[string]any{"status": "the root of the thread",
		"poll": map[string]any{"options": []string{"owls", "larks"}, "expires_in": 3600}})
	pic := w.upload(t, w.aliceA, "a red dot on white")
	st := w.post(t, w.aliceA, map[string]any{"status": "spoiled answer #Roost", "in_reply_to_id": root.ID,
		"spoiler_text": "birds ahead", "media_ids": []string{pic}})
	reply := w.post(t, w.bob, map[string]any{"status": "a public reply", "in_reply_to_id": st.ID})
	w.post(t, w.aliceA, map[string]any{"status": "a followers-only reply", "in_reply_to_id": st.ID, "visibility": "private"})
	w.post(t, w.aliceA, map[string]any{"status": "a direct reply @bob", "in_reply_to_id": st.ID, "visibility": "direct"})
	// Edited, so the page shows the edit marker.
	b, _ := json.Marshal(map[string]any{"status": "a public reply, edited"})
	if r := w.do(t, http.MethodPut, "a.example", "/api/v1/statuses/"+reply.ID, bytes.NewReader(b),
		"Authorization", "Bearer "+w.tokens[w.bob.ID], "Content-Type", "application/json"); r.StatusCode != 200 {
		t.Fatalf("edit: %d", r.StatusCode)
	}
	if st.URL != "https://a.example/@alice/"+st.ID {
		t.Fatalf("Status.url %q", st.URL)
	}
	for _, link := range []string{st.URL, st.URI} { // the url apps print, and the ActivityPub id
		code, body, h := w.page(t, link)
		wantPage(t, link, code, body, h, "spoiled answer", "the root of the thread", "a public reply, edited",
			`<details class="cw"><summary>birds ahead</summary>`, `alt="a red dot on white"`, "owls", "larks",
			`class="edited"`, `href="https://a.example/tags/roost"`,
			`<link rel="alternate" type="application/activity+json" href="`+st.URI+`">`,
			`<link rel="alternate" type="application/rss+xml" href="https://a.example/@alice.rss">`,
			`type="application/json+oembed"`, `property="og:title"`, `name="twitter:card"`)
		for _, hidden := range []string{"followers-only reply", "direct reply"} {
			if strings.Contains(body, hidden) {
				t.Errorf("%s shows the %s to a visitor", link, hidden)
			}
		}
		if !strings.Contains(h.Get("Vary"), "Accept") {
			t.Errorf("%s: no Vary: Accept", link)
		}
	}
	// ActivityPub clients still get the Note at its id.
	r := w.get(t, "a.example", strings.TrimPrefix(st.URI, "https://a.example"), "Accept", "application/activity+json")
	if m := decode(t, r, 200); m["type"] != "Note" {
		t.Errorf("AP id answered %v", m)
	}
	// The page URL sends them to the id.
	r = w.get(t, "a.example", "/@alice/"+st.ID, "Accept", "application/activity+json")
	if r.StatusCode != http.StatusFound || r.Header.Get("Location") != st.URI {
		t.Errorf("AP Accept at the page: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	// Account.url opens the profile.
	code, body, h := w.page(t, st.Account.URL)
	wantPage(t, "Account.url", code, body, h, "alice of a.example", "@alice@a.example", `href="https://a.example/users/alice"`)
}

// requestID drops the request id an error page quotes, so two answers
// compare.
var requestID = regexp.MustCompile(`<code>[^<]*</code>`)

func TestIssue18HiddenPostsAnswerAsMissing(t *testing.T) {
	t.Parallel()
	w := newWebWorld(t)
	private := w.post(t, w.aliceA, map[string]any{"status": "for followers", "visibility": "private"})
	direct := w.post(t, w.aliceA, map[string]any{"status": "secret @bob", "visibility": "direct"})
	bobs := w.post(t, w.bob, map[string]any{"status": "bob's public post"})
	other := w.post(t, w.aliceB, map[string]any{"status": "tenant B's public post"})
	otherPrivate := w.post(t, w.aliceB, map[string]any{"status": "tenant B's private post", "visibility": "private"})
	id, _ := strconv.ParseInt(other.ID, 10, 64)
	missing := map[string]string{}
	for _, host := range []string{"a.example", "b.example"} {
		_, body, _ := w.page(t, "https://"+host+"/@alice/"+strconv.FormatInt(id+1000, 10))
		missing[host] = requestID.ReplaceAllString(body, "")
	}
	for _, link := range []string{private.URL, direct.URL, private.URI, direct.URI,
		"https://a.example/@alice/" + bobs.ID,         // another account's post under alice's name
		"https://a.example/@alice/" + other.ID,        // tenant B's post on tenant A's domain
		"https://a.example/@alice/" + otherPrivate.ID, // and its followers-only one
		"https://b.example/@alice/" + private.ID,      // tenant A's post on tenant B's domain
		"https://a.example/@nobody/" + private.ID, "https://a.example/@alice/12abc"} {
		code, body, h := w.page(t, link)
		want := missing[strings.Split(strings.TrimPrefix(link, "https://"), "/")[0]]
		if code != 404 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
			t.Errorf("%s: %d %q", link, code, h.Get("Content-Type"))
		}
		if body = requestID.ReplaceAllString(body, ""); body != want {
			t.Errorf("%s answers unlike a missing post:\n%s\nwant\n%s", link, body, want)
		}
		if strings.Contains(body, "secret") || strings.Contains(body, "for followers") {
			t.Errorf("%s leaks the post", link)
		}
	}
	// The followers-only post stays out of the profile and the feed, too.
	for _, link := range []string{"https://a.example/@alice", "https://a.example/@alice/with_replies", "https://a.example/"} {
		code, body, h := w.page(t, link)
		wantPage(t, link, code, body, h)
		if strings.Contains(body, "for followers") || strings.Contains(body, "secret") {
			t.Errorf("%s shows a hidden post", link)
		}
	}
}

func TestIssue18ProfilePinnedPagedTabs(t *testing.T) {
	t.Parallel()
	w := newWebWorld(t)
	first := w.post(t, w.aliceA, map[string]any{"status": "the pinned one"})
	w.post(t, w.aliceA, map[string]any{"status": "quietly unlisted", "visibility": "unlisted"})
	pic := w.upload(t, w.aliceA, "dot")
	w.post(t, w.aliceA, map[string]any{"status": "with a picture", "media_ids": []string{pic}})
	for i := range public.PageSize {
		w.post(t, w.aliceA, map[string]any{"status": "filler " + strconv.Itoa(i)})
	}
	bobs := w.post(t, w.bob, map[string]any{"status": "bob says"})
	w.post(t, w.aliceA, map[string]any{"status": "a reply to bob", "in_reply_to_id": bobs.ID})
	if r := w.do(t, http.MethodPost, "a.example", "/api/v1/statuses/"+first.ID+"/pin", nil,
		"Authorization", "Bearer "+w.tokens[w.aliceA.ID]); r.StatusCode != 200 {
		t.Fatalf("pin: %d", r.StatusCode)
	}
	fields := []federation.Field{{Name: "Site", Value: "https://alice.example/"}, {Name: "Other", Value: "https://other.example/"}}
	if err := w.accounts.UpdateProfile(context.Background(), w.aliceA.ID, federation.ProfileUpdate{Fields: &fields}); err != nil {
		t.Fatal(err)
	}
	if ok, err := w.accounts.MarkFieldVerified(context.Background(), w.aliceA.ID, "https://alice.example/", time.Now()); err != nil || !ok {
		t.Fatalf("verify: %v %v", ok, err)
	}
	code, body, h := w.page(t, "https://a.example/@alice")
	if n := strings.Count(body, "✓ verified"); n != 1 {
		t.Errorf("%d fields marked verified, want 1", n)
	}
	wantPage(t, "profile", code, body, h, `class="verified"`, `rel="nofollow noopener noreferrer me"`, "Pinned", "the pinned one", "filler 19", `rel="next"`, "?max_id=",
		`<link rel="alternate" type="application/rss+xml" href="https://a.example/@alice.rss">`)
	if strings.Contains(body, "a reply to bob") {
		t.Error("the posts tab shows replies")
	}
	next := regexp.MustCompile(`href="([^"]*max_id=\d+)"`).FindStringSubmatch(body)
	if next == nil {
		t.Fatal("no next link")
	}
	code, body, h = w.page(t, "https://a.example"+strings.ReplaceAll(next[1], "&amp;", "&"))
	wantPage(t, "page 2", code, body, h, "quietly unlisted", "with a picture")
	if strings.Contains(body, "filler 19") || strings.Contains(body, "Pinned") {
		t.Error("page 2 repeats page 1 or the pinned posts")
	}
	code, body, h = w.page(t, "https://a.example/@alice/with_replies")
	wantPage(t, "with_replies", code, body, h, "a reply to bob")
	code, body, h = w.page(t, "https://a.example/@alice/media")
	wantPage(t, "media", code, body, h, "with a picture", `alt="dot"`)
	if strings.Contains(body, "filler") {
		t.Error("the media tab shows posts without media")
	}
	// A featured hashtag's url (the profile's posts with it).
	w.post(t, w.aliceA, map[string]any{"status": "about #birds"})
	code, body, h = w.page(t, "https://a.example/@alice/tagged/birds")
	wantPage(t, "tagged", code, body, h, "about ", `href="https://a.example/tags/birds"`, `aria-current="page">#birds`)
	if strings.Contains(body, "filler") {
		t.Error("the tagged tab shows posts without the hashtag")
	}
	// /users/alice opened by a browser shows the same profile.
	code, body, h = w.page(t, "https://a.example/users/alice")
	wantPage(t, "/users/alice", code, body, h, "the pinned one")
	// Another tenant's account is no profile here.
	if code, _, _ := w.page(t, "https://b.example/@bob"); code != 404 {
		t.Errorf("tenant A's bob on tenant B's domain: %d", code)
	}
}

func TestIssue18FrontPageAndHashtag(t *testing.T) {
	t.Parallel()
	w := newWebWorld(t)
	w.post(t, w.aliceB, map[string]any{"status": "tenant B has one account"})
	w.post(t, w.aliceA, map[string]any{"status": "hello #Roost world"})
	w.post(t, w.aliceA, map[string]any{"status": "quiet #roost", "visibility": "private"})
	w.post(t, w.aliceB, map[string]any{"status": "other tenant #roost"})
	// Tenant B has one account: its front page is that profile.
	code, body, h := w.page(t, "https://b.example/")
	wantPage(t, "one-account front", code, body, h, "alice of b.example", "tenant B has one account")
	// Tenant A has two: the site's page, with its rules and about text.
	ctx := context.Background()
	ab := &about.Service{Store: w.accounts}
	if _, err := ab.SaveRule(ctx, w.tenantA.ID, about.RuleDraft{Text: "Be kind to birds", Hint: "all of them"}); err != nil {
		t.Fatal(err)
	}
	if err := ab.SaveSettings(ctx, w.tenantA.ID, federation.ServerSettings{About: "A roost for <b>birders</b>.",
		DomainBlocks: federation.ShowNobody, DomainBlocksRationale: federation.ShowNobody}); err != nil {
		t.Fatal(err)
	}
	code, body, h = w.page(t, "https://a.example/")
	wantPage(t, "front", code, body, h, "Tenant A", "Rules", "Be kind to birds", "all of them",
		"A roost for &lt;b&gt;birders&lt;/b&gt;.", "a.example</code> as your server")
	if code, body, _ := w.page(t, "https://b.example/"); code != 200 || strings.Contains(body, "Be kind to birds") {
		t.Errorf("tenant B's front page shows tenant A's rules")
	}
	code, body, h = w.page(t, "https://a.example/tags/roost")
	wantPage(t, "tag", code, body, h, "#roost", "hello", `type="application/rss+xml" href="https://a.example/tags/roost.rss"`)
	if strings.Contains(body, "quiet") || strings.Contains(body, "other tenant") {
		t.Errorf("tag page shows a followers-only post or one its tenant does not know:\n%s", body)
	}
	if code, _, _ := w.page(t, "https://a.example/tags/no%20such"); code != 404 {
		t.Errorf("invalid hashtag: %d", code)
	}
}

// rssDoc is what the tests read of an RSS 2.0 document.
type rssDoc struct {
	XMLName xml.Name `xml:"rss"`
	Version string   `xml:"version,attr"`
	Channel struct {
		Title string `xml:"title"`
		Link  string `xml:"link"`
		Items []struct {
			Link        string `xml:"link"`
			PubDate     string `xml:"pubDate"`
			Description string `xml:"description"`
			GUID        string `xml:"guid"`
			Enclosure   []struct {
				URL  string `xml:"url,attr"`
				Type string `xml:"type,attr"`
			} `xml:"enclosure"`
		} `xml:"item"`
	} `xml:"channel"`
}

func TestIssue18RSSFeeds(t *testing.T) {
	t.Parallel()
	w := newWebWorld(t)
	pic := w.upload(t, w.aliceA, "dot")
	st := w.post(t, w.aliceA, map[string]any{"status": "feed me <b>&</b> #roost", "media_ids": []string{pic}})
	w.post(t, w.aliceA, map[string]any{"status": "not in the feed", "visibility": "private"})
	for _, path := range []string{"/@alice.rss", "/tags/roost.rss"} {
		r := w.get(t, "a.example", path)
		body := readAll(t, r.Body)
		if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/rss+xml") {
			t.Fatalf("%s: %d %q", path, r.StatusCode, r.Header.Get("Content-Type"))
		}
		var doc rssDoc
		if err := xml.Unmarshal([]byte(body), &doc); err != nil {
			t.Fatalf("%s is not XML: %v\n%s", path, err, body)
		}
		if doc.Version != "2.0" || doc.Channel.Title == "" || !strings.HasPrefix(doc.Channel.Link, "https://a.example/") {
			t.Errorf("%s channel: %+v", path, doc)
		}
		if len(doc.Channel.Items) != 1 {
			t.Fatalf("%s: %d items, want 1:\n%s", path, len(doc.Channel.Items), body)
		}
		it := doc.Channel.Items[0]
		if it.Link != st.URL || it.PubDate == "" || !strings.Contains(it.Description, "feed me") {
			t.Errorf("%s item: %+v", path, it)
		}
		if len(it.Enclosure) != 1 || !strings.HasPrefix(it.Enclosure[0].URL, "https://a.example/media/") ||
			!strings.HasPrefix(it.Enclosure[0].Type, "image/") {
			t.Errorf("%s enclosure: %+v", path, it.Enclosure)
		}
	}
	if r := w.get(t, "b.example", "/@bob.rss"); r.StatusCode != 404 {
		t.Errorf("another tenant's feed: %d", r.StatusCode)
	}
}

func TestIssue18OEmbed(t *testing.T) {
	t.Parallel()
	w := newWebWorld(t)
	st := w.post(t, w.aliceA, map[string]any{"status": "embed me"})
	private := w.post(t, w.aliceA, map[string]any{"status": "not me", "visibility": "private"})
	for _, u := range []string{st.URL, st.URI} {
		m := decode(t, w.get(t, "a.example", "/api/oembed?url="+url.QueryEscape(u)), 200)
		for k, want := range map[string]any{"type": "rich", "version": "1.0", "author_name": "alice of a.example",
			"author_url": "https://a.example/@alice", "provider_name": "a.example", "provider_url": "https://a.example/",
			"cache_age": float64(86400), "width": float64(400), "height": nil} {
			if m[k] != want {
				t.Errorf("%s: %s = %v, want %v", u, k, m[k], want)
			}
		}
		if h, _ := m["html"].(string); !strings.Contains(h, "<blockquote") || !strings.Contains(h, "embed me") ||
			!strings.Contains(h, st.URL) {
			t.Errorf("html %q", m["html"])
		}
		if m["title"] == "" {
			t.Error("no title")
		}
	}
	for _, u := range []string{private.URL, "https://b.example/@alice/" + st.ID, "https://evil.example/@alice/" + st.ID, "nonsense"} {
		if r := w.get(t, "a.example", "/api/oembed?url="+url.QueryEscape(u)); r.StatusCode != 404 {
			t.Errorf("%s: %d", u, r.StatusCode)
		}
	}
}

func TestIssue18PagePolicyAllowsOnlyOwnMedia(t *testing.T) {
	t.Parallel()
	w := newWebWorld(t)
	w.post(t, w.aliceB, map[string]any{"status": "hi"})
	for _, link := range []string{"https://a.example/@alice", "https://a.example/", "https://b.example/@alice",
		"https://a.example/tags/x", "https://a.example/@alice/1"} {
		_, _, h := w.page(t, link)
		csp := h.Get("Content-Security-Policy")
		host := strings.Split(strings.TrimPrefix(link, "https://"), "/")[0]
		for _, want := range []string{"default-src 'none'", "img-src 'self' https://" + host, "frame-ancestors 'none'", "style-src 'sha256-"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", link, csp, want)
			}
		}
		// Only form-action may name every https origin: the remote
		// interaction form is answered with a redirect to the visitor's
		// own server, which browsers check against form-action.
		loads := regexp.MustCompile(`form-action [^;]*`).ReplaceAllString(csp, "")
		if strings.Contains(loads, "https:;") || strings.Contains(loads, "https: ") || strings.Contains(csp, "unsafe-inline") ||
			strings.Contains(csp, "script-src") {
			t.Errorf("%s: CSP %q too wide", link, csp)
		}
		if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", link, h)
		}
	}
	// Tenant B's actors live on its service domain, where its media are.
	_, _, h := w.page(t, "https://b.example/@alice")
	if !strings.Contains(h.Get("Content-Security-Policy"), "https://social.b.example") {
		t.Errorf("b.example's CSP lacks its actor host: %q", h.Get("Content-Security-Policy"))
	}
}
