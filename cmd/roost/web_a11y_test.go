package main

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"golang.org/x/net/html"
)

// Issue 18: every page a visitor or a signed-in person can reach on a
// seeded tenant, found by following links (web_crawl_test.go), is
// checked four ways:
//   - Links: every same-origin link, image, feed, stylesheet, script,
//     ActivityPub alternate and GET form answers 2xx/3xx with the type its
//     context promises, starting from every URL the client API prints and
//     from the front page, signed out and signed in.
//   - Labels: every form control has an accessible label, every image an
//     alt attribute, every link and button a name; ids are unique, no
//     positive tabindex, one main landmark and a skip link to it.
//   - Phone: in chromium at 390×844, no page scrolls sideways.
//   - Dark: with prefers-color-scheme: dark, pages render dark, and their
//     text keeps a readable contrast in both themes.
func TestIssue18WebCrawl(t *testing.T) {
	t.Parallel()
	w := seedCrawlWorld(t)
	privateHidden := func(u *url.URL) bool { return strings.Contains(u.Path, "/"+string(w.private.ID)) }

	// Signed out: the front page and everything the API prints, but the
	// followers-only post (which must answer as missing: checked below).
	out := newCrawler(t, hostClient(w.addr), "http://a.test")
	out.skip = privateHidden
	// Activity ids (…/statuses/:id/activity: a post's Create, a boost's
	// Announce) are fetched as ActivityPub too: they answer documents.
	out.add("http://a.test/", kindPage, "")
	out.harvest(t, w.alice, w.apiPaths()...)
	out.run()
	// (ActivityPub at its url is redirected to its id.)
	for _, p := range []crawlLink{{w.private.URL, kindPage, ""}, {w.private.URI, kindPage, ""}, {w.private.URI, kindAP, ""}} {
		if resp, _ := fetchURL(t, w.addr, p.URL, "Accept", p.Kind.accept()); resp.StatusCode != 404 {
			t.Errorf("the followers-only post's %s answers %d signed out (%s), want 404", p.URL, resp.StatusCode, p.Kind)
		}
	}

	// Signed in to the web app: its screens, from home and every API URL,
	// the followers-only post included.
	session := webSession(t, w.addr, "http://a.test", "alice@a.test")
	in := newCrawler(t, session, "http://a.test")
	in.skip = func(u *url.URL) bool {
		return u.Path == "/web/stream" // a live event stream, not a page
	}
	in.skipKind = func(u *url.URL, k crawlKind) bool {
		// Unsigned ActivityPub fetches of a followers-only post answer
		// 404 whoever holds a browser session (checked above).
		return k == kindAP && privateHidden(u)
	}
	for _, p := range []string{"/home", "/settings", "/statuses/" + string(w.statuses[0].ID)} {
		in.add("http://a.test"+p, kindPage, "")
	}
	in.harvest(t, w.alice, w.apiPaths()...)
	in.run()

	t.Run("Links", func(t *testing.T) {
		out.t, in.t = t, t
		out.report("signed out")
		in.report("signed in")
		if len(out.pages) < 10 || len(in.pages) < 20 {
			t.Errorf("the crawl read only %d public and %d web app pages", len(out.pages), len(in.pages))
		}
	})
	pages := append(append([]crawledPage{}, out.pages...), in.pages...)
	t.Run("Labels", func(t *testing.T) {
		for _, p := range pages {
			for _, problem := range a11yProblems(p.Body) {
				t.Errorf("%s: %s", p.URL, problem)
			}
		}
	})

	// chromium: one page of each route (ids folded), signed out and in;
	// a browser for each check (each has a deadline of its own).
	shapes := map[string]bool{}
	sampleOut := routeSample(out.pages, shapes)
	sampleIn := routeSample(in.pages, shapes) // the app's own: public pages were opened signed out
	t.Logf("chromium opens %d public and %d web app pages", len(sampleOut), len(sampleIn))
	phoneShots, darkShots := newShots(t, nil), newShots(t, nil) // named after this test, not a subtest's path
	t.Run("Phone", func(t *testing.T) {
		bctx := portalBrowser(t, w.addr)
		t.Cleanup(func() { chromedp.Cancel(bctx); time.Sleep(time.Second) })
		shot := phoneShots
		shot.t, shot.ctx = t, bctx
		browse(t, bctx, "phone", chromedp.EmulateViewport(390, 844))
		checkWidths(t, bctx, shot, "phone-out", sampleOut)
		browse(t, bctx, "open sign in", chromedp.Navigate("http://a.test/auth/sign_in"))
		webSignIn(t, bctx, "alice@a.test")
		waitText(t, bctx, "h1", "Home")
		checkWidths(t, bctx, shot, "phone-in", sampleIn)
	})
	t.Run("Dark", func(t *testing.T) {
		bctx := portalBrowser(t, w.addr)
		t.Cleanup(func() { chromedp.Cancel(bctx); time.Sleep(time.Second) })
		shot := darkShots
		shot.t, shot.ctx = t, bctx
		themes := func(urls []string) {
			for _, scheme := range []string{"light", "dark"} {
				browse(t, bctx, scheme, emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}))
				for _, p := range urls {
					checkTheme(t, bctx, shot, scheme, p)
				}
			}
		}
		themes(sampleOut)
		browse(t, bctx, "open sign in", chromedp.Navigate("http://a.test/auth/sign_in"))
		webSignIn(t, bctx, "alice@a.test")
		waitText(t, bctx, "h1", "Home")
		themes(sampleIn)
	})
}

