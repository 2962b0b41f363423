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
	want := `<p>&lt;b&gt;hey&lt;/b&gt; <span class="h-card" translate="no"><a href="https://b.example/@bob" class="u-url mention">@<span>bob</span></a></span> @ghost@nowhere.example <a href="https://a.example/tags/go" class="mention hashtag" rel="tag">#<span>Go</span></a></p>`
	if html != want {
		t.Fatalf("RenderPost =\n%s\nwant\n%s", html, want)
	}
}

func TestRenderPostLinks(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"see https://x.example/a?b=1&c=2.", `<p>see <a href="https://x.example/a?b=1&amp;c=2" target="_blank" rel="nofollow noopener noreferrer" translate="no"><span class="invisible">https://</span><span class="">x.example/a?b=1&amp;c=2</span></a>.</p>`},
		{"(https://en.example/wiki/Go_(language))", `<p>(<a href="https://en.example/wiki/Go_(language)" target="_blank" rel="nofollow noopener noreferrer" translate="no"><span class="invisible">https://</span><span class="">en.example/wiki/Go_(language)</span></a>)</p>`},
		{"https://a.example/a/very/long/path/that/goes/on/and/on", `<p><a href="https://a.example/a/very/long/path/that/goes/on/and/on" target="_blank" rel="nofollow noopener noreferrer" translate="no"><span class="invisible">https://</span><span class="ellipsis">a.example/a/very/long/path/tha</span><span class="invisible">t/goes/on/and/on</span></a></p>`},
		{"a #tag in https://x.example/#frag\nnext line", `<p>a <a href="https://a.example/tags/tag" class="mention hashtag" rel="tag">#<span>tag</span></a> in <a href="https://x.example/#frag" target="_blank" rel="nofollow noopener noreferrer" translate="no"><span class="invisible">https://</span><span class="">x.example/#frag</span></a><br>next line</p>`},
		{"javascript:alert(1) <script>", `<p>javascript:alert(1) &lt;script&gt;</p>`},
	} {
		if got := ap.RenderPost(c.in, nil, "https://a.example/tags/"); got != c.want {
			t.Errorf("RenderPost(%q) =\n%s\nwant\n%s", c.in, got, c.want)
		}
	}
}
