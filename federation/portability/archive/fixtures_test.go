package archive

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/fixtures"
)

// An archive assembled from real Mastodon documents: its actor, Creates
// of a public note with a content warning and of a reply to a post not in
// the archive, a Note with an image whose url points into the archive as
// Mastodon's exports do, and a boost, which is not the owner's post.
func TestArchiveImportFromMastodonFixtures(t *testing.T) {
	dir := filepath.Join(fixtures.Dir(t), "mastodon")
	read := func(name string) map[string]any {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	note := read("note-attachment-blurhash-focalpoint.json")
	const image = "media_attachments/files/113/306/831/original/kde.png"
	atts, _ := note["attachment"].([]any)
	if len(atts) == 0 {
		t.Fatal("fixture note has no attachment")
	}
	for i, a := range atts {
		m := a.(map[string]any)
		if i == 0 {
			m["url"] = "/" + image
		}
	}
	items := []any{
		read("create-note-cw-mention-hashtag.json"),
		read("create-note-reply-followers-only.json"),
		map[string]any{"type": "Create", "id": note["id"].(string) + "/activity", "object": note},
		read("announce.json"),
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	put := func(name string, v any) {
		w, _ := zw.Create(name)
		if b, ok := v.([]byte); ok {
			w.Write(b)
			return
		}
		json.NewEncoder(w).Encode(v)
	}
	put(ActorFile, read("actor-person.json"))
	put(OutboxFile, map[string]any{"type": "OrderedCollection", "totalItems": len(items), "orderedItems": items})
	put(image, []byte("\x89PNG not really"))
	put(LikesFile, map[string]any{"type": "OrderedCollection", "orderedItems": []string{"https://mamot.fr/users/retiolus/statuses/1"}})
	put(FollowingCSV, []byte("Account address,Show boosts,Notify on new posts,Languages\nretiolus@mamot.fr,true,false,\n"))
	zw.Close()

	a, err := Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	posts := allPosts(t, a)
	if a.ActorURI != "https://masto.qa.urbanwildlife.biz/users/mastodon" || len(posts) != 3 || a.NumPosts != 3 {
		t.Fatalf("actor %q, %d posts (want the 3 notes, not the boost)", a.ActorURI, len(posts))
	}
	byURI := map[string]Post{}
	for _, p := range posts {
		byURI[p.OriginalURI] = p
	}
	cw := byURI["http://mastodon.example.org/users/admin/statuses/99512778738411822"]
	if cw.Status == nil || cw.Status.Summary != "cw" || cw.Status.Visibility != federation.Public || cw.Status.Published.IsZero() {
		t.Errorf("note with a content warning: %+v", cw.Status)
	}
	reply := byURI["https://mastodon.madrid/users/felix/statuses/107224289116410645"]
	if reply.Status == nil || reply.Status.InReplyToURI != "https://mamot.fr/users/retiolus/statuses/107224244380204526" {
		t.Errorf("reply: %+v", reply.Status)
	}
	withMedia := byURI[note["id"].(string)]
	if len(withMedia.Media) != 1 || withMedia.Media[0].Path != image {
		t.Errorf("media: %+v", withMedia.Media)
	}
	if f := rowsOf(t, a, Following); len(f) != 1 || f[0][0] != "retiolus@mamot.fr" {
		t.Errorf("following %v", f)
	}
}
