package activitypub_test

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/fixtures"
)

// activityFixtures lists every activity in the fixtures with what
// ParseActivity must read from it.
var activityFixtures = []struct {
	file, id, typ, actor, objectID, objectType, target string
}{
	{"bookwyrm/create-generatednote-book-tag.json", "https://example.com/users/rat/generatednote/2567/activity", "Create", "https://example.com/users/rat", "https://example.com/users/rat/generatednote/2567", "GeneratedNote", ""},
	{"friendica/update-note-edit.json", "https://pirati.ca/objects/ec054ce7-4762-3c1c-3c25-0cc665717210/Update", "Update", "https://pirati.ca/profile/heluecht", "https://pirati.ca/objects/ec054ce7-4762-3c1c-3c25-0cc665717210", "Note", ""},
	{"gotosocial/accept-like-request.json", "http://localhost:8080/users/the_mighty_zork/accepts/01J1AKMZ8JE5NW0ZSFTRC1JJNE", "Accept", "http://localhost:8080/users/the_mighty_zork", "https://fossbros-anonymous.io/users/foss_satan/interaction_requests/01J1AKRRHQ6MDDQHV0TP716T2K", "LikeRequest", ""},
	{"gotosocial/announce-followers-only.json", "http://localhost:8080/users/the_mighty_zork/statuses/01G74JJ1KS331G2JXHRMZCE0ER", "Announce", "http://localhost:8080/users/the_mighty_zork", "http://localhost:8080/users/the_mighty_zork/statuses/01FCTA44PW9H1TB328S9AQXKDS", "", ""},
	{"gotosocial/delete-note.json", "", "Delete", "http://localhost:8080/users/admin", "http://localhost:8080/users/admin/statuses/01F8MH75CBF9JFX4ZAD54N0W0R", "", ""},
	{"gotosocial/flag-report.json", "http://localhost:8080/reports/01GP3AWY4CRDVRNZKW0TEAMB5R", "Flag", "http://localhost:8080/users/localhost:8080", "http://fossbros-anonymous.io/users/foss_satan", "", ""},
	{"lemmy/accept-follow.json", "http://enterprise.lemmy.ml/activities/accept/75f080cc-3d45-4654-8186-8f3bb853fa27", "Accept", "http://enterprise.lemmy.ml/c/main", "http://ds9.lemmy.ml/activities/follow/6abcd50b-b8ca-4952-86b0-a6dd8cc12866", "Follow", ""},
	{"lemmy/announce-create-page.json", "http://enterprise.lemmy.ml/activities/announce/8030b171-803a-4108-94b1-342688f375cf", "Announce", "http://enterprise.lemmy.ml/c/main", "http://enterprise.lemmy.ml/activities/create/2807c9ec-3ad8-4859-a9e0-28b59b6e499f", "Create", ""},
	{"lemmy/delete-actor-remove-data.json", "http://ds9.lemmy.ml/activities/delete/f2abee48-c7bb-41d5-9e27-8775ff32db12", "Delete", "http://ds9.lemmy.ml/u/lemmy_alpha", "http://ds9.lemmy.ml/u/lemmy_alpha", "", ""},
	{"lemmy/flag-report-page.json", "http://ds9.lemmy.ml/activities/flag/98b0933f-5e45-4a95-a15f-e0dc86361ba4", "Flag", "http://ds9.lemmy.ml/u/lemmy_alpha", "http://enterprise.lemmy.ml/post/7", "", ""},
	{"mastodon/accept-follow.json", "http://mastodon.example.org/users/admin#accepts/follows/4", "Accept", "http://mastodon.example.org/users/admin", "http://localtesting.pleroma.lol/users/lain#follows/4", "Follow", ""},
	{"mastodon/announce.json", "http://mastodon.example.org/users/admin/statuses/99542391527669785/activity", "Announce", "http://mastodon.example.org/users/admin", "http://mastodon.example.org/@admin/99541947525187367", "", ""},
	{"mastodon/block-docs-example.json", "https://mastodon.example/bd06bb61-01e0-447a-9dc8-95915db9aec8", "Block", "https://mastodon.example/users/alice", "https://example.com/~mallory", "", ""},
	{"mastodon/create-note-cw-mention-hashtag.json", "http://mastodon.example.org/users/admin/statuses/99512778738411822/activity", "Create", "http://mastodon.example.org/users/admin", "http://mastodon.example.org/users/admin/statuses/99512778738411822", "Note", ""},
	{"mastodon/create-note-reply-followers-only.json", "https://mastodon.madrid/users/felix/statuses/107224289116410645/activity", "Create", "https://mastodon.madrid/users/felix", "https://mastodon.madrid/users/felix/statuses/107224289116410645", "Note", ""},
	{"mastodon/create-poll-vote-docs-example.json", "https://mastodon.example/users/bob#votes/827163/activity", "Create", "https://mastodon.example/users/bob", "https://mastodon.example/users/bob#votes/827163", "Note", ""},
	{"mastodon/create-question-poll.json", "https://mastodon.sdf.org/users/rinpatch/statuses/102070944809637304/activity", "Create", "https://mastodon.sdf.org/users/rinpatch", "https://mastodon.sdf.org/users/rinpatch/statuses/102070944809637304", "Question", ""},
	{"mastodon/delete-actor.json", "http://mastodon.example.org/users/admin#delete", "Delete", "http://mastodon.example.org/users/admin", "http://mastodon.example.org/users/admin", "Person", ""},
	{"mastodon/delete-note-tombstone.json", "https://mastodon.madrid/users/felix/statuses/107773559874184870#delete", "Delete", "https://mastodon.madrid/users/felix", "https://mastodon.madrid/users/felix/statuses/107773559874184870", "Tombstone", ""},
	{"mastodon/flag-report-docs-example.json", "https://mastodon.example/ccb4f39a-506a-490e-9a8c-71831c7713a4", "Flag", "https://mastodon.example/actor", "https://example.com/users/1", "", ""},
	{"mastodon/follow.json", "http://mastodon.example.org/users/admin#follows/2", "Follow", "http://mastodon.example.org/users/admin", "http://localtesting.pleroma.lol/users/lain", "", ""},
	{"mastodon/like.json", "http://mastodon.example.org/users/admin#likes/2", "Like", "http://mastodon.example.org/users/admin", "http://localtesting.pleroma.lol/objects/eb92579d-3417-42a8-8652-2492c2d4f454", "", ""},
	{"mastodon/move-docs-example.json", "https://mastodon.example/users/alice#moves/1", "Move", "https://mastodon.example/users/alice", "https://mastodon.example/users/alice", "", "https://alice.com/users/109835986274379"},
	{"mastodon/signed-inbox-post-2.5.http", "http://localhost:3000/users/ronan2/statuses/100939547203370948/activity", "Create", "http://localhost:3000/users/ronan2", "http://localhost:3000/users/ronan2/statuses/100939547203370948", "Note", ""},
	{"mastodon/undo-follow.json", "http://mastodon.example.org/users/admin#follow/2/undo", "Undo", "http://mastodon.example.org/users/admin", "http://mastodon.example.org/users/admin#follows/2", "Follow", ""},
	{"mastodon/undo-like.json", "http://mastodon.example.org/users/admin#likes/2/undo", "Undo", "http://mastodon.example.org/users/admin", "http://mastodon.example.org/users/admin#likes/2", "Like", ""},
	{"mastodon/update-person.json", "http://mastodon.example.org/users/gargron#updates/1519563538", "Update", "http://mastodon.example.org/users/gargron", "http://mastodon.example.org/users/gargron", "Person", ""},
	{"misskey/create-note.json", "https://mk.absturztau.be/notes/93e7nm8wqg/activity", "Create", "https://mk.absturztau.be/users/8ozbzjs3o8", "https://mk.absturztau.be/notes/93e7nm8wqg", "Note", ""},
	{"misskey/like-custom-emoji-reaction.json", "https://misskey.local.live/likes/917ocsybgp", "Like", "https://misskey.local.live/users/8x8yep20u2", "https://pleroma.local.live/objects/89937a53-2692-4631-bb62-770091267391", "", ""},
	{"mitra/create-note-data-integrity-proof.json", "https://mitra.social/activities/create/019f57cf-693a-77f2-b006-c4c76338956a", "Create", "https://mitra.social/users/test", "https://mitra.social/objects/019f57cf-693a-77f2-b006-c4c76338956a", "Note", ""},
	{"pleroma/create-note-mention-litepub.json", "https://greenish.red/activities/db61d52b-9c35-486a-bf27-bbd4edc6c6a1", "Create", "https://greenish.red/users/nutomic", "https://greenish.red/objects/1a522f2e-d5ab-454b-93d7-e58bc0650c2a", "Note", ""},
	{"pleroma/delete-note-object-iri.json", "https://greenish.red/activities/52f0b259-596e-429f-8a1b-c0b455f8932b", "Delete", "https://greenish.red/users/vpzom", "https://greenish.red/objects/38e2b983-ebf5-4387-9bc2-3b80305469c9", "", ""},
}

