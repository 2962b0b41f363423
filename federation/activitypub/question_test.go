package activitypub_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
)

// A local post's upload goes out as Mastodon sends media: a Document with
// alt text, BlurHash, size and focal point; the API-only fields stay home.
func TestNoteAttachmentsAsMastodonSendsThem(t *testing.T) {
	st := &federation.Status{URI: "https://a.example/users/alice/statuses/1", Published: time.Now(),
		Attachments: []federation.Attachment{{Type: "Document", MediaType: "image/png", URL: "https://a.example/media/k/original.png",
			Description: "a cat", Blurhash: "LEHV6nWB2yk8pyo0adR*.7kCMdnj", Width: 800, Height: 600, MediaID: 42,
			PreviewURL: "https://a.example/media/k/small.png", PreviewWidth: 640, PreviewHeight: 480, FocusX: 0.5, FocusY: -0.25}}}
	m := roundTrip(t, ap.NewNote(st, "https://a.example/users/alice", ""))
	atts := m["attachment"].([]any)
	if len(atts) != 1 {
		t.Fatalf("attachments %v", atts)
	}
	a := atts[0].(map[string]any)
	want := map[string]any{"type": "Document", "mediaType": "image/png", "url": "https://a.example/media/k/original.png",
		"name": "a cat", "blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj", "width": 800.0, "height": 600.0,
		"focalPoint": []any{0.5, -0.25}}
	if fmt.Sprint(a) != fmt.Sprint(want) {
		t.Fatalf("attachment %v\nwant %v", a, want)
	}
	if m["type"] != "Note" {
		t.Fatalf("type %v", m["type"])
	}
}

// A poll makes the post a Question with oneOf (or anyOf), counts and
// endTime; once ended it is closed.
func TestQuestionFromPoll(t *testing.T) {
	end := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	st := &federation.Status{URI: "https://a.example/users/alice/statuses/2", Published: time.Now(),
		Poll: &federation.Poll{EndsAt: &end, Voters: 3, Options: []federation.PollOption{{Title: "tea", Votes: 2}, {Title: "coffee", Votes: 1}}}}
	m := roundTrip(t, ap.NewNote(st, "https://a.example/users/alice", ""))
	if m["type"] != "Question" || m["endTime"] != "2030-01-02T03:04:05Z" || m["votersCount"] != 3.0 || m["closed"] != nil || m["anyOf"] != nil {
		t.Fatalf("question %v", m)
	}
	one := m["oneOf"].([]any)
	if fmt.Sprint(one) != "[map[name:tea replies:map[totalItems:2 type:Collection] type:Note] map[name:coffee replies:map[totalItems:1 type:Collection] type:Note]]" {
		t.Fatalf("oneOf %v", one)
	}
	// What we send parses back into the same poll.
	back, _, err := ap.ParseStatus(mustJSON(t, m), "")
	if err != nil || back.Poll == nil || back.Poll.Options[0].Votes != 2 || back.Poll.Voters != 3 || !back.Poll.EndsAt.Equal(end) {
		t.Fatalf("parsed back: %+v %v", back, err)
	}
	past := time.Now().Add(-time.Hour)
	st.Poll.EndsAt, st.Poll.Multiple = &past, true
	m = roundTrip(t, ap.NewNote(st, "https://a.example/users/alice", ""))
	if m["anyOf"] == nil || m["oneOf"] != nil || m["closed"] == nil {
		t.Fatalf("ended multiple-choice question %v", m)
	}
}

func TestParseVote(t *testing.T) {
	v, ok := ap.ParseVote(fixtureObject(t, "mastodon/create-poll-vote-docs-example.json", "object"))
	if !ok || v.Name != "orange" || v.ID != "https://mastodon.example/users/bob#votes/827163" ||
		v.Author != "https://mastodon.example/users/bob" || v.InReplyTo != "https://mastodon.example/users/alice/statuses/1009947848598745" {
		t.Fatalf("vote %+v %v", v, ok)
	}
	for _, doc := range []string{
		`{"id":"https://b.example/v/1","type":"Note","inReplyTo":"https://a.example/s/1"}`,                                                 // no name
		`{"id":"https://b.example/v/1","type":"Note","name":"x"}`,                                                                          // no poll
		`{"id":"https://b.example/v/1","type":"Question","name":"x","inReplyTo":"https://a.example/s/1"}`,                                  // not a Note
		`{"id":"https://b.example/v/1","type":"Note","name":"x","inReplyTo":"https://a.example/s/1","attributedTo":"https://c.example/u"}`, // author elsewhere
	} {
		if _, ok := ap.ParseVote([]byte(doc)); ok {
			t.Errorf("ParseVote(%s) accepted", doc)
		}
	}
}

func mustJSON(t *testing.T, m map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
