package activitypub_test

import (
	"reflect"
	"testing"

	ap "github.com/roost-social/roost/federation/activitypub"
)

func TestFindMentionsAndHashtags(t *testing.T) {
	text := "hi @bob@B.example and @carol, @bob@b.example again; mail x@y.example is not one. #Roost #roost #fedi_2 &#39; https://x.example/#frag"
	got := ap.FindMentions(text)
	want := []ap.Mention{{Username: "bob", Host: "b.example"}, {Username: "carol"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("mentions %+v, want %+v", got, want)
	}
	if tags := ap.FindHashtags(text); !reflect.DeepEqual(tags, []string{"roost", "fedi_2"}) {
		t.Fatalf("hashtags %v", tags)
	}
}

func TestRenderPost(t *testing.T) {
	html := ap.RenderPost("<b>hey</b> @bob@b.example @ghost@nowhere.example #Go",
		[]ap.Mention{{Username: "bob", Host: "b.example", URI: "https://b.example/users/bob", URL: "https://b.example/@bob"}},
		"https://a.example/tags/")
	want := `<p>&lt;b&gt;hey&lt;/b&gt; <span class="h-card"><a href="https://b.example/@bob" class="u-url mention">@<span>bob</span></a></span> @ghost@nowhere.example <a href="https://a.example/tags/go" class="mention hashtag" rel="tag">#<span>Go</span></a></p>`
	if html != want {
		t.Fatalf("RenderPost =\n%s\nwant\n%s", html, want)
	}
}