// Every activity in the fixtures parses with its type, actor, object and
// target; every other fixture document is refused as not an activity.
func TestParseActivityFixtures(t *testing.T) {
	docs := allFixtureDocs(t, fixturesDir(t))
	seen := map[string]bool{}
	for _, d := range docs {
		t.Run(d.name, func(t *testing.T) {
			i := slices.IndexFunc(activityFixtures, func(w struct{ file, id, typ, actor, objectID, objectType, target string }) bool {
				return w.file == d.name
			})
			a, err := ap.ParseActivity(d.doc)
			if i < 0 {
				if !errs.Is(err, errs.Invalid) {
					t.Fatalf("non-activity (type %v) parsed: %+v, %v", d.m["type"], a, err)
				}
				return
			}
			seen[d.name] = true
			w := activityFixtures[i]
			if err != nil {
				t.Fatalf("ParseActivity: %v", err)
			}
			if a.ID != w.id || a.Type != w.typ || a.Actor != w.actor || a.ObjectID != w.objectID || a.ObjectType != w.objectType || a.Target != w.target {
				t.Errorf("got  id %q type %q actor %q object %q (%q) target %q\nwant id %q type %q actor %q object %q (%q) target %q",
					a.ID, a.Type, a.Actor, a.ObjectID, a.ObjectType, a.Target, w.id, w.typ, w.actor, w.objectID, w.objectType, w.target)
			}
			switch o := d.m["object"].(type) {
			case map[string]any:
				if a.ObjectDoc == nil {
					t.Fatal("embedded object not re-marshalled")
				}
				if got := decodeMap(t, a.ObjectDoc); got["id"] != o["id"] || len(got) != len(o) {
					t.Errorf("ObjectDoc = %s", a.ObjectDoc)
				}
			default:
				if a.ObjectDoc != nil || a.ObjectType != "" {
					t.Errorf("ObjectDoc %s / ObjectType %q for a non-embedded object", a.ObjectDoc, a.ObjectType)
				}
			}
			if a.Object == nil {
				t.Error("raw object missing")
			}
		})
	}
	for _, w := range activityFixtures {
		if !seen[w.file] {
			t.Errorf("activity fixture %s not found", w.file)
		}
	}
}

