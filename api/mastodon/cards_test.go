package mastodon

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
)

// TestIssue17CardEntityHasEveryPreviewCardKey: a card renders every key
// of Mastodon's PreviewCard with its JSON type, nullable ones as null.
func TestIssue17CardEntityHasEveryPreviewCardKey(t *testing.T) {
	published := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range []*federation.Card{
		{URL: "https://x.example/", Title: "t", Type: "link"},
		{URL: "https://x.example/", Title: "t", Type: "video", HTML: "<iframe></iframe>", Width: 640, Height: 360,
			ImageKey: "cards/abc/preview.png", Blurhash: "LKO2", Language: "en", PublishedAt: &published,
			AuthorName: "Ann", AuthorURL: "https://x.example/ann"},
	} {
		b, err := json.Marshal(cardEntity("https://a.example", c))
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		strs := []string{"url", "title", "description", "type", "author_name", "author_url", "provider_name",
			"provider_url", "html", "image_description", "embed_url"}
		for _, k := range strs {
			if _, ok := got[k].(string); !ok {
				t.Errorf("%s = %#v, want a string", k, got[k])
			}
		}
		for _, k := range []string{"width", "height"} {
			if _, ok := got[k].(float64); !ok {
				t.Errorf("%s = %#v, want a number", k, got[k])
			}
		}
		if _, ok := got["authors"].([]any); !ok {
			t.Errorf("authors = %#v, want an array", got["authors"])
		}
		for _, k := range []string{"image", "blurhash", "language", "published_at"} {
			v, ok := got[k]
			if _, isStr := v.(string); !ok || (v != nil && !isStr) {
				t.Errorf("%s = %#v, want a string or null", k, v)
			}
		}
		if c.ImageKey != "" && got["image"] != "https://a.example/preview_cards/abc/preview.png" {
			t.Errorf("image = %v", got["image"])
		}
	}
}
