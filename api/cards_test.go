package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/roost-social/roost/api"
	"github.com/roost-social/roost/api/mastodon"
	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/actors"
	"github.com/roost-social/roost/federation/delivery"
	"github.com/roost-social/roost/federation/fetch"
	"github.com/roost-social/roost/federation/inbox"
	"github.com/roost-social/roost/federation/outbox"
	"github.com/roost-social/roost/federation/social/card"
	"github.com/roost-social/roost/federation/social/media"
	mediapg "github.com/roost-social/roost/federation/social/media/postgres"
	"github.com/roost-social/roost/internal/testenv"
	"github.com/roost-social/roost/tenant/oauth"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

// Issue 17: link preview cards, end to end — posts through the API on two
// tenants, the card job fetching from a fake site on loopback through the
// real safe client, cards in rendered statuses, trends and the link
// timeline.

// fakeSite serves pages a card is made from, and pages none may be.
func fakeSite(t *testing.T) *httptest.Server {
	t.Helper()
	var pic bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 64, 32))
	for x := range 64 {
		img.Set(x, x%32, color.RGBA{R: 200, G: uint8(x * 4), B: 40, A: 255})
	}
	if err := png.Encode(&pic, img); err != nil {
		t.Fatal(err)
	}
	og := func(title string) string {
		return `<!doctype html><html lang="en"><head><title>plain</title>
<meta property="og:title" content="` + title + `"><meta property="og:description" content="About ` + title + `">
<meta property="og:image" content="/img.png"><meta property="og:site_name" content="Fake Site">
<meta property="article:author" content="Ann">`
	}
	mux := http.NewServeMux()
	html := func(w http.ResponseWriter, body string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, body)
	}
	mux.HandleFunc("/article", func(w http.ResponseWriter, r *http.Request) {
		html(w, og("The article")+`<link rel="alternate" type="application/json+oembed" href="/oembed?url=article">
</head><body>text</body></html>`)
	})
	for _, p := range []string{"/other", "/secret"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) { html(w, og("Page "+p[1:])+"</head><body></body></html>") })
	}
	mux.HandleFunc("/oembed", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"type":"video","version":"1.0","provider_name":"Fake Video","width":640,"height":360,
			"html":"<iframe src=\"https://player.site.test/1\" width=\"640\" height=\"360\"></iframe><script>x()</script>"}`)
	})
	mux.HandleFunc("/img.png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(pic.Bytes())
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { // the metadata lies past the cap
		html(w, "<html><head>"+strings.Repeat(`<meta name="filler" content="xxxxxxxxxxxxxxxxxxxxxxxx">`, (card.MaxPage/50)+1000)+
			og("Too far")[len("<!doctype html>"):]+"</head></html>")
	})
	mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"title":"not a page"}`)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/private", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://"+r.Context().Value(http.LocalAddrContextKey).(interface{ String() string }).String()+"/article", http.StatusFound)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) { // never finishes its head
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><head>")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// cardWorld is the client API with cards on two tenants, and the job.
type cardWorld struct {
	*hiddenWorld
	job *card.Fetcher
	now time.Time
}

func newCardWorld(t *testing.T) *cardWorld {
	t.Helper()
	ctx := context.Background()
	hw := &hiddenWorld{world: newWorld(t), tokens: map[int64]string{}, hosts: map[int64]string{}}
	svc := &oauth.Service{Store: tenantpg.NewOAuthStore(hw.db)}
	rdb, prefix := testenv.Redis(t)
	queue := &delivery.Queue{Store: hw.accounts, Redis: rdb, Prefix: prefix}
	ob := &outbox.Service{Keys: &actors.Keys{Store: hw.accounts, Fetch: fetch.New(fetch.Config{})},
		Follows: hw.accounts, Locals: &inbox.SiteLocals{Sites: hw.opts.Sites, Accounts: hw.accounts, Scheme: "https"},
		Send: queue, Publisher: hw.accounts, Dispatch: queue, Mover: hw.accounts, Store: hw.accounts}
	images := &media.Service{Store: mediapg.New(hw.db), Blobs: media.NewLocalStore(t.TempDir())}
	o := hw.opts
	o.Metrics = nil
	o.Mastodon = &mastodon.Handler{Auth: svc, Views: hw.accounts, Client: hw.accounts, Accounts: hw.accounts,
		Outbox: ob, Sites: o.Sites, URL: o.URL, Polls: hw.accounts, Media: images,
		Cards: &card.Service{Views: hw.accounts, Images: images}}
	o.Mastodon.UseSocialStore(hw.accounts, ob)
	hw.app = api.New(o)
	var err error
	if hw.bob, err = hw.accounts.AccountByUsername(ctx, hw.tenantA.ID, "a.example", "bob"); err != nil {
		t.Fatal(err)
	}
	for _, a := range []*federation.Account{hw.aliceA, hw.bob, hw.aliceB} {
		hw.tokens[a.ID], hw.hosts[a.ID] = mintToken(t, svc, a), a.Domain
	}
	site := fakeSite(t)
	client := fetch.New(fetch.Config{Resolve: map[string]string{"site.test": strings.TrimPrefix(site.URL, "http://")},
		Timeout: 2 * time.Second}) // the slow page's deadline; no test reads the clock
	w := &cardWorld{hiddenWorld: hw, now: time.Now()}
	w.job = &card.Fetcher{Store: hw.accounts, Web: client, Images: images, Now: func() time.Time { return w.now }}
	return w
}

func (w *cardWorld) pass(t *testing.T) {
	t.Helper()
	if err := w.job.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
}

type cardJSON struct {
	URL, Title, Description, Type, HTML string
	ProviderName                        string `json:"provider_name"`
	AuthorName                          string `json:"author_name"`
	Width, Height                       int
	Image, Blurhash                     *string
	Authors                             []struct{ Name string }
}

// cardOf reads a status's card as a through the API (nil: none).
func (w *cardWorld) cardOf(t *testing.T, a *federation.Account, id string) *cardJSON {
	t.Helper()
	var st struct{ Card *cardJSON }
	if err := json.Unmarshal([]byte(w.call(t, a, http.MethodGet, "/api/v1/statuses/"+id, nil).want(t, 200).body), &st); err != nil {
		t.Fatal(err)
	}
	return st.Card
}

func (w *cardWorld) cardRow(t *testing.T, u string) (state string, attempts int) {
	t.Helper()
	if err := w.db.QueryRow(context.Background(), `select state, attempts from link_cards where url = $1`, u).
		Scan(&state, &attempts); err != nil {
		t.Fatalf("card of %s: %v", u, err)
	}
	return state, attempts
}

func TestIssue17LinkCardsFetchedInTheBackground(t *testing.T) {
	t.Parallel()
	w := newCardWorld(t)
	article := "http://site.test/article"
	mine := w.post(t, w.aliceA, map[string]any{"status": "read " + article})
	theirs := w.post(t, w.aliceB, map[string]any{"status": "also " + article})
	bad := map[string]string{}
	for _, p := range []string{"big", "json", "loop", "private", "slow"} {
		bad[p] = w.post(t, w.aliceA, map[string]any{"status": "bad http://site.test/" + p})
	}
	if c := w.cardOf(t, w.aliceA, mine); c != nil {
		t.Fatalf("a card before the job ran: %+v", c)
	}
	w.pass(t)

	c := w.cardOf(t, w.aliceA, mine)
	if c == nil || c.URL != article || c.Title != "The article" || c.Description != "About The article" ||
		c.Type != "video" || c.HTML != `<iframe src="https://player.site.test/1" width="640" height="360"></iframe>` ||
		c.ProviderName != "Fake Video" || c.AuthorName != "Ann" || len(c.Authors) != 1 || c.Width != 640 || c.Height != 360 {
		t.Fatalf("card = %+v", c)
	}
	if c.Image == nil || !strings.HasPrefix(*c.Image, "https://a.example/preview_cards/") || c.Blurhash == nil {
		t.Fatalf("card image %v, blurhash %v", c.Image, c.Blurhash)
	}
	u, _ := url.Parse(*c.Image)
	r := w.do(t, http.MethodGet, "a.example", u.Path, nil)
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "image/png" || r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("card image: %d %v", r.StatusCode, r.Header)
	}
	if b := readAll(t, r.Body); !strings.HasPrefix(b, "\x89PNG") {
		t.Fatal("the card image is not the re-encoded PNG")
	}
	for _, path := range []string{"/preview_cards/0123/preview.png", "/preview_cards/..%2F..%2Fetc%2Fpasswd", "/preview_cards/"} {
		if r := w.do(t, http.MethodGet, "a.example", path, nil); r.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", path, r.StatusCode)
		}
	}
	if other := w.cardOf(t, w.aliceB, theirs); other == nil || other.Title != "The article" ||
		!strings.HasPrefix(*other.Image, "https://b.example/preview_cards/") {
		t.Fatalf("tenant B's card = %+v", other)
	}
	var cards, links int
	if err := w.db.QueryRow(context.Background(), `select (select count(*) from link_cards where url = $1),
		(select count(distinct card_id) from status_cards where status_id in ($2::bigint, $3::bigint))`,
		article, mine, theirs).Scan(&cards, &links); err != nil || cards != 1 || links != 1 {
		t.Fatalf("%d card rows, %d cards linked for one URL on two tenants (%v)", cards, links, err)
	}

	for p, id := range bad {
		if c := w.cardOf(t, w.aliceA, id); c != nil {
			t.Errorf("%s: card %+v", p, c)
		}
		state, attempts := w.cardRow(t, "http://site.test/"+p)
		want := "failed" // refused for good: nothing to retry
		if p == "slow" {
			want = "pending" // a timeout may pass later
		}
		if state != want || attempts != 1 {
			t.Errorf("%s: %s after %d attempts, want %s after 1", p, state, attempts, want)
		}
	}
	// The redirect to a private address was refused by the safe client's
	// address check, not merely unreachable.
	var reason string
	if err := w.db.QueryRow(context.Background(), `select last_error from link_cards where url = 'http://site.test/private'`).
		Scan(&reason); err != nil || !strings.Contains(reason, "is not allowed") {
		t.Errorf("private-address redirect failed with %q (%v)", reason, err)
	}
	// The slow page is retried, with back-off, a bounded number of times.
	for range card.MaxAttempts + 1 {
		w.now = w.now.Add(time.Hour)
		w.pass(t)
	}
	if state, attempts := w.cardRow(t, "http://site.test/slow"); state != "failed" || attempts != card.MaxAttempts {
		t.Errorf("slow page: %s after %d attempts", state, attempts)
	}
}

