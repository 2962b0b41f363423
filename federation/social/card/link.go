// Package card makes link preview cards (Mastodon's PreviewCard): it picks
// a status's first link as Mastodon does, and `roost work` runs Fetcher's
// Pass to fetch each linked page once — through the safe outbound client,
// size and time capped, its <head> parsed for OpenGraph, Twitter card and
// oEmbed metadata — and its image through the media pipeline. Service
// reads cards, trending links and a link's timeline for the client API.
package card

import (
	"net/url"
	"strings"

	"github.com/roost-social/roost/federation"
	"golang.org/x/net/html"
)

// MaxURL bounds a card's URL; longer links get no card.
const MaxURL = 2048

// maxAnchors bounds the links of one post looked at.
const maxAnchors = 100

// FirstLink returns the normalized URL of the status's first link that is
// not a mention or a hashtag (Mastodon's rule: anchors with rel=tag, the
// mention and h-card microformat classes, or an href of a mentioned
// actor are skipped) nor a quote post's "RE:" fallback (inside a
// quote-inline element), or "" when there is none.
func FirstLink(s federation.LinkedStatus) string {
	mentioned := make(map[string]bool, len(s.Mentions))
	for _, m := range s.Mentions {
		mentioned[m] = true
	}
	z := html.NewTokenizer(strings.NewReader(s.Content))
	var quote string // the open quote-inline element's tag, skipped whole
	depth := 0
	for seen := 0; seen < maxAnchors; {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return ""
		case html.EndTagToken:
			if name, _ := z.TagName(); quote != "" && string(name) == quote {
				if depth--; depth == 0 {
					quote = ""
				}
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			switch {
			case quote != "":
				if tag == quote && tt == html.StartTagToken {
					depth++
				}
			case tag != "a":
				if hasAttr && tt == html.StartTagToken && hasWord(attrs(z)["class"], "quote-inline") {
					quote, depth = tag, 1
				}
			case hasAttr:
				seen++
				if u := anchorLink(z, mentioned); u != "" {
					return u
				}
			}
		}
	}
	return ""
}

// anchorLink reads an <a>'s attributes: its normalized href, unless the
// anchor is a mention or a hashtag.
func anchorLink(z *html.Tokenizer, mentioned map[string]bool) string {
	var href string
	for {
		k, v, more := z.TagAttr()
		switch string(k) {
		case "href":
			href = string(v)
		case "rel":
			if hasWord(string(v), "tag") {
				return ""
			}
		case "class":
			for _, c := range []string{"mention", "hashtag", "u-url", "h-card"} {
				if hasWord(string(v), c) {
					return ""
				}
			}
		}
		if !more {
			break
		}
	}
	if mentioned[href] {
		return ""
	}
	u, ok := Normalize(href)
	if !ok {
		return ""
	}
	return u
}

func hasWord(list, word string) bool {
	for _, w := range strings.Fields(list) {
		if strings.EqualFold(w, word) {
			return true
		}
	}
	return false
}

// Normalize returns the form of a link cards are keyed by: http(s) only,
// scheme and host lower-cased, default port and fragment dropped, no
// credentials; ok is false for anything else.
func Normalize(raw string) (string, bool) {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > MaxURL {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || u.User != nil || u.Opaque != "" || u.Hostname() == "" {
		return "", false
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", false
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" || u.Scheme == "https" && port == "443" || u.Scheme == "http" && port == "80" {
		u.Host = host
		if strings.Contains(host, ":") {
			u.Host = "[" + host + "]"
		}
	} else {
		u.Host = strings.ToLower(u.Host)
	}
	u.Fragment, u.RawFragment = "", ""
	if u.Path == "" {
		u.Path = "/"
	}
	out := u.String()
	if len(out) > MaxURL {
		return "", false
	}
	return out, true
}