// Addressing is read as for statuses: single strings, Public normalised.
func TestParseActivityAddressing(t *testing.T) {
	a, err := ap.ParseActivity(readFixture(t, "gotosocial/delete-note.json"))
	if err != nil {
		t.Fatal(err)
	}
	wantStrings(t, "to", a.To, []string{federation.PublicCollection})
	wantStrings(t, "cc", a.Cc, []string{"http://localhost:8080/users/admin/followers"})

	a, err = ap.ParseActivity(readFixture(t, "pleroma/delete-note-object-iri.json"))
	if err != nil {
		t.Fatal(err)
	}
	wantStrings(t, "to", a.To, []string{"https://greenish.red/users/vpzom/followers", "https://voyager.lemmy.ml/c/main", "https://voyager.lemmy.ml/u/dess_voy_41u2", federation.PublicCollection})
	if len(a.Cc) != 0 {
		t.Errorf("cc = %q", a.Cc)
	}

	a, err = ap.ParseActivity(readFixture(t, "mastodon/flag-report-docs-example.json"))
	if err != nil {
		t.Fatal(err)
	}
	wantStrings(t, "to", a.To, []string{"https://example.com/users/1"})
	if objs, ok := a.Object.([]any); !ok || len(objs) != 3 {
		t.Errorf("flag object = %#v, want the array of 3", a.Object)
	}
}

