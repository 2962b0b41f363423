package activitypub_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/fixtures"
)

// postTypeNames are the types ParseStatus must accept.
var postTypeNames = []string{
	"Note", "Question", "Article", "Page", "Video", "Image", "Audio", "Event",
	"GeneratedNote", "Comment", "Quotation", "Review",
}

// fixtureDoc is one JSON document found in the fixtures: a file, a
// request body, or an object embedded in one of them.
type fixtureDoc struct {
	name string // file, plus the path inside it
	doc  []byte
	m    map[string]any
}

// rawHTTPBody returns the body of a raw HTTP message fixture.
func rawHTTPBody(b []byte) []byte {
	if i := bytes.Index(b, []byte("\r\n\r\n")); i >= 0 {
		return b[i+4:]
	}
	if i := bytes.Index(b, []byte("\n\n")); i >= 0 {
		return b[i+2:]
	}
	return nil
}

// allFixtureDocs returns every top-level JSON object in the fixtures
// (JSON files and the bodies of .http captures).
func allFixtureDocs(tb testing.TB, dir string) []fixtureDoc {
	tb.Helper()
	var out []fixtureDoc
	files, _ := filepath.Glob(filepath.Join(dir, "*", "*"))
	for _, f := range files {
		var b []byte
		switch filepath.Ext(f) {
		case ".json":
			b, _ = os.ReadFile(f)
		case ".http":
			raw, _ := os.ReadFile(f)
			b = rawHTTPBody(raw)
		default:
			continue
		}
		var m map[string]any
		if json.Unmarshal(b, &m) != nil || m == nil {
			continue
		}
		name, _ := filepath.Rel(dir, f)
		out = append(out, fixtureDoc{name: filepath.ToSlash(name), doc: b, m: m})
	}
	if len(out) < 50 {
		tb.Fatalf("found only %d JSON fixtures in %s", len(out), dir)
	}
	return out
}

