package portability

import (
	"fmt"
	"github.com/roost-social/roost/federation"
	"strings"
	"unicode/utf8"

	"github.com/roost-social/roost/federation/outbox"
	"github.com/roost-social/roost/federation/portability/archive"
	"github.com/roost-social/roost/federation/social/media"
)

// checkPost says why the client API would refuse a post (its length, its
// attachments, its poll), or "" when it would take it. An archive is not
// a way around the limits every other post meets.
func checkPost(p archive.Post) string {
	st := p.Status
	if n := textLength(st.Content); n > outbox.MaxChars {
		return fmt.Sprintf("a post is at most %d characters (this one is %d)", outbox.MaxChars, n)
	}
	files := len(st.Attachments) + p.MediaRefs
	if files > media.MaxPerStatus {
		return fmt.Sprintf("a post can have at most %d media attachments (this one has %d)", media.MaxPerStatus, files)
	}
	if st.Poll == nil {
		return ""
	}
	if files > 0 {
		return "a post has media or a poll, not both"
	}
	if n := len(st.Poll.Options); n < 2 || n > outbox.MaxPollOptions {
		return fmt.Sprintf("a poll has 2 to %d options (this one has %d)", outbox.MaxPollOptions, n)
	}
	for _, o := range st.Poll.Options {
		if utf8.RuneCountInString(o.Title) > outbox.MaxPollOptionChars {
			return fmt.Sprintf("a poll option is at most %d characters", outbox.MaxPollOptionChars)
		}
	}
	return ""
}

func textLength(s string) int { return utf8.RuneCountInString(federation.PlainText(s)) }

// tagsInText keeps the hashtags a post's text shows: an archive may list
// hundreds of tags on a one-word post, each a row to store, where a post
// typed through the API has only those it writes.
func tagsInText(content string, tags []string) []string {
	if len(tags) == 0 {
		return nil
	}
	text := strings.ToLower(federation.PlainText(content))
	var out []string
	for _, t := range tags {
		if strings.Contains(text, "#"+t) {
			out = append(out, t)
		}
	}
	return out
}

// clipRunes cuts s to at most n characters.
func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