var idSegment = regexp.MustCompile(`/\d+`)

// routeSample is the first page of each route shape (numeric ids folded)
// not in seen, so chromium opens each kind of page once.
func routeSample(pages []crawledPage, seen map[string]bool) []string {
	var out []string
	for _, p := range pages {
		u, err := url.Parse(p.URL)
		if err != nil {
			continue
		}
		// An id's page is its url's (/users/x/statuses/N is /@x/N), and
		// an older page is its first page's template.
		shape := idSegment.ReplaceAllString(u.Path, "/N")
		shape = strings.Replace(strings.Replace(shape, "/statuses/N", "/N", 1), "/users/", "/@", 1)
		if u.Query().Has("max_id") || u.Query().Has("min_id") || seen[shape] {
			continue
		}
		seen[shape] = true
		out = append(out, p.URL)
	}
	sort.Strings(out)
	return out
}

// shotName is a screenshot name for a URL.
func shotName(prefix, u string) string {
	p, _ := url.Parse(u)
	name := strings.Trim(idSegment.ReplaceAllString(p.Path, "/N"), "/")
	if name == "" {
		name = "front"
	}
	return prefix + "-" + strings.NewReplacer("/", "-", "@", "", ".", "-").Replace(name)
}

// checkWidths opens each page and fails any that scrolls sideways.
func checkWidths(t *testing.T, bctx context.Context, shot *shots, prefix string, urls []string) {
	t.Helper()
	for _, u := range urls {
		var fits bool
		var sw, iw int
		browse(t, bctx, "open "+u, chromedp.Navigate(u), chromedp.WaitReady("body", chromedp.ByQuery),
			chromedp.Evaluate(`document.documentElement.scrollWidth <= window.innerWidth`, &fits),
			chromedp.Evaluate(`document.documentElement.scrollWidth`, &sw), chromedp.Evaluate(`window.innerWidth`, &iw))
		shot.take(shotName(prefix, u))
		if !fits {
			t.Errorf("%s scrolls sideways at 390px: scrollWidth %d > innerWidth %d", u, sw, iw)
		}
	}
}

// contrastJS lists the page's visible text whose colour has less than
// WCAG AA contrast (4.5:1, 3:1 for large text) against the background it
// is drawn on, and the page's own background luminance.
const contrastJS = `(() => {
  const lum = (c) => { const m = c.match(/[\d.]+/g).map(Number); const a = m.length > 3 ? m[3] : 1;
    return [m.slice(0,3).map(v => { v /= 255; return v <= 0.03928 ? v/12.92 : Math.pow((v+0.055)/1.055, 2.4); }), a]; };
  const L = (rgb) => 0.2126*rgb[0] + 0.7152*rgb[1] + 0.0722*rgb[2];
  const bgOf = (el) => { for (let e = el; e; e = e.parentElement) { const [rgb, a] = lum(getComputedStyle(e).backgroundColor);
      if (a > 0.5) return rgb; }
    const [rgb, a] = lum(getComputedStyle(document.documentElement).backgroundColor); return a > 0.5 ? rgb : [1,1,1]; };
  const bad = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement; if (!n.textContent.trim() || !el) continue;
    const r = el.getBoundingClientRect(); const s = getComputedStyle(el);
    if (r.width === 0 || r.height === 0 || s.visibility === 'hidden' || el.closest('[hidden],.skip,details:not([open]) > :not(summary)')) continue;
    const [fg] = lum(s.color); const bg = bgOf(el);
    const a = L(fg), b = L(bg); const ratio = (Math.max(a,b)+0.05)/(Math.min(a,b)+0.05);
    const large = parseFloat(s.fontSize) >= 24 || (parseFloat(s.fontSize) >= 18.5 && parseInt(s.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) bad.push(el.tagName.toLowerCase() + (el.className ? '.' + el.className : '') + ' "' + n.textContent.trim().slice(0,30) + '" ' + ratio.toFixed(2) + ' (' + s.color + ' on rgb ' + bg.map(v=>v.toFixed(2)) + ')');
  }
  return {bad: [...new Set(bad)].slice(0, 20), bg: L(bgOf(document.body))};
})()`