func fixtureTypes(m map[string]any) []string {
	switch t := m["type"].(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, s := range t {
			if s, ok := s.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func isPostFixture(m map[string]any) bool {
	for _, t := range fixtureTypes(m) {
		if slices.Contains(postTypeNames, t) {
			return true
		}
	}
	return false
}

// postObjects returns every post object in the fixtures: standalone ones,
// objects embedded in activities (at any depth), and collection items.
func postObjects(t *testing.T) []fixtureDoc {
	t.Helper()
	var out []fixtureDoc
	var walk func(name string, m map[string]any, doc []byte)
	walk = func(name string, m map[string]any, doc []byte) {
		if isPostFixture(m) {
			if doc == nil {
				var err error
				if doc, err = json.Marshal(m); err != nil {
					t.Fatal(err)
				}
			}
			out = append(out, fixtureDoc{name: name, doc: doc, m: m})
			return
		}
		if o, ok := m["object"].(map[string]any); ok {
			walk(name+"#object", o, nil)
		}
		if items, ok := m["orderedItems"].([]any); ok {
			for i, item := range items {
				if o, ok := item.(map[string]any); ok {
					walk(fmt.Sprintf("%s#orderedItems[%d]", name, i), o, nil)
				}
			}
		}
	}
	for _, d := range allFixtureDocs(t, fixturesDir(t)) {
		walk(d.name, d.m, d.doc)
	}
	return out
}

// fixtureObject returns the JSON of a fixture, or of the object at path
// (keys of nested objects) inside it.
func fixtureObject(t *testing.T, name string, path ...string) []byte {
	t.Helper()
	b := readFixture(t, name)
	if len(path) == 0 {
		return b
	}
	m := decodeMap(t, b)
	for _, k := range path {
		m = obj(t, m, k)
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// parseFixtureStatus parses a fixture post (or the object at path in it).
func parseFixtureStatus(t *testing.T, name string, path ...string) (*federation.Status, string) {
	t.Helper()
	st, author, err := ap.ParseStatus(fixtureObject(t, name, path...), "")
	if err != nil {
		t.Fatalf("%s %v: %v", name, path, err)
	}
	return st, author
}

func wantStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

func wantTime(t *testing.T, what string, got time.Time, want string) {
	t.Helper()
	w, err := time.Parse(time.RFC3339Nano, want)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(w) {
		t.Errorf("%s = %v, want %v", what, got, w)
	}
}

func wantTimePtr(t *testing.T, what string, got *time.Time, want string) {
	t.Helper()
	if got == nil {
		t.Errorf("%s = nil, want %s", what, want)
		return
	}
	wantTime(t, what, *got, want)
}

// Every post object in the fixtures parses, keeping its id, author and
// addressing.
func TestParseStatusFixtures(t *testing.T) {
	posts := postObjects(t)
	if len(posts) < 22 {
		t.Fatalf("found only %d post objects in the fixtures", len(posts))
	}
	for _, p := range posts {
		t.Run(p.name, func(t *testing.T) {
			st, author, err := ap.ParseStatus(p.doc, "")
			if err != nil {
				t.Fatalf("ParseStatus: %v", err)
			}
			if st.URI != p.m["id"] {
				t.Errorf("URI = %q, want %q", st.URI, p.m["id"])
			}
			if st.TenantID != 0 || st.AccountID != 0 || st.ID != 0 {
				t.Errorf("ids set on a parsed remote status: %+v", st)
			}
			wantAuthor := ""
			switch a := p.m["attributedTo"].(type) {
			case string:
				wantAuthor = a
			case []any:
				wantAuthor, _ = a[0].(map[string]any)["id"].(string)
			case nil:
				wantAuthor, _ = p.m["actor"].(string)
			}
			if author != wantAuthor {
				t.Errorf("author = %q, want %q", author, wantAuthor)
			}
			switch st.Visibility {
			case federation.Public, federation.Unlisted, federation.Private, federation.Direct:
			default:
				t.Errorf("visibility = %q", st.Visibility)
			}
			if p.m["published"] != nil && st.Published.IsZero() {
				t.Errorf("published %v not read", p.m["published"])
			}
			if _, vote := p.m["name"]; st.Content == "" && !vote {
				t.Errorf("empty content")
			}
			for _, a := range st.Attachments {
				if !strings.HasPrefix(a.URL, "http") || a.Type == "" {
					t.Errorf("attachment %+v", a)
				}
			}
		})
	}
}

// Mastodon: content warning, sensitive flag, a mention and a hashtag.
func TestParseStatusContentWarningMentionHashtag(t *testing.T) {
	st, author := parseFixtureStatus(t, "mastodon/create-note-cw-mention-hashtag.json", "object")
	if author != "http://mastodon.example.org/users/admin" {
		t.Errorf("author = %q", author)
	}
	if st.URI != "http://mastodon.example.org/users/admin/statuses/99512778738411822" {
		t.Errorf("URI = %q", st.URI)
	}
	if st.URL != "http://mastodon.example.org/@admin/99512778738411822" {
		t.Errorf("URL = %q", st.URL)
	}
	if st.Summary != "cw" || !st.Sensitive {
		t.Errorf("summary %q sensitive %v, want cw/true", st.Summary, st.Sensitive)
	}
	wantStrings(t, "mentions", st.Mentions, []string{"http://localtesting.pleroma.lol/users/lain"})
	wantStrings(t, "tags", st.Tags, []string{"moo"})
	if st.Visibility != federation.Public {
		t.Errorf("visibility = %q, want public", st.Visibility)
	}
	wantStrings(t, "to", st.To, []string{federation.PublicCollection})
	wantStrings(t, "cc", st.Cc, []string{"http://mastodon.example.org/users/admin/followers", "http://localtesting.pleroma.lol/users/lain"})
	wantTime(t, "published", st.Published, "2018-02-12T14:08:20Z")
	if st.EditedAt != nil || st.InReplyToURI != "" || st.Poll != nil || len(st.Attachments) != 0 {
		t.Errorf("unexpected fields: %+v", st)
	}
	if !strings.Contains(st.Content, `<a href="http://localtesting.pleroma.lol/users/lain" class="u-url mention" rel="nofollow noreferrer noopener" target="_blank">`) ||
		!strings.Contains(st.Content, "#moo") {
		t.Errorf("content = %s", st.Content)
	}
}

// Mastodon: a reply addressed to followers with Public in cc is unlisted
// (Public in cc wins over the followers collection in to).
func TestParseStatusReplyUnlisted(t *testing.T) {
	st, author := parseFixtureStatus(t, "mastodon/create-note-reply-followers-only.json", "object")
	if author != "https://mastodon.madrid/users/felix" {
		t.Errorf("author = %q", author)
	}
	if st.InReplyToURI != "https://mamot.fr/users/retiolus/statuses/107224244380204526" {
		t.Errorf("inReplyTo = %q", st.InReplyToURI)
	}
	wantStrings(t, "to", st.To, []string{"https://mastodon.madrid/users/felix/followers"})
	wantStrings(t, "cc", st.Cc, []string{federation.PublicCollection, "https://mamot.fr/users/retiolus"})
	if st.Visibility != federation.Unlisted {
		t.Errorf("visibility = %q, want unlisted", st.Visibility)
	}
	wantStrings(t, "mentions", st.Mentions, []string{"https://mamot.fr/users/retiolus"})
	if st.Summary != "" || st.Sensitive {
		t.Errorf("summary %q sensitive %v", st.Summary, st.Sensitive)
	}
	// content wins over contentMap (which lacks two spaces here).
	if !strings.Contains(st.Content, "never been disappointed") {
		t.Errorf("content not taken from content: %s", st.Content)
	}
	if st.Language != "en" {
		t.Errorf("language = %q, want en", st.Language)
	}
}

// Mastodon: an attachment with blurhash, size and alt text.
func TestParseStatusAttachmentBlurhash(t *testing.T) {
	st, author := parseFixtureStatus(t, "mastodon/note-attachment-blurhash-focalpoint.json")
	if author != "https://floss.social/users/kde" {
		t.Errorf("author = %q", author)
	}
	want := []federation.Attachment{{
		Type:        "Document",
		MediaType:   "image/jpeg",
		URL:         "https://cdn.masto.host/floss/media_attachments/files/113/306/826/682/985/891/original/c8d906a2f2ab2334.jpg",
		Description: "The KDE dragons Katie and Konqi stand on either side of a pot filling up with gold coins. Donate!",
		Blurhash:    "USQv:h-W-qI-^,W;RPs=^-R%NZxbo#sDobSc",
		Width:       1500,
		Height:      1095,
	}}
	if !slices.Equal(st.Attachments, want) {
		t.Errorf("attachments = %+v\nwant %+v", st.Attachments, want)
	}
	if st.InReplyToURI != "https://floss.social/users/kde/statuses/113306824627995724" {
		t.Errorf("inReplyTo = %q", st.InReplyToURI)
	}
	wantStrings(t, "mentions", st.Mentions, []string{"https://lemmy.kde.social/c/kde"})
	if st.Visibility != federation.Public || st.Language != "en" {
		t.Errorf("visibility %q language %q", st.Visibility, st.Language)
	}
	// translate="no" and Mastodon's invisible/ellipsis classes survive.
	if !strings.Contains(st.Content, `<span class="invisible">https://</span>`) || !strings.Contains(st.Content, `translate="no"`) {
		t.Errorf("content = %s", st.Content)
	}
}

// Mastodon: a single-choice poll with counts and an end time.
func TestParseStatusPoll(t *testing.T) {
	st, author := parseFixtureStatus(t, "mastodon/create-question-poll.json", "object")
	if author != "https://mastodon.sdf.org/users/rinpatch" {
		t.Errorf("author = %q", author)
	}
	if st.Poll == nil {
		t.Fatal("no poll")
	}
	if st.Poll.Multiple {
		t.Error("oneOf poll marked multiple")
	}
	want := []federation.PollOption{
		{Title: "Dunno", Votes: 0},
		{Title: "Everyone knows that!", Votes: 1},
		{Title: "25 char limit is dumb", Votes: 0},
		{Title: "I can't even fit a funny", Votes: 1},
	}
	if !slices.Equal(st.Poll.Options, want) {
		t.Errorf("options = %+v", st.Poll.Options)
	}
	wantTimePtr(t, "endsAt", st.Poll.EndsAt, "2019-05-11T09:03:36Z")
	if st.Poll.Voters != 0 {
		t.Errorf("voters = %d", st.Poll.Voters)
	}
	if st.Content != "<p>Why is Tenshi eating a corndog so cute?</p>" || st.Language != "en" || st.Visibility != federation.Public {
		t.Errorf("content %q language %q visibility %q", st.Content, st.Language, st.Visibility)
	}
}

// Mastodon docs: a multiple-choice poll with a voter count. It names no
// author, so the caller takes the activity's actor.
func TestParseStatusPollAnyOf(t *testing.T) {
	st, author := parseFixtureStatus(t, "mastodon/question-anyof-docs-example.json")
	if author != "" {
		t.Errorf("author = %q, want none", author)
	}
	if st.Poll == nil || !st.Poll.Multiple {
		t.Fatalf("poll = %+v, want multiple", st.Poll)
	}
	want := []federation.PollOption{{Title: "apple", Votes: 3}, {Title: "orange", Votes: 7}, {Title: "banana", Votes: 6}}
	if !slices.Equal(st.Poll.Options, want) {
		t.Errorf("options = %+v", st.Poll.Options)
	}
	if st.Poll.Voters != 7 {
		t.Errorf("voters = %d, want 7", st.Poll.Voters)
	}
	wantTimePtr(t, "endsAt", st.Poll.EndsAt, "2023-03-06T07:40:13Z")
	if st.Content != "What should I eat for breakfast today?" {
		t.Errorf("content = %q", st.Content)
	}
	if st.Visibility != federation.Direct {
		t.Errorf("unaddressed poll visibility = %q, want direct", st.Visibility)
	}
}

// Misskey: a poll with endTime null never ends; millisecond timestamps.
func TestParseStatusPollNoEndTime(t *testing.T) {
	st, author := parseFixtureStatus(t, "misskey/question-no-endtime.json")
	if author != "https://skippers-bin.com/users/7v1w1r8ce6" {
		t.Errorf("author = %q", author)
	}
	if st.Poll == nil || st.Poll.Multiple {
		t.Fatalf("poll = %+v", st.Poll)
	}
	if st.Poll.EndsAt != nil {
		t.Errorf("endsAt = %v, want nil", st.Poll.EndsAt)
	}
	want := []federation.PollOption{{Title: "Working", Votes: 0}, {Title: "Broken af", Votes: 1}}
	if !slices.Equal(st.Poll.Options, want) {
		t.Errorf("options = %+v", st.Poll.Options)
	}
	wantTime(t, "published", st.Published, "2019-09-05T05:35:32.541Z")
	wantStrings(t, "mentions", st.Mentions, []string{"https://marchgenso.me/users/march"})
	if st.Visibility != federation.Public {
		t.Errorf("visibility = %q", st.Visibility)
	}
}

// GoToSocial: to and cc as single strings, a single tag object, alt text
// in the attachment's summary.
func TestParseStatusGoToSocial(t *testing.T) {
	st, _ := parseFixtureStatus(t, "gotosocial/note-emoji-hashtag-attachment-policy.json")
	wantStrings(t, "to", st.To, []string{federation.PublicCollection})
	wantStrings(t, "cc", st.Cc, []string{"http://localhost:8080/users/admin/followers"})
	wantStrings(t, "tags", st.Tags, []string{"welcome"})
	if len(st.Attachments) != 1 {
		t.Fatalf("attachments = %+v", st.Attachments)
	}
	a := st.Attachments[0]
	if a.Type != "Image" || a.MediaType != "image/jpeg" || a.Blurhash != "LIIE|gRj00WB-;j[t7j[4nWBj[Rj" ||
		a.Description != "Black and white image of some 50's style text saying: Welcome On Board" {
		t.Errorf("attachment = %+v", a)
	}
	if st.Summary != "" || st.Sensitive || st.Language != "en" {
		t.Errorf("summary %q sensitive %v language %q", st.Summary, st.Sensitive, st.Language)
	}

	st, _ = parseFixtureStatus(t, "gotosocial/note-reply-mention.json")
	wantStrings(t, "mentions", st.Mentions, []string{"http://localhost:8080/users/the_mighty_zork"})
	if st.InReplyToURI != "http://localhost:8080/users/the_mighty_zork/statuses/01F8MHAMCHF6Y650WCRSCP4WMY" {
		t.Errorf("inReplyTo = %q", st.InReplyToURI)
	}
}

// Pixelfed: hashtags and an image without alt text (name: null).
func TestParseStatusPixelfed(t *testing.T) {
	st, author := parseFixtureStatus(t, "pixelfed/note-image-hashtags-capabilities.json")
	if author != "https://pixelfed.social/users/dansup" {
		t.Errorf("author = %q", author)
	}
	wantStrings(t, "tags", st.Tags, []string{"mazda", "zoomzoom"})
	if len(st.Attachments) != 1 || st.Attachments[0].Type != "Image" || st.Attachments[0].Description != "" ||
		!strings.HasSuffix(st.Attachments[0].URL, "B4SHeEqWsj5t7qCIRzm7nvfCAtm31J8o12Ji1A2x.jpeg") {
		t.Errorf("attachments = %+v", st.Attachments)
	}
	wantTime(t, "published", st.Published, "2018-06-01T05:16:51Z")
}

// PeerTube: an attributedTo array (the account first), a url array (the
// HTML page preferred), a Markdown description under the title, an edit.
func TestParseStatusPeerTubeVideo(t *testing.T) {
	st, author := parseFixtureStatus(t, "peertube/video-object.json")
	if author != "https://tilvids.com/accounts/thelinuxexperiment" {
		t.Errorf("author = %q", author)
	}
	if st.URL != "https://tilvids.com/videos/watch/e7946124-7b72-4ad7-9d22-844a84bb2de1" {
		t.Errorf("URL = %q", st.URL)
	}
	if !strings.HasPrefix(st.Content, "<p><strong>Mesa, Wayland &amp; X.org in trouble") ||
		!strings.Contains(st.Content, "<p>Head to https://squarespace.com/thelinuxexperiment") ||
		!strings.Contains(st.Content, "SUPPORT THE CHANNEL:<br>Get access to:") {
		t.Errorf("content = %.300s", st.Content)
	}
	wantTimePtr(t, "editedAt", st.EditedAt, "2025-02-04T09:00:50.396Z")
	if st.Visibility != federation.Public {
		t.Errorf("visibility = %q", st.Visibility)
	}
}

// BookWyrm: an Article review gets its title; an attachment with id null
// keeps its url; a Book tag is neither a mention nor a hashtag.
func TestParseStatusBookWyrm(t *testing.T) {
	st, _ := parseFixtureStatus(t, "bookwyrm/article-review.json")
	if !strings.HasPrefix(st.Content, "<p><strong>Review of ") || !strings.HasSuffix(st.Content, "<p>review</p>") {
		t.Errorf("content = %s", st.Content)
	}
	if len(st.Attachments) != 1 || st.Attachments[0].URL != "https://bookwyrm.com/images/covers/e7a6a777-b3fa-44be-a819-33f3aa5187dd.jpeg" ||
		st.Attachments[0].Description != "Death's End (The Three-Body Problem) (2018, Head of Zeus)" {
		t.Errorf("attachments = %+v", st.Attachments)
	}
	wantTimePtr(t, "editedAt", st.EditedAt, "2022-01-07T16:14:08.267337Z")

	st, author := parseFixtureStatus(t, "bookwyrm/create-generatednote-book-tag.json", "object")
	if author != "https://example.com/users/rat" || st.Content != "wants to read" {
		t.Errorf("author %q content %q", author, st.Content)
	}
	if len(st.Mentions) != 0 || len(st.Tags) != 0 {
		t.Errorf("mentions %q tags %q", st.Mentions, st.Tags)
	}
}

// Friendica: an edited Note with a German contentMap.
func TestParseStatusFriendicaEdit(t *testing.T) {
	st, _ := parseFixtureStatus(t, "friendica/update-note-edit.json", "object")
	wantTime(t, "published", st.Published, "2022-03-24T07:22:36Z")
	wantTimePtr(t, "editedAt", st.EditedAt, "2022-03-24T21:37:34Z")
	if st.Language != "de" {
		t.Errorf("language = %q, want de", st.Language)
	}
	wantStrings(t, "mentions", st.Mentions, []string{"https://pirati.ca/profile/test8", "https://ds9.lemmy.ml/c/testcom"})
	if st.Visibility != federation.Unlisted {
		t.Errorf("visibility = %q", st.Visibility)
	}
}

// Lemmy: a Page without body shows its title and a link.
func TestParseStatusLemmyPage(t *testing.T) {
	st, author := parseFixtureStatus(t, "lemmy/announce-create-page.json", "object", "object")
	if author != "http://enterprise.lemmy.ml/u/lemmy_beta" {
		t.Errorf("author = %q", author)
	}
	want := `<p><strong>post 4</strong></p><p><a href="http://enterprise.lemmy.ml/post/7" rel="nofollow noreferrer noopener" target="_blank">http://enterprise.lemmy.ml/post/7</a></p>`
	if st.Content != want {
		t.Errorf("content = %s", st.Content)
	}
}

// Pleroma: sensitive null and an empty summary are no content warning;
// Mastodon's poll vote is a Note with a name and no content, sent direct.
func TestParseStatusPleromaAndVote(t *testing.T) {
	st, _ := parseFixtureStatus(t, "pleroma/note-reply-to-misskey.json")
	if st.Sensitive || st.Summary != "" || st.Visibility != federation.Public || st.InReplyToURI != "https://mk.absturztau.be/notes/93e7nm8wqg" {
		t.Errorf("status = %+v", st)
	}
	st, _ = parseFixtureStatus(t, "mastodon/create-poll-vote-docs-example.json", "object")
	if st.Content != "" || st.Visibility != federation.Direct || st.InReplyToURI != "https://mastodon.example/users/alice/statuses/1009947848598745" {
		t.Errorf("vote = %+v", st)
	}
	wantStrings(t, "to", st.To, []string{"https://mastodon.example/users/alice"})
	if !st.Published.IsZero() {
		t.Errorf("published = %v, want zero", st.Published)
	}
}

// statusDoc builds a Note document from a base with fields replaced (nil
// deletes a field).
func statusDoc(t *testing.T, fields map[string]any) []byte {
	t.Helper()
	m := map[string]any{
		"id":           "https://remote.example/notes/1",
		"type":         "Note",
		"attributedTo": "https://remote.example/users/alice",
		"content":      "<p>hello</p>",
		"published":    "2024-01-02T03:04:05Z",
		"to":           []any{"https://www.w3.org/ns/activitystreams#Public"},
	}
	for k, v := range fields {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseStatusSanitises(t *testing.T) {
	st, _, err := ap.ParseStatus(statusDoc(t, map[string]any{
		"content": `<p onclick="x()">hi<script>alert(1)</script><img src=x onerror=alert(2)><a href="javascript:alert(3)">l</a><iframe src="https://evil.example"></iframe><style>p{}</style></p>`,
		"summary": `<b>cw</b> <script>alert(4)</script>&amp; more`,
	}), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"script", "alert", "onclick", "onerror", "<img", "javascript:", "iframe", "style"} {
		if strings.Contains(st.Content, bad) {
			t.Errorf("content keeps %q: %s", bad, st.Content)
		}
	}
	if !strings.HasPrefix(st.Content, "<p>hi") {
		t.Errorf("content = %s", st.Content)
	}
	if st.Summary != "cw & more" || !st.Sensitive {
		t.Errorf("summary %q sensitive %v", st.Summary, st.Sensitive)
	}
}

func TestParseStatusRefuses(t *testing.T) {
	cases := map[string][]byte{
		"foreign author":          statusDoc(t, map[string]any{"attributedTo": "https://other.example/users/mallory"}),
		"foreign author in array": statusDoc(t, map[string]any{"attributedTo": []any{map[string]any{"type": "Person", "id": "https://other.example/u/m"}, "https://remote.example/users/alice"}}),
		"foreign actor fallback":  statusDoc(t, map[string]any{"attributedTo": nil, "actor": "https://other.example/users/mallory"}),
		"relative author":         statusDoc(t, map[string]any{"attributedTo": "/users/alice"}),
		"relative id":             statusDoc(t, map[string]any{"id": "/notes/1"}),
		"missing id":              statusDoc(t, map[string]any{"id": nil}),
		"ftp id":                  statusDoc(t, map[string]any{"id": "ftp://remote.example/notes/1"}),
		"user info id":            statusDoc(t, map[string]any{"id": "https://alice@remote.example/notes/1"}),
		"actor type":              statusDoc(t, map[string]any{"type": "Person"}),
		"no type":                 statusDoc(t, map[string]any{"type": nil}),
		"activity":                statusDoc(t, map[string]any{"type": "Create"}),
		"JSON array":              []byte(`[{"id":"https://remote.example/notes/1","type":"Note"}]`),
		"JSON string":             []byte(`"https://remote.example/notes/1"`),
		"null":                    []byte(`null`),
		"broken JSON":             []byte(`{"id":`),
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			st, _, err := ap.ParseStatus(doc, "")
			if !errs.Is(err, errs.Invalid) || st != nil {
				t.Fatalf("got %+v, %v; want errs.Invalid", st, err)
			}
		})
	}
}

func TestParseStatusTypeArray(t *testing.T) {
	st, _, err := ap.ParseStatus(statusDoc(t, map[string]any{"type": []any{"Object", "Note"}}), "")
	if err != nil || st.Content != "<p>hello</p>" {
		t.Fatalf("type array: %+v, %v", st, err)
	}
}

func TestParseStatusVisibility(t *testing.T) {
	const followers = "https://remote.example/users/alice/fans" // not ending in /followers
	cases := []struct {
		name      string
		to, cc    any
		followers string
		want      federation.Visibility
		wantTo    []string
	}{
		{"public", []any{"https://www.w3.org/ns/activitystreams#Public"}, nil, "", federation.Public, []string{federation.PublicCollection}},
		{"as:Public", "as:Public", nil, "", federation.Public, []string{federation.PublicCollection}},
		{"bare Public", []any{"Public"}, nil, "", federation.Public, []string{federation.PublicCollection}},
		{"unlisted", []any{"https://remote.example/users/alice/followers"}, "as:Public", "", federation.Unlisted, []string{"https://remote.example/users/alice/followers"}},
		{"private", []any{"https://remote.example/users/alice/followers"}, nil, "", federation.Private, nil},
		{"private by given collection", followers, nil, followers, federation.Private, []string{followers}},
		{"unknown collection is direct", followers, nil, "", federation.Direct, []string{followers}},
		{"direct", []any{"https://other.example/users/bob"}, []any{}, "", federation.Direct, []string{"https://other.example/users/bob"}},
		{"nothing", nil, nil, "", federation.Direct, nil},
		{"junk dropped and deduplicated", []any{"as:Public", federation.PublicCollection, "not a url", 7, map[string]any{"id": "https://other.example/users/bob"}}, nil, "", federation.Public,
			[]string{federation.PublicCollection, "https://other.example/users/bob"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fields := map[string]any{"to": c.to, "cc": c.cc}
			st, _, err := ap.ParseStatus(statusDoc(t, fields), c.followers)
			if err != nil {
				t.Fatal(err)
			}
			if st.Visibility != c.want {
				t.Errorf("visibility = %q, want %q", st.Visibility, c.want)
			}
			if c.wantTo != nil {
				wantStrings(t, "to", st.To, c.wantTo)
			}
		})
	}
}

func TestParseStatusContentMapAndLanguage(t *testing.T) {
	// No content: contentMap's "en" is preferred, and names the language.
	doc := []byte(`{"id":"https://remote.example/notes/1","type":"Note","contentMap":{"de":"<p>hallo</p>","en":"<p>hello</p>"}}`)
	st, _, err := ap.ParseStatus(doc, "")
	if err != nil || st.Content != "<p>hello</p>" || st.Language != "en" {
		t.Fatalf("en preferred: %+v, %v", st, err)
	}
	// Without "en", the first language in document order.
	doc = []byte(`{"id":"https://remote.example/notes/1","type":"Note","contentMap":{"fr":"<p>salut</p>","de":"<p>hallo</p>","ja":"x"}}`)
	st, _, _ = ap.ParseStatus(doc, "")
	if st.Content != "<p>salut</p>" || st.Language != "fr" {
		t.Errorf("first language: %q %q", st.Content, st.Language)
	}
	// With content, the language is contentMap's first key.
	doc = []byte(`{"id":"https://remote.example/notes/1","type":"Note","content":"x","contentMap":{"pt-BR":"x","en":"y"}}`)
	st, _, _ = ap.ParseStatus(doc, "")
	if st.Content != "x" || st.Language != "pt-BR" {
		t.Errorf("content with map: %q %q", st.Content, st.Language)
	}
	// Junk language tags are dropped.
	doc = []byte(`{"id":"https://remote.example/notes/1","type":"Note","contentMap":{"<script>":"x"}}`)
	st, _, _ = ap.ParseStatus(doc, "")
	if st.Language != "" || st.Content != "x" {
		t.Errorf("junk language: %q %q", st.Content, st.Language)
	}
}

func TestParseStatusTagsAndAttachments(t *testing.T) {
	var atts []any
	for i := 0; i < 20; i++ {
		atts = append(atts, map[string]any{"type": "Image", "url": fmt.Sprintf("https://cdn.example/%d.png", i)})
	}
	atts = append([]any{
		map[string]any{"type": "Document", "url": "/relative.png"},              // skipped: relative
		map[string]any{"type": "Document"},                                      // skipped: no url
		map[string]any{"type": "PropertyValue", "url": "https://cdn.example/p"}, // skipped: not media
		map[string]any{"type": "Video", "url": []any{map[string]any{"href": "https://cdn.example/v.mp4", "mediaType": "video/mp4"}}, "width": 1.5, "blurhash": "not\"valid"},
		map[string]any{"type": "Link", "href": "https://cdn.example/a.mp3", "mediaType": "audio/mpeg", "name": "<b>song</b>"},
	}, atts...)
	st, _, err := ap.ParseStatus(statusDoc(t, map[string]any{
		"attachment": atts,
		"tag": []any{
			map[string]any{"type": "Hashtag", "name": "#Go"},
			map[string]any{"type": "Hashtag", "name": "go"},
			map[string]any{"type": "Hashtag", "name": "#"},
			map[string]any{"type": "Hashtag", "name": "#two words"},
			map[string]any{"type": "Hashtag", "name": "#Ünïcode"},
			map[string]any{"type": "Mention", "href": "https://other.example/users/bob"},
			map[string]any{"type": "Mention", "href": "https://other.example/users/bob"},
			map[string]any{"type": "Mention", "href": "acct:bob@other.example"},
			map[string]any{"type": "Emoji", "name": ":x:"},
		},
	}), "")
	if err != nil {
		t.Fatal(err)
	}
	wantStrings(t, "tags", st.Tags, []string{"go", "ünïcode"})
	wantStrings(t, "mentions", st.Mentions, []string{"https://other.example/users/bob"})
	if len(st.Attachments) != 16 {
		t.Fatalf("%d attachments, want 16", len(st.Attachments))
	}
	v, a := st.Attachments[0], st.Attachments[1]
	if v != (federation.Attachment{Type: "Video", MediaType: "video/mp4", URL: "https://cdn.example/v.mp4"}) {
		t.Errorf("video = %+v", v)
	}
	if a != (federation.Attachment{Type: "Audio", MediaType: "audio/mpeg", URL: "https://cdn.example/a.mp3", Description: "song"}) {
		t.Errorf("link = %+v", a)
	}
	if st.Attachments[15].URL != "https://cdn.example/13.png" {
		t.Errorf("last = %+v", st.Attachments[15])
	}
}

func TestParseStatusDates(t *testing.T) {
	st, _, _ := ap.ParseStatus(statusDoc(t, map[string]any{"published": "2024-01-02T03:04:05+02:00", "updated": "2024-01-02T01:04:05Z"}), "")
	wantTime(t, "published", st.Published, "2024-01-02T01:04:05Z")
	if st.EditedAt != nil || st.Published.Location() != time.UTC {
		t.Errorf("updated equal to published is no edit: %v (%v)", st.EditedAt, st.Published.Location())
	}
	st, _, _ = ap.ParseStatus(statusDoc(t, map[string]any{"published": "yesterday", "updated": "2024-01-02T01:04:05Z"}), "")
	if !st.Published.IsZero() || st.EditedAt != nil {
		t.Errorf("bad published: %v %v", st.Published, st.EditedAt)
	}
	// A poll closed without a time reads as ended at its last update.
	st, _, _ = ap.ParseStatus(statusDoc(t, map[string]any{"type": "Question", "closed": true, "updated": "2024-02-01T00:00:00Z",
		"oneOf": []any{map[string]any{"type": "Note", "name": "a"}}}), "")
	wantTimePtr(t, "closed poll", st.Poll.EndsAt, "2024-02-01T00:00:00Z")
	st, _, _ = ap.ParseStatus(statusDoc(t, map[string]any{"type": "Question", "closed": "2024-03-01T00:00:00Z",
		"anyOf": []any{map[string]any{"type": "Note", "name": "a", "replies": map[string]any{"totalItems": -4}}}}), "")
	wantTimePtr(t, "closed at", st.Poll.EndsAt, "2024-03-01T00:00:00Z")
	if st.Poll.Options[0].Votes != 0 || !st.Poll.Multiple {
		t.Errorf("poll = %+v", st.Poll)
	}
}

func FuzzParseStatus(f *testing.F) {
	for _, s := range []string{
		`{"id":"https://a.example/1","type":"Note","attributedTo":"https://a.example/u","content":"<p>x</p>","to":"as:Public"}`,
		`{"id":"https://a.example/1","type":["Question"],"anyOf":[{"name":"a","replies":{"totalItems":1e300}}],"closed":true}`,
		`{"id":"https://a.example/1","type":"Page","name":"t","summary":"<b>s</b>","mediaType":"text/markdown","url":[{"href":"https://a.example/p","mediaType":"text/html"}]}`,
		`{"id":"https://a.example/1","type":"Note","contentMap":{"en":1,"de":"x"},"attachment":{"type":"Link","href":["https://a.example/x"]},"tag":{"type":"Hashtag","name":"#A"}}`,
		`[]`, `null`, `{}`,
	} {
		f.Add([]byte(s))
	}
	// Real documents as seeds, when the shared fixtures are present.
	if dir := filepath.Join(fixtures.Root(f), "..", "shared", "fixtures"); fixtureDirExists(dir) {
		for _, d := range allFixtureDocs(f, dir) {
			f.Add(d.doc)
			if o, ok := d.m["object"].(map[string]any); ok {
				b, _ := json.Marshal(o)
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		st, author, err := ap.ParseStatus(doc, "https://a.example/u/followers")
		if err != nil {
			if st != nil || !errs.Is(err, errs.Invalid) {
				t.Fatalf("error %v with status %v", err, st)
			}
			return
		}
		if st.URI == "" || st.Visibility == "" {
			t.Fatalf("incomplete status %+v", st)
		}
		if author != "" && ap.HostOf(author) != ap.HostOf(st.URI) {
			t.Fatalf("author %q not on the host of %q", author, st.URI)
		}
		if len(st.Attachments) > 16 {
			t.Fatalf("%d attachments", len(st.Attachments))
		}
		if strings.Contains(strings.ToLower(st.Content), "<script") {
			t.Fatalf("script in content: %s", st.Content)
		}
	})
}

func fixtureDirExists(dir string) bool {
	st, err := os.Stat(dir)
	return err == nil && st.IsDir()
}
