package activitypub

import (
	"strings"

	"github.com/roost-social/roost/federation"
)

// ParseEmojis reads the custom emojis of a post's or an actor's tags:
// objects of type Emoji named ":shortcode:" with an icon image at an
// absolute http(s) URL. Shortcodes are Mastodon's ([A-Za-z0-9_], two or
// more); each is kept once, at most federation.MaxRemoteEmojis.
func ParseEmojis(v any) []federation.RemoteEmoji {
	var out []federation.RemoteEmoji
	seen := map[string]bool{}
	for _, t := range objects(v) {
		if len(out) == federation.MaxRemoteEmojis {
			break
		}
		if !hasType(t, "Emoji") {
			continue
		}
		code := strings.Trim(str(t, "name"), ":")
		if !validShortcode(code) || seen[code] {
			continue
		}
		u, _, _ := attachmentIcon(t["icon"])
		if u == "" || len(u) > 2048 {
			continue
		}
		seen[code] = true
		out = append(out, federation.RemoteEmoji{Shortcode: code, URL: u})
	}
	return out
}

// validShortcode is Mastodon's shortcode: letters, digits and _, two to
// a hundred.
func validShortcode(s string) bool {
	if len(s) < 2 || len(s) > 100 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
