package activitypub

import (
	"html"
	"regexp"
	"sort"
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
// escaped paragraphs and line breaks, links shortened with Mastodon's
// invisible/ellipsis spans, resolved mentions as h-card links, hashtags
// linked to tagBase+tag. Unresolved mentions stay plain text.
func RenderPost(text string, mentions []Mention, tagBase string) string {
	byKey := map[string]Mention{}
	for _, m := range mentions {
		if m.URI != "" {
			byKey[strings.ToLower(m.Username+"@"+m.Host)] = m
		}
	}
	text = strings.TrimSpace(strings.ReplaceAll(text, "\r\n", "\n"))
	var b strings.Builder
	for _, para := range paragraphBreak.Split(text, -1) {
		para = strings.TrimSpace(para)
		if para == "" {
			continue
		}
		b.WriteString("<p>")
		for i, line := range strings.Split(para, "\n") {
			if i > 0 {
				b.WriteString("<br>")
			}
			renderLine(&b, line, byKey, tagBase)
		}
		b.WriteString("</p>")
	}
	return b.String()
}

var urlRE = regexp.MustCompile(`https?://[^\s<>"\x{201C}\x{201D}]+`)

// renderLine renders one line: links first, then mentions and hashtags in
// the text between them.
func renderLine(b *strings.Builder, line string, byKey map[string]Mention, tagBase string) {
	pos := 0
	for _, loc := range urlRE.FindAllStringIndex(line, -1) {
		start, end := loc[0], trimURL(line[loc[0]:loc[1]])+loc[0]
		if start < pos {
			continue
		}
		renderWords(b, line[pos:start], byKey, tagBase)
		writeLink(b, line[start:end])
		pos = end
	}
	renderWords(b, line[pos:], byKey, tagBase)
}

// trimURL drops trailing punctuation that ends a sentence rather than the
// link, and a closing parenthesis that closes the text's, not the URL's.
func trimURL(u string) int {
	end := len(u)
	for end > 0 {
		c := u[end-1]
		if strings.IndexByte(".,;:!?'", c) >= 0 {
			end--
			continue
		}
		if c == ')' && strings.Count(u[:end], "(") < strings.Count(u[:end], ")") {
			end--
			continue
		}
		break
	}
	return end
}

// writeLink writes a link as Mastodon shows it: scheme hidden, the rest
// cut after 30 characters with an ellipsis.
func writeLink(b *strings.Builder, u string) {
	scheme, rest, _ := strings.Cut(u, "://")
	shown, hidden := rest, ""
	if r := []rune(rest); len(r) > 30 {
		shown, hidden = string(r[:30]), string(r[30:])
	}
	class := ""
	if hidden != "" {
		class = "ellipsis"
	}
	b.WriteString(`<a href="` + html.EscapeString(u) + `" target="_blank" rel="nofollow noopener noreferrer" translate="no">`)
	b.WriteString(`<span class="invisible">` + html.EscapeString(scheme+"://") + `</span>`)
	b.WriteString(`<span class="` + class + `">` + html.EscapeString(shown) + `</span>`)
	if hidden != "" {
		b.WriteString(`<span class="invisible">` + html.EscapeString(hidden) + `</span>`)
	}
	b.WriteString(`</a>`)
}

type span struct {
	start, end int
	html       string
}

// renderWords escapes text, linking known mentions and hashtags.
func renderWords(b *strings.Builder, s string, byKey map[string]Mention, tagBase string) {
	var spans []span
	for _, m := range mentionRE.FindAllStringSubmatchIndex(s, -1) {
		user, host := s[m[4]:m[5]], ""
		if m[6] >= 0 {
			host = s[m[6]:m[7]]
		}
		men, ok := byKey[strings.ToLower(user+"@"+host)]
		if !ok {
			continue
		}
		href := men.URL
		if href == "" {
			href = men.URI
		}
		spans = append(spans, span{m[3], m[1], `<span class="h-card" translate="no"><a href="` + html.EscapeString(href) +
			`" class="u-url mention">@<span>` + html.EscapeString(user) + `</span></a></span>`})
	}
	for _, m := range hashtagRE.FindAllStringSubmatchIndex(s, -1) {
		tag := s[m[4]:m[5]]
		spans = append(spans, span{m[3], m[1], `<a href="` + html.EscapeString(tagBase+strings.ToLower(tag)) +
			`" class="mention hashtag" rel="tag">#<span>` + html.EscapeString(tag) + `</span></a>`})
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	pos := 0
	for _, sp := range spans {
		if sp.start < pos {
			continue
		}
		b.WriteString(html.EscapeString(s[pos:sp.start]))
		b.WriteString(sp.html)
		pos = sp.end
	}
	b.WriteString(html.EscapeString(s[pos:]))
}
