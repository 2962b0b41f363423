package card

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

func TestIssue17FirstLinkSkipsMentionsAndHashtags(t *testing.T) {
	mention := `<span class="h-card"><a href="https://b.example/@bob" class="u-url mention">@<span>bob</span></a></span>`
	tag := `<a href="https://a.example/tags/go" class="mention hashtag" rel="tag">#<span>go</span></a>`
	cases := []struct {
		name, content string
		mentions      []string
		want          string
	}{
		{"none", `<p>no link here</p>`, nil, ""},
		{"plain", `<p>see <a href="https://Example.COM:443/a?b=1#frag">x</a></p>`, nil, "https://example.com/a?b=1"},
		{"after mention and tag", `<p>` + mention + " " + tag + ` <a href="http://site.example/x">x</a></p>`, nil, "http://site.example/x"},
		{"mention without classes", `<p><a href="https://c.example/users/carol">@carol</a> <a href="https://news.example/">n</a></p>`,
			[]string{"https://c.example/users/carol"}, "https://news.example/"},
		{"quote fallback", `<p class="quote-inline">RE: <a href="https://q.example/@q/1"><span>q</span></a></p><p>hi <a href="https://r.example/">r</a></p>`,
			nil, "https://r.example/"},
		{"only mention and tag", `<p>` + mention + tag + `</p>`, nil, ""},
		{"not http", `<p><a href="javascript:alert(1)">x</a><a href="ftp://f.example/">f</a></p>`, nil, ""},
		{"credentials", `<p><a href="https://user:pw@evil.example/">x</a></p>`, nil, ""},
		{"too long", `<p><a href="https://l.example/` + strings.Repeat("a", MaxURL) + `">x</a></p>`, nil, ""},
	}
	for _, c := range cases {
		got := FirstLink(federation.LinkedStatus{Content: c.content, Mentions: c.mentions})
		if got != c.want {
			t.Errorf("%s: FirstLink = %q, want %q", c.name, got, c.want)
		}
	}
}

const page = `<!doctype html><html lang="en-GB"><head>
<title> Plain   title </title>
<meta name="description" content="plain description">
<meta property="og:title" content="OG &amp; title">
<meta name="twitter:description" content="twitter description">
<meta property="og:image" content="/img.png">
<meta property="og:image:alt" content="a picture">
<meta property="og:site_name" content="Site">
<meta property="article:author" content="Ann Author">
<meta property="article:published_time" content="2026-01-02T03:04:05Z">
<link rel="alternate" type="application/json+oembed" href="/oembed?u=1">
</head><body><meta property="og:description" content="from the body, never read"></body></html>`

func TestIssue17HeadOpenGraphThenTwitterThenHTML(t *testing.T) {
	h := parseHead(strings.NewReader(page), "https://site.example/post")
	d := h.card()
	want := federation.Card{Type: "link", Title: "OG & title", Description: "twitter description",
		ImageDescription: "a picture", ProviderName: "Site", ProviderURL: "https://site.example/",
		AuthorName: "Ann Author", Language: "en"}
	got := d.Card
	got.PublishedAt = nil
	if got != want {
		t.Errorf("card = %+v\nwant %+v", got, want)
	}
	if d.image != "https://site.example/img.png" || h.oembed != "https://site.example/oembed?u=1" {
		t.Errorf("image %q, oembed %q", d.image, h.oembed)
	}
	if d.PublishedAt == nil || d.PublishedAt.Year() != 2026 {
		t.Errorf("published_at = %v", d.PublishedAt)
	}
	bare := parseHead(strings.NewReader(`<html><head><title>Only a title</title><meta name=description content=d></head>`), "https://s.example/").card()
	if bare.Title != "Only a title" || bare.Description != "d" {
		t.Errorf("fallbacks: %+v", bare.Card)
	}
}

func TestIssue17OEmbedHTMLOnlyAnIframeForVideoAndRich(t *testing.T) {
	h := parseHead(strings.NewReader(page), "https://site.example/post")
	for _, c := range []struct {
		name, body, wantType, wantHTML string
	}{
		{"video", `{"type":"video","html":"<iframe src=\"https://player.example/1\" width=\"640\" onload=\"x()\"></iframe><script>evil()</script>","width":"640","height":360}`,
			"video", `<iframe src="https://player.example/1" width="640"></iframe>`},
		{"rich with a script only", `{"type":"rich","html":"<blockquote>x</blockquote><script src=\"https://p.example/w.js\"></script>"}`, "link", ""},
		{"iframe over http", `{"type":"video","html":"<iframe src=\"http://player.example/1\"></iframe>"}`, "link", ""},
		{"photo", `{"type":"photo","url":"/big.jpg","width":800,"height":600}`, "photo", ""},
		{"garbage", `not json`, "link", ""},
	} {
		d := h.card()
		applyOEmbed(d, h, []byte(c.body))
		if d.Type != c.wantType || d.HTML != c.wantHTML {
			t.Errorf("%s: type %q html %q, want %q %q", c.name, d.Type, d.HTML, c.wantType, c.wantHTML)
		}
	}
}

