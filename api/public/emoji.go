package public

import (
	"context"
	"html"
	"html/template"
	"strings"

	"github.com/roost-social/roost/api/mastodon"
	"github.com/roost-social/roost/federation"
)

// Emojis lists a tenant's custom emojis (without their images).
type Emojis interface {
	CustomEmojis(ctx context.Context, tenantID int64) ([]federation.CustomEmoji, error)
}

// Custom emoji in what a page shows (post text, names, bios, fields):
// :shortcode: becomes an image with alt ":shortcode:" when the page may
// load it — the site's own emoji (served on its own origin), or a remote
// one only when its file is on this site's media origin. Any other
// remote emoji stays its text: loading it would hand the visitor's
// address to another server (and the page policy refuses it).

// localEmojis are the site's emoji images by shortcode, loaded once per
// page, on the first text with a colon.
func (l *looks) localEmojis() map[string]string {
	if l.emojis != nil || l.loadEmojis == nil {
		return l.emojis
	}
	l.emojis = map[string]string{}
	list, err := l.loadEmojis()
	if err != nil {
		return l.emojis // shown as text: a page is not refused for its emoji
	}
	for _, e := range list {
		l.emojis[e.Shortcode] = l.base + "/custom_emojis/" + e.Shortcode + emojiExt(e.ContentType)
	}
	return l.emojis
}

// emojiExt is the file extension the client API serves an emoji under
// (api/mastodon emojis.go).
func emojiExt(contentType string) string {
	switch contentType {
	case "image/gif":
		return ".gif"
	case "image/webp":
		return ".webp"
	}
	return ".png"
}

// emojiSet is what :shortcode: may become in a local account's text (the
// site's emoji, loaded only when a text has a shortcode) or a remote
// one's (its own list, where loadable).
func (l *looks) emojiSet(local bool, remote []mastodon.Emoji) func() map[string]string {
	if local {
		return l.localEmojis
	}
	set := remoteSet(l, remote)
	return func() map[string]string { return set }
}

func remoteSet(l *looks, remote []mastodon.Emoji) map[string]string {
	var out map[string]string
	for _, e := range remote {
		if l.allowed(e.URL) {
			if out == nil {
				out = map[string]string{}
			}
			out[e.Shortcode] = e.URL
		}
	}
	return out
}

// emojify replaces :shortcode: in the text of sanitised HTML (never
// inside a tag) with the emoji's image.
func emojify(s string, emojis func() map[string]string) string {
	if strings.Count(s, ":") < 2 {
		return s
	}
	var set map[string]string // loaded at the first shortcode
	var b strings.Builder
	inTag := false
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '<':
			inTag = true
		case c == '>':
			inTag = false
		case c == ':' && !inTag:
			if end := shortcodeEnd(s, i+1); end > 0 {
				if set == nil {
					set = emojis()
				}
				if u, ok := set[s[i+1:end]]; ok {
					code := html.EscapeString(s[i : end+1])
					b.WriteString(`<img class="emoji" src="` + html.EscapeString(u) + `" alt="` + code + `" title="` + code +
						`" width="20" height="20">`)
					i = end + 1
					continue
				}
			}
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
}

// shortcodeEnd is the index of the colon closing a shortcode that starts
// at from, or 0 (shortcodes: 2 to 64 of A-Z a-z 0-9 _).
func shortcodeEnd(s string, from int) int {
	for j := from; j < len(s) && j-from <= 64; j++ {
		c := s[j]
		switch {
		case c == ':':
			if j-from >= 2 {
				return j
			}
			return 0
		case c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		default:
			return 0
		}
	}
	return 0
}

// emojiText is plain text as HTML with its emoji.
func emojiText(s string, set func() map[string]string) template.HTML {
	// The text is escaped first; emojify adds only its own tags.
	return template.HTML(emojify(html.EscapeString(s), set)) //nolint:gosec // escaped above
}