// Create and Update carry their post: the embedded document parses with
// ParseStatus and its author is the activity's actor. Lemmy's Announce
// wraps a whole Create.
func TestParseActivityEmbeddedPosts(t *testing.T) {
	n := 0
	for _, w := range activityFixtures {
		if w.typ != "Create" && w.typ != "Update" || w.objectType == "Person" {
			continue
		}
		var doc []byte
		if strings.HasSuffix(w.file, ".http") {
			doc = rawHTTPBody(readFixture(t, w.file))
		} else {
			doc = readFixture(t, w.file)
		}
		a, err := ap.ParseActivity(doc)
		if err != nil {
			t.Fatalf("%s: %v", w.file, err)
		}
		st, author, err := ap.ParseStatus(a.ObjectDoc, "")
		if err != nil {
			t.Fatalf("%s: ParseStatus: %v", w.file, err)
		}
		if author != a.Actor || st.URI != a.ObjectID {
			t.Errorf("%s: author %q uri %q, want %q %q", w.file, author, st.URI, a.Actor, a.ObjectID)
		}
		n++
	}
	if n != 10 {
		t.Errorf("%d embedded posts, want 10", n)
	}

	outer, err := ap.ParseActivity(readFixture(t, "lemmy/announce-create-page.json"))
	if err != nil {
		t.Fatal(err)
	}
	inner, err := ap.ParseActivity(outer.ObjectDoc)
	if err != nil {
		t.Fatal(err)
	}
	if inner.Type != "Create" || inner.Actor != "http://enterprise.lemmy.ml/u/lemmy_beta" || inner.ObjectType != "Page" || inner.ObjectID != "http://enterprise.lemmy.ml/post/7" {
		t.Errorf("inner = %+v", inner)
	}
	st, author, err := ap.ParseStatus(inner.ObjectDoc, "")
	if err != nil || author != inner.Actor || st.Visibility != federation.Public {
		t.Errorf("page: %+v %q %v", st, author, err)
	}
}

func TestParseActivityRefuses(t *testing.T) {
	cases := map[string]string{
		"JSON array":        `[{"type":"Follow","actor":"https://a.example/u","object":"https://b.example/u"}]`,
		"null":              `null`,
		"broken":            `{"type":`,
		"no type":           `{"id":"https://a.example/1","actor":"https://a.example/u"}`,
		"empty type":        `{"type":"","actor":"https://a.example/u"}`,
		"no actor":          `{"id":"https://a.example/1","type":"Like","object":"https://b.example/n"}`,
		"relative actor":    `{"type":"Like","actor":"/users/a","object":"https://b.example/n"}`,
		"actor object junk": `{"type":"Like","actor":{"name":"a"},"object":"https://b.example/n"}`,
		"relative id":       `{"id":"/activities/1","type":"Like","actor":"https://a.example/u"}`,
		"note with actor":   `{"id":"https://a.example/n","type":"Note","actor":"https://a.example/u"}`,
		"person":            `{"id":"https://a.example/u","type":["Person"],"actor":"https://a.example/u"}`,
		"tombstone":         `{"id":"https://a.example/n","type":"Tombstone","actor":"https://a.example/u"}`,
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			a, err := ap.ParseActivity([]byte(doc))
			if !errs.Is(err, errs.Invalid) || a != nil {
				t.Fatalf("got %+v, %v; want errs.Invalid", a, err)
			}
		})
	}
}