// checkTheme opens u in the emulated scheme: dark pages have a dark
// background, light ones a light one, and text is readable in both.
func checkTheme(t *testing.T, bctx context.Context, shot *shots, scheme, u string) {
	t.Helper()
	var res struct {
		Bad []string `json:"bad"`
		BG  float64  `json:"bg"`
	}
	browse(t, bctx, "open "+u, chromedp.Navigate(u), chromedp.WaitReady("body", chromedp.ByQuery), chromedp.Evaluate(contrastJS, &res))
	if scheme == "dark" {
		shot.take(shotName("dark", u))
	}
	if dark := res.BG < 0.2; dark != (scheme == "dark") {
		t.Errorf("%s in the %s scheme: background luminance %.2f", u, scheme, res.BG)
	}
	for _, b := range res.Bad {
		t.Errorf("%s (%s): low contrast: %s", u, scheme, b)
	}
}

// a11yProblems lists what a page lacks for keyboard and screen reader
// use: a language, a title, a main landmark and a skip link to it,
// labels on form controls, alt on images, names on links and buttons,
// unique ids, no positive tabindex.
func a11yProblems(body []byte) []string {
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	labelled := map[string]bool{} // ids named by a <label for>
	ids := map[string]int{}
	var mains int
	var title string
	skip := false
	walkHTML(doc, func(n *html.Node) {
		a := attrs(n)
		if id := a["id"]; id != "" {
			ids[id]++
		}
		switch n.Data {
		case "label":
			if f := a["for"]; f != "" {
				labelled[f] = true
			}
		case "main":
			mains++
		case "title":
			title = strings.TrimSpace(textOf(n))
		case "a":
			if a["href"] == "#main" {
				skip = true
			}
		}
		if ti := a["tabindex"]; ti != "" && ti != "0" && ti != "-1" {
			out = append(out, fmt.Sprintf("%s with tabindex %s", describe(n), ti))
		}
	})
	if lang := attrs(firstElement(doc, "html"))["lang"]; lang == "" {
		out = append(out, "<html> has no lang")
	}
	if title == "" {
		out = append(out, "no <title>")
	}
	if mains != 1 {
		out = append(out, fmt.Sprintf("%d <main> landmarks", mains))
	}
	if !skip {
		out = append(out, "no skip link to #main")
	}
	for id, n := range ids {
		if n > 1 {
			out = append(out, fmt.Sprintf("id %q used %d times", id, n))
		}
	}
	walkHTML(doc, func(n *html.Node) {
		a := attrs(n)
		named := a["aria-label"] != "" || a["aria-labelledby"] != "" || a["title"] != ""
		switch n.Data {
		case "input", "select", "textarea":
			typ := strings.ToLower(a["type"])
			if typ == "hidden" || typ == "submit" || typ == "button" || typ == "reset" || typ == "image" {
				return
			}
			if !named && !labelled[a["id"]] && !insideLabel(n) {
				out = append(out, describe(n)+" has no label")
			}
		case "img":
			if _, ok := a["alt"]; !ok {
				out = append(out, describe(n)+" has no alt")
			}
		case "button":
			if !named && strings.TrimSpace(textOf(n)) == "" {
				out = append(out, describe(n)+" has no name")
			}
		case "a":
			if _, href := a["href"]; href && !named && strings.TrimSpace(textOf(n)) == "" && !hasAltImage(n) {
				out = append(out, describe(n)+" has no name")
			}
		}
	})
	sort.Strings(out)
	return out
}

// describe is an element as a short selector.
func describe(n *html.Node) string {
	a := attrs(n)
	s := "<" + n.Data
	for _, k := range []string{"id", "name", "type", "class", "href", "src"} {
		if v := a[k]; v != "" {
			s += fmt.Sprintf(" %s=%q", k, v)
		}
	}
	return s + ">"
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

func insideLabel(n *html.Node) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		if p.Type == html.ElementNode && p.Data == "label" {
			return true
		}
	}
	return false
}

func hasAltImage(n *html.Node) bool {
	found := false
	walkHTML(n, func(e *html.Node) {
		if e.Data == "img" && strings.TrimSpace(attrs(e)["alt"]) != "" {
			found = true
		}
	})
	return found
}

func firstElement(n *html.Node, tag string) *html.Node {
	var out *html.Node
	walkHTML(n, func(e *html.Node) {
		if out == nil && e.Data == tag {
			out = e
		}
	})
	if out == nil {
		return &html.Node{}
	}
	return out
}
