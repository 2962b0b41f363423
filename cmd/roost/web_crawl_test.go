package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mattn/go-mastodon"
	"golang.org/x/net/html"
)

// The crawl of issue 18's "every link on those pages works": from every
// URL the client API prints for a seeded tenant and from the site's
// front page, every same-origin link, image, stylesheet, script, feed,
// ActivityPub alternate and GET form of every page is followed, signed
// out and signed in to the web app, and must answer 2xx/3xx with the
// content type its context promises. The pages it reads are kept for the
// accessibility and layout checks (web_a11y_test.go).

// crawlKind is what a link's context promises it answers.
type crawlKind string

const (
	kindPage   crawlKind = "page"   // an HTML page (<a href>, a post's url)
	kindImage  crawlKind = "image"  // <img src>, an avatar, a media preview
	kindMedia  crawlKind = "media"  // a media attachment's url: image, video or audio
	kindFeed   crawlKind = "feed"   // RSS
	kindAP     crawlKind = "ap"     // ActivityPub with Accept
	kindStyle  crawlKind = "style"  // <link rel=stylesheet>
	kindScript crawlKind = "script" // <script src>
	kindJSON   crawlKind = "json"   // oEmbed, <link type=application/json+oembed>
	kindAny    crawlKind = "any"    // a link whose target is not promised (a download)
)

// accept is the Accept header a browser (or a fediverse server) sends
// for a kind.
func (k crawlKind) accept() string {
	switch k {
	case kindAP:
		return `application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"`
	case kindImage:
		return "image/avif,image/webp,image/png,image/*,*/*;q=0.8"
	case kindFeed:
		return "application/rss+xml, application/xml;q=0.9, */*;q=0.8"
	case kindJSON:
		return "application/json"
	default:
		return "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	}
}

// wants reports whether a Content-Type answers the kind.
func (k crawlKind) wants(ct string) bool {
	mt, _, _ := mime.ParseMediaType(ct)
	switch k {
	case kindPage:
		return mt == "text/html"
	case kindImage:
		return strings.HasPrefix(mt, "image/")
	case kindMedia:
		return strings.HasPrefix(mt, "image/") || strings.HasPrefix(mt, "video/") || strings.HasPrefix(mt, "audio/")
	case kindFeed:
		return mt == "application/rss+xml"
	case kindAP:
		return mt == "application/activity+json" || mt == "application/ld+json"
	case kindStyle:
		return mt == "text/css"
	case kindScript:
		return mt == "text/javascript" || mt == "application/javascript"
	case kindJSON:
		return mt == "application/json"
	}
	return mt != ""
}

// crawlLink is a URL to check and where it was found.
type crawlLink struct {
	URL  string
	Kind crawlKind
	From string
}

// crawledPage is an HTML page the crawl read.
type crawledPage struct {
	URL  string
	Body []byte
}

// crawler follows same-origin links breadth first, each URL and kind
// once, up to max fetches.
type crawler struct {
	t       *testing.T
	hc      http.Client
	origins []string // same-origin prefixes: "http://a.test"
	skip    func(u *url.URL) bool
	// skipKind leaves out a URL fetched as one kind.
	skipKind func(u *url.URL, k crawlKind) bool
	max      int

	seen     map[string]bool
	queue    []crawlLink
	pages    []crawledPage
	fetched  int
	problems []string
}

func newCrawler(t *testing.T, hc http.Client, origins ...string) *crawler {
	return &crawler{t: t, hc: hc, origins: origins, max: 800, seen: map[string]bool{}}
}

// add queues a link when it is of this site and not seen.
func (c *crawler) add(raw string, kind crawlKind, from string) {
	u, err := url.Parse(raw)
	if err != nil {
		c.problems = append(c.problems, fmt.Sprintf("unparseable link %q on %s", raw, from))
		return
	}
	if from != "" {
		base, _ := url.Parse(from)
		u = base.ResolveReference(u)
	}
	u.Fragment = ""
	if u.Scheme != "http" && u.Scheme != "https" {
		return // mailto:, data:, javascript: none of ours to fetch
	}
	if !c.ours(u.String()) || (c.skip != nil && c.skip(u)) || (c.skipKind != nil && c.skipKind(u, kind)) {
		return
	}
	key := string(kind) + " " + u.String()
	if c.seen[key] {
		return
	}
	c.seen[key] = true
	c.queue = append(c.queue, crawlLink{URL: u.String(), Kind: kind, From: from})
}

func (c *crawler) ours(u string) bool {
	for _, o := range c.origins {
		if u == o || strings.HasPrefix(u, o+"/") || strings.HasPrefix(u, o+"?") {
			return true
		}
	}
	return false
}

// run fetches until the queue is empty.
func (c *crawler) run() {
	for len(c.queue) > 0 {
		l := c.queue[0]
		c.queue = c.queue[1:]
		if c.fetched >= c.max {
			c.t.Fatalf("the crawl passed %d fetches: a link loop? next %s from %s", c.max, l.URL, l.From)
		}
		c.fetched++
		c.fetch(l)
	}
}

func (c *crawler) fetch(l crawlLink) {
	req, err := http.NewRequest("GET", l.URL, nil)
	if err != nil {
		c.problems = append(c.problems, fmt.Sprintf("%s (on %s): %v", l.URL, l.From, err))
		return
	}
	req.Header.Set("Accept", l.Kind.accept())
	resp, err := c.hc.Do(req)
	if err != nil {
		c.problems = append(c.problems, fmt.Sprintf("GET %s (on %s): %v", l.URL, l.From, err))
		return
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	resp.Body.Close()
	ct := resp.Header.Get("Content-Type")
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		loc := resp.Header.Get("Location")
		if loc == "" {
			c.problems = append(c.problems, fmt.Sprintf("%s %s (on %s): %d without Location", l.Kind, l.URL, l.From, resp.StatusCode))
			return
		}
		c.add(loc, l.Kind, l.URL)
		return
	case resp.StatusCode < 200 || resp.StatusCode >= 300:
		c.problems = append(c.problems, fmt.Sprintf("%s %s (on %s): %d %s", l.Kind, l.URL, l.From, resp.StatusCode, snippet(body)))
		return
	case !l.Kind.wants(ct):
		c.problems = append(c.problems, fmt.Sprintf("%s %s (on %s): Content-Type %q", l.Kind, l.URL, l.From, ct))
		return
	}
	switch mt, _, _ := mime.ParseMediaType(ct); {
	case mt == "text/html":
		c.pages = append(c.pages, crawledPage{URL: l.URL, Body: body})
		c.links(l.URL, body)
	case l.Kind == kindFeed:
		c.feedLinks(l.URL, body)
	case l.Kind == kindAP:
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			c.problems = append(c.problems, fmt.Sprintf("%s (on %s): %v", l.URL, l.From, err))
			return
		}
		c.apURLs(v, "", l.URL)
	}
}

