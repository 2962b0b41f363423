package announcement

import "testing"

func TestIssue17ReactionNamesAreEmojis(t *testing.T) {
	for name, want := range map[string]bool{
		"👍": true, "👍🏽": true, "❤️": true, "👨‍👩‍👧": true, "🇫🇷": true, "#️⃣": true, "☕": true,
		"": false, "a": false, "1": false, "blobcat": false, "<b>": false, "👍 ok": false, "🇫🇷🇫🇷🇫🇷🇫🇷🇫🇷🇫🇷": false,
	} {
		if got := IsEmoji(name); got != want {
			t.Errorf("IsEmoji(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestIssue17AnnouncementRender(t *testing.T) {
	for in, want := range map[string]string{
		"hello":             "<p>hello</p>",
		"a <b>&\nb\n\n\nc":  "<p>a &lt;b&gt;&amp;<br>b</p><p>c</p>",
		"one\r\n\r\ntwo":    "<p>one</p><p>two</p>",
		`"quoted" 'single'`: "<p>&#34;quoted&#34; &#39;single&#39;</p>",
	} {
		if got := Render(in); got != want {
			t.Errorf("Render(%q) = %q, want %q", in, got, want)
		}
	}
}
