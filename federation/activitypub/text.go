package activitypub

import (
	"html"
	"regexp"
	"strings"
)

// Mention is a mention found in a local post's text, resolved by the
// caller: URI is the actor's id, URL its profile page ("" when unknown).
type Mention struct {
	Username, Host string
	URI, URL       string
}

var (
	mentionRE = regexp.MustCompile(`(^|[^\w@/])@([A-Za-z0-9_]{1,30})(?:@([A-Za-z0-9.-]+\.[A-Za-z]{2,}|localhost))?\b`)
	hashtagRE = regexp.MustCompile(`(^|[^\w&/#])#([\p{L}\p{N}_]{1,100})`)
)

// FindMentions lists the @user and @user@host mentions in text, in order,
// once each; host is "" for a mention of the poster's own domain.
func FindMentions(text string) []Mention {
	var out []Mention
	seen := map[string]bool{}
	for _, m := range mentionRE.FindAllStringSubmatch(text, -1) {
		key := strings.ToLower(m[2] + "@" + m[3])
		if !seen[key] {
			seen[key] = true
			out = append(out, Mention{Username: m[2], Host: strings.ToLower(m[3])})
		}
	}
	return out
}

// FindHashtags lists the hashtags in text, lower-cased, once each.
func FindHashtags(text string) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range hashtagRE.FindAllStringSubmatch(text, -1) {
		tag := strings.ToLower(m[2])
		if !seen[tag] {
			seen[tag] = true
			out = append(out, tag)
		}
	}
	return out
}

// RenderPost turns a local post's plain text into HTML as Mastodon does:
// escaped paragraphs, resolved mentions as h-card links, hashtags linked
// to tagBase+tag. Unresolved mentions stay plain text.
func RenderPost(text string, mentions []Mention, tagBase string) string {
	byKey := map[string]Mention{}
	for _, m := range mentions {
		if m.URI != "" {
			byKey[strings.ToLower(m.Username+"@"+m.Host)] = m
		}
	}
	out := TextToHTML(text)
	out = mentionRE.ReplaceAllStringFunc(out, func(s string) string {
		sub := mentionRE.FindStringSubmatch(s)
		m, ok := byKey[strings.ToLower(sub[2]+"@"+sub[3])]
		if !ok {
			return s
		}
		href := m.URL
		if href == "" {
			href = m.URI
		}
		return sub[1] + `<span class="h-card"><a href="` + html.EscapeString(href) + `" class="u-url mention">@<span>` +
			html.EscapeString(sub[2]) + `</span></a></span>`
	})
	return hashtagRE.ReplaceAllStringFunc(out, func(s string) string {
		sub := hashtagRE.FindStringSubmatch(s)
		return sub[1] + `<a href="` + html.EscapeString(tagBase+strings.ToLower(sub[2])) + `" class="mention hashtag" rel="tag">#<span>` +
			sub[2] + `</span></a>`
	})
}