func TestParseActivityShapes(t *testing.T) {
	// actor as an object and as an array; an unknown extension type.
	a, err := ap.ParseActivity([]byte(`{"type":"EmojiReact","actor":[{"type":"Person","id":"https://a.example/u"}],"object":{"id":"https://b.example/n","type":["Note","Object"]},"content":"🐦","target":"not a url","to":"as:Public"}`))
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != "" || a.Type != "EmojiReact" || a.Actor != "https://a.example/u" || a.ObjectID != "https://b.example/n" || a.ObjectType != "Note" || a.Target != "" {
		t.Errorf("activity = %+v", a)
	}
	wantStrings(t, "to", a.To, []string{federation.PublicCollection})
	var back map[string]any
	if err := json.Unmarshal(a.ObjectDoc, &back); err != nil || back["id"] != "https://b.example/n" {
		t.Errorf("ObjectDoc = %s (%v)", a.ObjectDoc, err)
	}
	// An object id that is not an absolute URL is not an ObjectID.
	a, err = ap.ParseActivity([]byte(`{"type":"Like","actor":"https://a.example/u","object":"javascript:alert(1)"}`))
	if err != nil || a.ObjectID != "" || a.Object != "javascript:alert(1)" {
		t.Errorf("activity = %+v, %v", a, err)
	}
	// Add/Remove with a target collection.
	a, err = ap.ParseActivity([]byte(`{"id":"https://a.example/add/1","type":"Add","actor":"https://a.example/u","object":"https://a.example/n/1","target":{"id":"https://a.example/u/featured","type":"OrderedCollection"}}`))
	if err != nil || a.Target != "https://a.example/u/featured" || a.ObjectID != "https://a.example/n/1" {
		t.Errorf("add = %+v, %v", a, err)
	}
}

func FuzzParseActivity(f *testing.F) {
	for _, s := range []string{
		`{"id":"https://a.example/1","type":"Follow","actor":"https://a.example/u","object":"https://b.example/u"}`,
		`{"type":["Delete"],"actor":[{"id":"https://a.example/u"}],"object":{"id":"https://a.example/n","type":"Tombstone"},"to":"as:Public","cc":[1,null,{}]}`,
		`{"type":"Flag","actor":{"id":"https://a.example/u"},"object":["https://b.example/u",{"id":"https://b.example/n"}],"target":[]}`,
		`[]`, `null`, `{}`, `{"type":1,"actor":2}`,
	} {
		f.Add([]byte(s))
	}
	if dir := filepath.Join(fixtures.Root(f), "..", "shared", "fixtures"); fixtureDirExists(dir) {
		for _, d := range allFixtureDocs(f, dir) {
			f.Add(d.doc)
		}
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		a, err := ap.ParseActivity(doc)
		if err != nil {
			if a != nil || !errs.Is(err, errs.Invalid) {
				t.Fatalf("error %v with activity %v", err, a)
			}
			return
		}
		if a.Type == "" || ap.HostOf(a.Actor) == "" {
			t.Fatalf("incomplete activity %+v", a)
		}
		if a.ID != "" && ap.HostOf(a.ID) == "" {
			t.Fatalf("relative id %q", a.ID)
		}
		if a.ObjectDoc != nil {
			var m map[string]any
			if err := json.Unmarshal(a.ObjectDoc, &m); err != nil {
				t.Fatalf("ObjectDoc %q: %v", a.ObjectDoc, err)
			}
		}
	})
}