// feedLinks queues an RSS feed's item links as pages and its enclosures
// as media.
func (c *crawler) feedLinks(from string, body []byte) {
	var feed struct {
		Channel struct {
			Link  string `xml:"link"`
			Image struct {
				URL string `xml:"url"`
			} `xml:"image"`
			Items []struct {
				Link      string `xml:"link"`
				GUID      string `xml:"guid"`
				Enclosure []struct {
					URL string `xml:"url,attr"`
				} `xml:"enclosure"`
			} `xml:"item"`
		} `xml:"channel"`
	}
	if err := xml.Unmarshal(body, &feed); err != nil {
		c.problems = append(c.problems, fmt.Sprintf("feed %s: %v", from, err))
		return
	}
	c.add(feed.Channel.Link, kindPage, from)
	if u := feed.Channel.Image.URL; u != "" {
		c.add(u, kindImage, from)
	}
	for _, it := range feed.Channel.Items {
		c.add(it.Link, kindPage, from)
		for _, e := range it.Enclosure {
			c.add(e.URL, kindMedia, from)
		}
	}
}

// apURLs queues what an ActivityPub document links: its collections as
// ActivityPub, its `url`s (a Note's page, an icon's file) as pages or
// media.
func (c *crawler) apURLs(v any, field, from string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			c.apURLs(e, k, from)
		}
	case []any:
		for _, e := range x {
			c.apURLs(e, field, from)
		}
	case string:
		if !strings.HasPrefix(x, "http") {
			return
		}
		switch field {
		case "outbox", "followers", "following", "featured", "featuredTags", "first", "replies", "attributedTo", "inReplyTo":
			c.add(x, kindAP, from)
		case "url", "href":
			c.add(x, linkKind(x), from)
		}
	}
}

// snippet is the start of an error body, for the report.
func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

