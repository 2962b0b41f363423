package activitypub

import "testing"

// TestIssue17RemoteVideoIconIsItsPreview: the thumbnail a video comes
// with (Mastodon sends it as the attachment's icon) is kept as its
// preview; a bad icon URL is dropped, never kept.
func TestIssue17RemoteVideoIconIsItsPreview(t *testing.T) {
	got := parseAttachments([]any{
		map[string]any{"type": "Document", "mediaType": "video/mp4", "url": "https://r.example/v.mp4",
			"icon": map[string]any{"type": "Image", "mediaType": "image/png", "url": "https://r.example/v.png", "width": 400.0, "height": 300.0}},
		map[string]any{"type": "Document", "mediaType": "video/mp4", "url": "https://r.example/w.mp4", "icon": "javascript:alert(1)"},
		map[string]any{"type": "Document", "mediaType": "video/mp4", "url": "https://r.example/x.mp4"},
	})
	if len(got) != 3 || got[0].PreviewURL != "https://r.example/v.png" || got[0].PreviewWidth != 400 || got[0].PreviewHeight != 300 {
		t.Fatalf("icon: %+v", got)
	}
	if got[1].PreviewURL != "" || got[2].PreviewURL != "" {
		t.Fatalf("no usable icon: %+v", got[1:])
	}
}

// TestIssue17EmojiTags: a post's (or actor's) Emoji tags become its
// custom emojis: Mastodon's shortcodes only, an http(s) icon only, each
// shortcode once, at most federation.MaxRemoteEmojis.
func TestIssue17EmojiTags(t *testing.T) {
	emoji := func(name, url string) any {
		return map[string]any{"type": "Emoji", "name": name, "icon": map[string]any{"type": "Image", "url": url}}
	}
	tags := []any{
		emoji(":blobcat:", "https://r.example/blobcat.png"),
		emoji(":blobcat:", "https://r.example/other.png"),  // again
		emoji(":bad code:", "https://r.example/x.png"),     // not a shortcode
		emoji(":x:", "https://r.example/x.png"),            // too short
		emoji(":evil:", "javascript:alert(1)"),             // not http(s)
		map[string]any{"type": "Hashtag", "name": "#cats"}, // not an emoji
		map[string]any{"type": "Emoji", "name": ":plain:", "icon": "https://r.example/plain.png"},
	}
	got := ParseEmojis(tags)
	if len(got) != 2 || got[0].Shortcode != "blobcat" || got[0].URL != "https://r.example/blobcat.png" ||
		got[1].Shortcode != "plain" {
		t.Fatalf("emojis: %+v", got)
	}
	var many []any
	for i := 0; i < 100; i++ {
		many = append(many, emoji(":e"+string(rune('a'+i%26))+string(rune('a'+i/26))+":", "https://r.example/e.png"))
	}
	if n := len(ParseEmojis(many)); n != 64 {
		t.Fatalf("kept %d", n)
	}
}
