package public

import (
	"testing"

	"github.com/roost-social/roost/api/mastodon"
)

// A remote account's emoji show as images only when their files are on
// this site's media origin; otherwise they stay text (the page loads
// nothing from other servers).
func TestIssue18RemoteEmojiOnlyFromOwnMediaOrigin(t *testing.T) {
	l := &looks{origins: []string{"https://a.example"}, base: "https://a.example"}
	set := l.emojiSet(false, []mastodon.Emoji{{Shortcode: "far", URL: "https://remote.example/e/far.png"},
		{Shortcode: "near", URL: "https://a.example/media/e/near.png"}})
	got := emojify("<p>:far: and :near: <a href=\"https://x/:near:\">:near:</a></p>", set)
	want := `<p>:far: and <img class="emoji" src="https://a.example/media/e/near.png" alt=":near:" title=":near:" width="20" height="20"> ` +
		`<a href="https://x/:near:"><img class="emoji" src="https://a.example/media/e/near.png" alt=":near:" title=":near:" width="20" height="20"></a></p>`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	for _, s := range []string{":a:", "::", ":toolong" + string(make([]byte, 70)) + ":", ":x y:"} {
		if emojify(s, func() map[string]string { return map[string]string{"a": "u"} }) != s {
			t.Errorf("%q changed", s)
		}
	}
	if got := string(emojiText(`<b>:near:`, set)); got != `&lt;b&gt;<img class="emoji" src="https://a.example/media/e/near.png" alt=":near:" title=":near:" width="20" height="20">` {
		t.Errorf("emojiText: %s", got)
	}
}