// links queues every link of an HTML page, each with what its context
// promises.
func (c *crawler) links(from string, body []byte) {
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		c.problems = append(c.problems, fmt.Sprintf("%s: %v", from, err))
		return
	}
	walkHTML(doc, func(n *html.Node) {
		a := attrs(n)
		switch n.Data {
		case "a", "area":
			if h, ok := a["href"]; ok {
				c.add(h, linkKind(h), from)
			}
		case "link":
			c.addLinkTag(a, from)
		case "img":
			c.add(a["src"], kindImage, from)
			for _, s := range strings.Split(a["srcset"], ",") {
				if f := strings.Fields(s); len(f) > 0 {
					c.add(f[0], kindImage, from)
				}
			}
		case "video", "audio", "source":
			if s := a["src"]; s != "" {
				c.add(s, kindMedia, from)
			}
			if p := a["poster"]; p != "" {
				c.add(p, kindImage, from)
			}
		case "script":
			if s := a["src"]; s != "" {
				c.add(s, kindScript, from)
			}
		case "form":
			if u, ok := getForm(n, from); ok {
				c.add(u, kindPage, from)
			}
		}
	})
}

// addLinkTag queues a <link>: its rel and type say what it answers.
func (c *crawler) addLinkTag(a map[string]string, from string) {
	h := a["href"]
	if h == "" {
		return
	}
	rel, typ := " "+strings.ToLower(a["rel"])+" ", strings.ToLower(a["type"])
	switch {
	case strings.Contains(rel, " stylesheet "):
		c.add(h, kindStyle, from)
	case strings.Contains(rel, " icon ") || strings.Contains(rel, " apple-touch-icon "):
		c.add(h, kindImage, from)
	case strings.Contains(typ, "activity+json") || strings.Contains(typ, "ld+json"):
		c.add(h, kindAP, from)
	case strings.Contains(typ, "rss"):
		c.add(h, kindFeed, from)
	case strings.Contains(typ, "json"):
		c.add(h, kindJSON, from)
	case strings.Contains(rel, " canonical ") || strings.Contains(rel, " alternate "):
		c.add(h, kindPage, from)
	default:
		c.add(h, kindAny, from)
	}
}

// linkKind is what an <a href> promises by its path: feeds end in .rss,
// uploads live under the media path; everything else is a page.
func linkKind(h string) crawlKind {
	u, err := url.Parse(h)
	if err != nil {
		return kindPage
	}
	switch {
	case strings.HasSuffix(u.Path, ".rss"):
		return kindFeed
	case strings.HasPrefix(u.Path, "/media/") || strings.HasPrefix(u.Path, "/system/") || imageFile.MatchString(u.Path):
		return kindMedia
	}
	return kindPage
}

// imageFile matches a path naming an image file (the default avatar).
var imageFile = regexp.MustCompile(`(?i)\.(png|jpe?g|gif|webp|avif)$`)

// getForm is a GET form's URL as a browser submits it untouched (its
// fields' own values), unless a required field is empty: that form is
// only ever sent filled in.
func getForm(n *html.Node, from string) (string, bool) {
	a := attrs(n)
	if m := strings.ToLower(a["method"]); m != "" && m != "get" {
		return "", false
	}
	q := url.Values{}
	ok := true
	walkHTML(n, func(f *html.Node) {
		fa := attrs(f)
		name := fa["name"]
		switch f.Data {
		case "input", "textarea", "select":
			if _, req := fa["required"]; req && fa["value"] == "" {
				ok = false
			}
			typ := strings.ToLower(fa["type"])
			if name == "" || typ == "submit" || typ == "button" || ((typ == "checkbox" || typ == "radio") && !hasAttr(f, "checked")) {
				return
			}
			q.Add(name, fa["value"])
		}
	})
	if !ok {
		return "", false
	}
	action := a["action"]
	if action == "" {
		action = from
	}
	u, err := url.Parse(action)
	if err != nil {
		return "", false
	}
	u.RawQuery = q.Encode()
	return u.String(), true
}

func hasAttr(n *html.Node, k string) bool {
	_, ok := attrs(n)[k]
	return ok
}

// attrs is an element's attributes by name.
func attrs(n *html.Node) map[string]string {
	m := map[string]string{}
	for _, a := range n.Attr {
		m[a.Key] = a.Val
	}
	return m
}