// fakeQueue records outcomes of cards claimed from due; the card job
// records them from several goroutines.
type fakeQueue struct {
	mu     sync.Mutex
	due    []federation.CardFetch
	saved  []*federation.Card
	failed map[int64]*time.Time
}

func (q *fakeQueue) LinkStatuses(context.Context, time.Time, time.Time, int, func(federation.LinkedStatus) string) (int, error) {
	return 0, nil
}

func (q *fakeQueue) ClaimCardFetches(context.Context, time.Time, time.Duration, int, int) ([]federation.CardFetch, error) {
	out := q.due
	q.due = nil
	return out, nil
}

func (q *fakeQueue) SaveCard(_ context.Context, c *federation.Card, _ time.Time) (string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.saved = append(q.saved, c)
	return "", nil
}

func (q *fakeQueue) PruneCards(context.Context, time.Time, int) (int, []string, error) {
	return 0, nil, nil
}

func (q *fakeQueue) FailCardFetch(_ context.Context, id int64, _ string, _ time.Time, retry *time.Time) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.failed[id] = retry
	return nil
}

// fakeWeb answers pages by URL: an error, a panic, or HTML.
type fakeWeb struct{ pages map[string]any }

func (w fakeWeb) GetPage(_ context.Context, u string, _ int64, read func(io.Reader, string) error) error {
	switch p := w.pages[u].(type) {
	case error:
		return p
	case string:
		return read(strings.NewReader(p), u)
	}
	panic("no such page")
}

func (fakeWeb) GetOEmbed(context.Context, string) ([]byte, error) {
	return nil, errs.E(errs.NotFound, "none")
}

func (fakeWeb) GetImage(context.Context, string, int64) ([]byte, error) {
	return nil, errs.E(errs.Unavailable, "down")
}

func TestIssue17FetcherRetriesOnlyWhatMayPass(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	q := &fakeQueue{failed: map[int64]*time.Time{}, due: []federation.CardFetch{
		{ID: 1, URL: "https://ok.example/", Attempts: 1},
		{ID: 2, URL: "https://private.example/", Attempts: 1},
		{ID: 3, URL: "https://down.example/", Attempts: 1},
		{ID: 4, URL: "https://down.example/", Attempts: MaxAttempts},
		{ID: 5, URL: "https://panics.example/", Attempts: 1},
		{ID: 6, URL: "https://empty.example/", Attempts: 1},
		{ID: 7, URL: "https://a.example/@alice/1", Attempts: 1},
	}}
	web := fakeWeb{pages: map[string]any{
		"https://ok.example/":        page,
		"https://private.example/":   errs.E(errs.Forbidden, "the address is not allowed"),
		"https://down.example/":      errs.E(errs.Unavailable, "timed out"),
		"https://empty.example/":     "<html><head></head><body>no title</body></html>",
		"https://a.example/@alice/1": page, // this server's own: no card, whatever it says
	}}
	f := &Fetcher{Store: q, Web: web, Now: func() time.Time { return now },
		Ours: func(_ context.Context, host string) bool { return host == "a.example" }}
	if err := f.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(q.saved) != 1 || q.saved[0].ID != 1 || q.saved[0].Title != "OG & title" || q.saved[0].ImageKey != "" {
		t.Fatalf("saved %+v", q.saved)
	}
	if r := q.failed[3]; r == nil || !r.Equal(now.Add(retryAfter)) {
		t.Errorf("a timeout is retried after %v: %v", retryAfter, r)
	}
	for _, id := range []int64{2, 4, 5, 6, 7} {
		if r, ok := q.failed[id]; !ok || r != nil {
			t.Errorf("card %d: failed for good? %v %v", id, ok, r)
		}
	}
}

func TestIssue17FetcherStopsOnStoreFailure(t *testing.T) {
	f := &Fetcher{Store: failingQueue{&fakeQueue{}}, Web: fakeWeb{}}
	if err := f.Pass(context.Background()); err == nil {
		t.Fatal("a store failure was dropped")
	}
}

type failingQueue struct{ *fakeQueue }

func (failingQueue) LinkStatuses(context.Context, time.Time, time.Time, int, func(federation.LinkedStatus) string) (int, error) {
	return 0, errors.New("connection refused")
}
