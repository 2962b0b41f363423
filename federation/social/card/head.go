package card

import (
	"io"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/html"
)

// head is what a page's <head> says about it.
type head struct {
	meta      map[string]string // first value of each meta property or name, lower-cased key
	title     string            // <title>
	lang      string            // <html lang>
	oembed    string            // oEmbed discovery link (absolute)
	canonical *url.URL          // the page's final URL, to resolve relative links
}

// maxTitleBytes bounds the <title> text read.
const maxTitleBytes = 4096

// parseHead reads a page's <head> from r and stops at its end (or at
// <body>, or at the end of what r gives): what follows is never read.
func parseHead(r io.Reader, final string) *head {
	h := &head{meta: map[string]string{}}
	h.canonical, _ = url.Parse(final)
	z := html.NewTokenizer(r)
	inTitle := false
	for {
		switch z.Next() {
		case html.ErrorToken:
			return h
		case html.TextToken:
			if inTitle && len(h.title) < maxTitleBytes {
				h.title += string(z.Text())
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "head":
				return h
			case "title":
				inTitle = false
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "body":
				return h
			case "title":
				inTitle = h.title == ""
			case "html":
				h.lang = attrs(z)["lang"]
			case "meta":
				h.addMeta(attrs(z))
			case "link":
				h.addLink(attrs(z))
			}
		}
	}
}

// attrs reads the current tag's attributes, keys lower-cased, first wins.
func attrs(z *html.Tokenizer) map[string]string {
	out := map[string]string{}
	for {
		k, v, more := z.TagAttr()
		key := strings.ToLower(string(k))
		if _, dup := out[key]; !dup && key != "" {
			out[key] = string(v)
		}
		if !more {
			return out
		}
	}
}

func (h *head) addMeta(a map[string]string) {
	key := a["property"]
	if key == "" {
		key = a["name"]
	}
	key = strings.ToLower(strings.TrimSpace(key))
	if key == "" {
		return
	}
	if _, seen := h.meta[key]; !seen {
		h.meta[key] = a["content"]
	}
}

func (h *head) addLink(a map[string]string) {
	if h.oembed != "" || !hasWord(a["rel"], "alternate") ||
		!strings.EqualFold(strings.TrimSpace(a["type"]), "application/json+oembed") {
		return
	}
	h.oembed = h.resolve(a["href"])
}

// resolve makes a link of the page absolute; "" unless it is http(s).
func (h *head) resolve(ref string) string {
	ref = strings.TrimSpace(ref)
	if ref == "" || h.canonical == nil {
		return ""
	}
	u, err := h.canonical.Parse(ref)
	if err != nil {
		return ""
	}
	out, ok := Normalize(u.String())
	if !ok {
		return ""
	}
	return out
}

// first returns the first non-empty meta value among keys, cleaned.
func (h *head) first(keys ...string) string {
	for _, k := range keys {
		if v := clean(h.meta[k]); v != "" {
			return v
		}
	}
	return ""
}

// card fills the fields of a link card the page's metadata gives:
// OpenGraph first, then Twitter cards, then plain HTML.
func (h *head) card() *draft {
	d := &draft{}
	d.Type = "link"
	d.Title = h.first("og:title", "twitter:title")
	if d.Title == "" {
		d.Title = clean(h.title)
	}
	d.Description = h.first("og:description", "twitter:description", "description")
	d.image = h.resolve(h.first("og:image", "og:image:url", "og:image:secure_url", "twitter:image", "twitter:image:src"))
	d.ImageDescription = h.first("og:image:alt", "twitter:image:alt")
	d.ProviderName = h.first("og:site_name", "application-name")
	if author := h.first("article:author", "author", "twitter:creator"); author != "" {
		if u := h.resolve(author); u != "" && strings.Contains(author, "://") {
			d.AuthorURL = u
		} else {
			d.AuthorName = author
		}
	}
	if t, err := time.Parse(time.RFC3339, h.first("article:published_time", "og:published_time")); err == nil {
		d.PublishedAt = &t
	}
	d.Language = language(h.first("og:locale"), h.lang)
	if h.canonical != nil {
		d.ProviderURL = h.canonical.Scheme + "://" + h.canonical.Host + "/"
	}
	return d
}

// language is a BCP 47 primary tag from og:locale ("en_US") or <html
// lang> ("en-GB"), lower case; "" when neither looks like one.
func language(candidates ...string) string {
	for _, c := range candidates {
		c = strings.ToLower(strings.TrimSpace(c))
		if i := strings.IndexAny(c, "_-"); i >= 0 {
			c = c[:i]
		}
		if len(c) >= 2 && len(c) <= 3 && strings.Trim(c, "abcdefghijklmnopqrstuvwxyz") == "" {
			return c
		}
	}
	return ""
}