// walkHTML calls fn for every element under n (n included).
func walkHTML(n *html.Node, fn func(*html.Node)) {
	if n.Type == html.ElementNode {
		fn(n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walkHTML(c, fn)
	}
}

// apiURLs walks a client API answer and queues every absolute URL in it:
// avatars, headers, media and previews as images or media, an object's
// `uri` as ActivityPub, every other `url` (posts, accounts, tags) as a
// page; the field name says which.
func (c *crawler) apiURLs(v any, field, from string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			c.apiURLs(e, k, from)
		}
	case []any:
		for _, e := range x {
			c.apiURLs(e, field, from)
		}
	case string:
		if !strings.HasPrefix(x, "http://") && !strings.HasPrefix(x, "https://") {
			return
		}
		switch field {
		case "avatar", "avatar_static", "header", "header_static", "preview_url", "static_url", "image", "thumbnail", "icon":
			c.add(x, kindImage, from)
		case "uri":
			c.add(x, kindAP, from)
			c.add(x, kindPage, from) // a post's id opened by a browser
		case "url":
			c.add(x, linkKind(x), from)
		default:
			c.add(x, kindAny, from)
		}
	}
}

// harvest calls the client API's GET paths as client and queues every
// URL their answers print.
func (c *crawler) harvest(t *testing.T, client *mastodon.Client, paths ...string) {
	t.Helper()
	for _, p := range paths {
		code, body := rawAPI(t, client, "GET", p)
		if code != 200 {
			t.Fatalf("GET %s: %d %s", p, code, body)
		}
		var v any
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatalf("GET %s: %v", p, err)
		}
		c.apiURLs(v, "", "the client API's "+p)
	}
}

// report fails the test with every problem found, sorted.
func (c *crawler) report(what string) {
	c.t.Helper()
	sort.Strings(c.problems)
	for _, p := range c.problems {
		c.t.Errorf("%s: %s", what, p)
	}
	c.t.Logf("%s: %d fetches, %d HTML pages, %d problems", what, c.fetched, len(c.pages), len(c.problems))
}

// webSession signs in to the web app of base through its form and
// returns a client holding the session cookie.
func webSession(t *testing.T, addr, base, email string) http.Client {
	t.Helper()
	hc := hostClient(addr)
	jar, _ := cookiejar.New(nil)
	hc.Jar = jar
	resp, err := hc.Get(base + "/auth/sign_in")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	_, fields := formOf(t, string(page))
	fields.Set("email", email)
	fields.Set("password", testPassword)
	resp, err = hc.PostForm(base+"/auth/sign_in", fields)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("web sign-in as %s: %d", email, resp.StatusCode)
	}
	return hc
}