func TestIssue17EditedLinkChangesTheCard(t *testing.T) {
	t.Parallel()
	w := newCardWorld(t)
	id := w.post(t, w.aliceA, map[string]any{"status": "see http://site.test/other"})
	w.pass(t)
	if c := w.cardOf(t, w.aliceA, id); c == nil || c.Title != "Page other" {
		t.Fatalf("card = %+v", c)
	}
	w.call(t, w.aliceA, http.MethodPut, "/api/v1/statuses/"+id, map[string]any{"status": "now http://site.test/article"}).want(t, 200)
	w.pass(t)
	if c := w.cardOf(t, w.aliceA, id); c == nil || c.Title != "The article" {
		t.Fatalf("card after the edit = %+v", c)
	}
	w.call(t, w.aliceA, http.MethodPut, "/api/v1/statuses/"+id, map[string]any{"status": "no link now"}).want(t, 200)
	w.pass(t)
	if c := w.cardOf(t, w.aliceA, id); c != nil {
		t.Fatalf("card after the link was removed = %+v", c)
	}
}

type trendJSON struct {
	URL     string
	History []struct{ Day, Uses, Accounts string }
}

func (w *cardWorld) trends(t *testing.T, a *federation.Account) []trendJSON {
	t.Helper()
	var out []trendJSON
	if err := json.Unmarshal([]byte(w.call(t, a, http.MethodGet, "/api/v1/trends/links", nil).want(t, 200).body), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func (w *cardWorld) linkTimeline(t *testing.T, a *federation.Account, u string) []string {
	t.Helper()
	var out []struct{ ID string }
	body := w.call(t, a, http.MethodGet, "/api/v1/timelines/link?url="+url.QueryEscape(u), nil).want(t, 200).body
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range out {
		ids = append(ids, s.ID)
	}
	return ids
}

func TestIssue17TrendingLinksAndLinkTimelinePerTenant(t *testing.T) {
	t.Parallel()
	w := newCardWorld(t)
	article, other, secret := "http://site.test/article", "http://site.test/other", "http://site.test/secret"
	// alice of B follows alice of A: A's followers-only posts reach B.
	w.call(t, w.aliceB, http.MethodPost, fmt.Sprintf("/api/v1/accounts/%d/follow", w.aliceA.ID), nil).want(t, 200)
	a1 := w.post(t, w.aliceA, map[string]any{"status": "one " + other})
	a2 := w.post(t, w.aliceA, map[string]any{"status": "two " + other})
	a3 := w.post(t, w.aliceA, map[string]any{"status": "read " + article})
	b1 := w.post(t, w.bob, map[string]any{"status": "me too " + article})
	private := w.post(t, w.aliceA, map[string]any{"status": "followers only " + secret, "visibility": "private"})
	w.post(t, w.aliceA, map[string]any{"status": "quiet " + secret, "visibility": "unlisted"})
	theirs := w.post(t, w.aliceB, map[string]any{"status": "on B " + article})
	w.pass(t)

	if home := w.call(t, w.aliceB, http.MethodGet, "/api/v1/timelines/home", nil).want(t, 200).body; !strings.Contains(home, `"id":"`+private+`"`) {
		t.Fatalf("the followers-only post did not reach tenant B's follower: %s", home)
	}
	if c := w.cardOf(t, w.aliceB, private); c == nil || c.URL != secret {
		t.Fatalf("the follower's card of the followers-only post: %+v", c)
	}
	// Two accounts shared the article, one the other page (twice).
	got := w.trends(t, w.aliceA)
	if len(got) != 2 || got[0].URL != article || got[1].URL != other {
		t.Fatalf("tenant A trends: %+v", got)
	}
	if h := got[0].History; len(h) != 7 || h[0].Accounts != "2" || h[0].Uses != "2" {
		t.Errorf("article history: %+v", h)
	}
	if h := got[1].History; h[0].Accounts != "1" || h[0].Uses != "2" {
		t.Errorf("other history: %+v", h)
	}
	// Tenant B counts the public posts known to it — its own, and alice of
	// A's that reached it through the follow — but not bob's, which never
	// reached it, and never the followers-only post, though it did.
	gotB := w.trends(t, w.aliceB)
	if len(gotB) != 2 || gotB[0].URL != article || gotB[0].History[0].Accounts != "2" || gotB[1].URL != other {
		t.Fatalf("tenant B trends: %+v", gotB)
	}
	if ids := w.linkTimeline(t, w.aliceA, article); strings.Join(ids, ",") != b1+","+a3 {
		t.Errorf("tenant A's link timeline: %v, want %s,%s", ids, b1, a3)
	}
	if ids := w.linkTimeline(t, w.aliceA, other); strings.Join(ids, ",") != a2+","+a1 {
		t.Errorf("tenant A's other timeline: %v", ids)
	}
	if ids := w.linkTimeline(t, w.aliceB, article); strings.Join(ids, ",") != theirs+","+a3 {
		t.Errorf("tenant B's link timeline: %v, want %s,%s (never bob's %s)", ids, theirs, a3, b1)
	}
	for _, a := range []*federation.Account{w.aliceA, w.aliceB} {
		if ids := w.linkTimeline(t, a, secret); len(ids) != 0 {
			t.Errorf("%s@%s sees non-public posts in the link timeline: %v", a.Username, a.Domain, ids)
		}
	}
	w.call(t, w.aliceA, http.MethodGet, "/api/v1/timelines/link?url=javascript:x", nil).want(t, 422)
}