// pngOf is a w×h PNG of a gradient.
func pngOf(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		for y := range h {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 180, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// crawlWorld is a node with one tenant seeded with everything a page can
// show: avatars and headers, a bio with a verified link field, posts with
// an image, hashtags, a poll, a content warning, a link with a preview
// card, a thread, a boost, a pinned post, a followers-only post; and a
// second tenant that must never be linked.
type crawlWorld struct {
	node         *node
	addr         string
	alice, bob   *mastodon.Client
	aliceID      mastodon.ID
	private      *mastodon.Status
	statuses     []*mastodon.Status
	linkSiteAddr string
}

func seedCrawlWorld(t *testing.T) *crawlWorld {
	t.Helper()
	ctx := context.Background()
	art := pngOf(t, 200, 120)
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/art.png" {
			w.Header().Set("Content-Type", "image/png")
			w.Write(art)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><html><head><title>Roosting birds</title>
<meta property="og:title" content="How birds roost"><meta property="og:description" content="A field guide.">
<meta property="og:image" content="http://links.test/art.png"></head>
<body><a rel="me" href="http://a.test/@alice">me</a></body></html>`)
	}))
	t.Cleanup(site.Close)
	w := &crawlWorld{addr: freeAddr(t), linkSiteAddr: site.Listener.Addr().String()}
	w.node = startNode(t, "crawl", w.addr, "links.test="+w.linkSiteAddr)
	n := w.node
	n.run(t, "tenant", "create", "--name", "A", "--domain", "a.test")
	n.run(t, "tenant", "create", "--name", "B", "--domain", "b.test")
	for _, a := range [][2]string{{"a.test", "alice"}, {"a.test", "bob"}, {"b.test", "carol"}} {
		n.run(t, "account", "create", "--domain", a[0], "--username", a[1], "--email", a[1]+"@"+a[0], "--password", testPassword)
	}
	n.start(t, "serve")
	n.start(t, "work")
	waitHTTP(t, "http://"+w.addr+"/users/alice", "a.test", 200)
	w.alice = signIn(t, w.addr, "http://a.test", "alice@a.test", "read write follow")
	w.bob = signIn(t, w.addr, "http://a.test", "bob@a.test", "read write follow")
	me, err := w.alice.GetAccountCurrentUser(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w.aliceID = me.ID
	avatar := "data:image/png;base64," + base64.StdEncoding.EncodeToString(pngOf(t, 96, 96))
	header := "data:image/png;base64," + base64.StdEncoding.EncodeToString(pngOf(t, 600, 200))
	if _, err := w.alice.AccountUpdate(ctx, &mastodon.Profile{DisplayName: ptr("Alice"), Note: ptr("Birds and #roosting, mostly."),
		Avatar: avatar, Header: header, Fields: &[]mastodon.Field{{Name: "Site", Value: "http://links.test/"}}}); err != nil {
		t.Fatalf("profile: %v", err)
	}
	bobMe, err := w.bob.GetAccountCurrentUser(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.bob.AccountFollow(ctx, me.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.alice.AccountFollow(ctx, bobMe.ID); err != nil {
		t.Fatal(err)
	}
	att, err := w.alice.UploadMediaFromMedia(ctx, &mastodon.Media{File: bytes.NewReader(pngOf(t, 320, 180)), Description: "a gradient at dusk"})
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	post := func(c *mastodon.Client, toot *mastodon.Toot) *mastodon.Status {
		t.Helper()
		st, err := c.PostStatus(ctx, toot)
		if err != nil {
			t.Fatalf("post %q: %v", toot.Status, err)
		}
		w.statuses = append(w.statuses, st)
		return st
	}
	pic := post(w.alice, &mastodon.Toot{Status: "Dusk over the roost #RoostWeb", MediaIDs: []mastodon.ID{att.ID}})
	post(w.alice, &mastodon.Toot{Status: "Owls or larks? #birds", Poll: &mastodon.TootPoll{Options: []string{"owls", "larks"}, ExpiresInSeconds: 3600}})
	post(w.alice, &mastodon.Toot{Status: "The spoiler is birds", SpoilerText: "a surprise"})
	carded := post(w.alice, &mastodon.Toot{Status: "Read this: http://links.test/guide"})
	post(w.alice, &mastodon.Toot{Status: "Quietly, unlisted", Visibility: "unlisted"})
	w.private = post(w.alice, &mastodon.Toot{Status: "Only for my followers", Visibility: "private"})
	post(w.bob, &mastodon.Toot{Status: "@alice lovely light", InReplyToID: pic.ID})
	if _, err := w.bob.Reblog(ctx, pic.ID); err != nil {
		t.Fatal(err)
	}
	if code, body := rawAPI(t, w.alice, "POST", "/api/v1/statuses/"+string(pic.ID)+"/pin"); code != 200 {
		t.Fatalf("pin: %d %s", code, body)
	}
	if _, err := w.bob.Favourite(ctx, pic.ID); err != nil {
		t.Fatal(err)
	}
	// The preview card and the verified link are fetched in the
	// background: wait until the API shows both.
	waitUntil(t, "the link's preview card", func() bool {
		st, err := w.alice.GetStatus(ctx, carded.ID)
		return err == nil && st.Card != nil && st.Card.Image != ""
	})
	waitUntil(t, "the verified link field", func() bool {
		a, err := w.alice.GetAccountCurrentUser(ctx)
		return err == nil && len(a.Fields) == 1 && !a.Fields[0].VerifiedAt.IsZero()
	})
	return w
}

// apiPaths are the client API reads whose URLs the crawl starts from.
func (w *crawlWorld) apiPaths() []string {
	id := string(w.aliceID)
	out := []string{"/api/v1/accounts/verify_credentials", "/api/v1/accounts/" + id, "/api/v1/accounts/" + id + "/statuses",
		"/api/v1/accounts/" + id + "/statuses?pinned=true", "/api/v1/accounts/" + id + "/followers", "/api/v1/accounts/" + id + "/following",
		"/api/v1/timelines/home", "/api/v1/timelines/public?local=true", "/api/v1/timelines/tag/roostweb", "/api/v1/notifications",
		"/api/v2/search?q=birds", "/api/v1/instance", "/api/v2/instance", "/api/v1/directory", "/api/v1/custom_emojis",
		"/api/v1/bookmarks", "/api/v1/favourites", "/api/v1/trends/tags", "/api/v1/trends/statuses", "/api/v1/trends/links"}
	for _, s := range w.statuses {
		out = append(out, "/api/v1/statuses/"+string(s.ID), "/api/v1/statuses/"+string(s.ID)+"/context")
	}
	return out
}

// waitUntil polls cond for what a background job does (a liveness bound,
// generous for a loaded machine; not a timing check).
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(120 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
