package archive

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

type fakeSource struct {
	posts []*federation.Status // newest first
	rows  map[Kind][][]string
	pages int
}

func (f *fakeSource) ArchiveStatuses(_ context.Context, _ int64, before int64, limit int) ([]*federation.Status, error) {
	f.pages++
	var out []*federation.Status
	for _, p := range f.posts {
		if (before == 0 || p.ID < before) && len(out) < limit {
			out = append(out, p)
		}
	}
	return out, nil
}

func (f *fakeSource) ArchiveEach(_ context.Context, _ int64, kind Kind, fn func([]string) error) error {
	for _, r := range f.rows[kind] {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

func testExport(t *testing.T) []byte {
	t.Helper()
	links := federation.Links{Base: "https://a.example"}
	me := links.Actor("alice")
	day := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	src := &fakeSource{rows: map[Kind][][]string{
		Likes:     {{"https://b.example/notes/1"}},
		Bookmarks: {{"https://b.example/notes/2"}},
		Following: {{"bob@b.example", "true", "false", ""}},
		Blocks:    {{"spam@c.example"}},
		Mutes:     {{"loud@c.example", "true"}},
		Lists:     {{"Friends", "bob@b.example"}},
	}}
	for i := int64(5); i >= 1; i-- {
		st := &federation.Status{ID: i, URI: me + "/statuses/" + string(rune('0'+i)), Content: "<p>post</p>",
			Visibility: federation.Public, Published: day.Add(time.Duration(i) * time.Hour)}
		st.To, st.Cc = []string{federation.PublicCollection}, []string{links.Followers("alice")}
		if i == 2 {
			st.Visibility, st.To, st.Cc, st.Summary = federation.Private, []string{links.Followers("alice")}, nil, "cw"
		}
		if i == 3 {
			st.InReplyToURI = me + "/statuses/1"
			st.Attachments = []federation.Attachment{{Type: "Audio", MediaType: "audio/ogg", URL: links.Base + "/media/k/original.ogg", MediaID: 9, Description: "sound"}}
		}
		src.posts = append(src.posts, st)
	}
	var buf bytes.Buffer
	e := &Export{Account: &federation.Account{ID: 1, Username: "alice", Domain: "a.example"}, Links: links, Source: src, PageSize: 2,
		Media: func(context.Context, federation.Attachment) (io.ReadCloser, error) {
			return io.NopCloser(strings.NewReader("OggS sound bytes")), nil
		}}
	if err := e.Write(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	if src.pages != 3 {
		t.Errorf("%d pages of 2 for 5 posts, want 3", src.pages)
	}
	return buf.Bytes()
}

func TestArchiveExportThenOpen(t *testing.T) {
	b := testExport(t)
	a, err := Open(bytes.NewReader(b), int64(len(b)), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	posts := allPosts(t, a)
	if a.ActorURI != "https://a.example/users/alice" || len(posts) != 5 || a.NumPosts != 5 || a.OldestFirst {
		t.Fatalf("actor %q, %d posts (%d counted, oldest first %v)", a.ActorURI, len(posts), a.NumPosts, a.OldestFirst)
	}
	// Streamed in the outbox's order: newest first.
	for i := 1; i < len(posts); i++ {
		if posts[i].Status.Published.After(posts[i-1].Status.Published) {
			t.Fatal("posts not in the outbox's order, newest first")
		}
	}
	p2, p3 := posts[3], posts[2]
	if p2.Status.Visibility != federation.Private || p2.Status.Summary != "cw" {
		t.Errorf("private post: %+v", p2.Status)
	}
	if p3.Status.InReplyToURI != "https://a.example/users/alice/statuses/1" || len(p3.Media) != 1 || p3.Media[0].Description != "sound" {
		t.Fatalf("reply with media: %+v %+v", p3.Status, p3.Media)
	}
	rc, err := a.OpenMedia(p3.Media[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(rc)
	if string(data) != "OggS sound bytes" {
		t.Errorf("media %q", data)
	}
	for _, k := range []Kind{Bookmarks, Following, Blocks, Mutes, Lists} {
		if a.Rows[k] != 1 {
			t.Errorf("%s: %d rows, want 1", k, a.Rows[k])
		}
	}
	if r := rowsOf(t, a, Following); r[0][0] != "bob@b.example" {
		t.Errorf("following %v", r)
	}
	if r := rowsOf(t, a, Lists); r[0][0] != "Friends" || r[0][1] != "bob@b.example" {
		t.Errorf("lists %v", r)
	}
	if r := rowsOf(t, a, Bookmarks); r[0][0] != "https://b.example/notes/2" {
		t.Errorf("bookmarks %v", r)
	}
}

// rowsOf reads every row of a list.
func rowsOf(t *testing.T, a *Archive, k Kind) [][]string {
	t.Helper()
	var rows [][]string
	if err := a.EachRow(k, func(r []string) error { rows = append(rows, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return rows
}

// rezip copies an archive, changing one entry (nil: dropping it).
func rezip(t *testing.T, b []byte, name string, content []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		data := content
		if f.Name != name {
			rc, _ := f.Open()
			data, _ = io.ReadAll(rc)
			rc.Close()
		} else if content == nil {
			continue
		}
		w, _ := zw.Create(f.Name)
		w.Write(data)
	}
	zw.Close()
	return out.Bytes()
}

func TestArchiveMalformedImports(t *testing.T) {
	good := testExport(t)
	var mediaName string
	zr, _ := zip.NewReader(bytes.NewReader(good), int64(len(good)))
	for _, f := range zr.File {
		if strings.HasPrefix(f.Name, MediaDir) {
			mediaName = f.Name
		}
	}
	for _, c := range []struct {
		name  string
		data  []byte
		lim   Limits
		wants []string
	}{
		{"not a zip", []byte("hello, this is text"), DefaultLimits, []string{"not a zip"}},
		{"truncated", good[:len(good)*2/3], DefaultLimits, []string{"not a zip archive, or a truncated one"}},
		{"bad outbox JSON", rezip(t, good, OutboxFile, []byte("{\n  \"orderedItems\": [\n    {\"type\": \"Create\",, }\n  ]\n}")),
			DefaultLimits, []string{"outbox.json", "line 3, column 24"}},
		{"bad CSV", rezip(t, good, ListsCSV, []byte("Friends,bob@b.example\n\"unterminated\n")), DefaultLimits, []string{"lists.csv", "line 2"}},
		{"missing actor", rezip(t, good, ActorFile, nil), DefaultLimits, []string{"actor.json is missing"}},
		{"missing media", rezip(t, good, mediaName, nil), DefaultLimits, []string{"outbox.json: item", mediaName, "missing"}},
		{"too large", good, Limits{MaxOutbox: 10}, []string{"outbox.json: declared size", "over the limit of 10"}},
		{"too many posts", good, Limits{MaxPosts: 2}, []string{"outbox.json: more than 2 posts, over the limit of 2"}},
		{"long CSV record", rezip(t, good, ListsCSV, []byte("Friends,"+strings.Repeat("b", 10_000)+"@b.example\n")), DefaultLimits,
			[]string{"lists.csv: a record longer than 4096 bytes"}},
		{"too many rows", rezip(t, good, MutesCSV, []byte("a@b.example\nc@d.example\n")), Limits{MaxRows: 1},
			[]string{"muted_accounts.csv: more than 1 rows, over the limit of 1"}},
		{"too many rows in all", good, Limits{MaxTotalRows: 3}, []string{"more than 3 rows in the archive's lists"}},
	} {
		_, err := Open(bytes.NewReader(c.data), int64(len(c.data)), c.lim)
		if err == nil || errs.CodeOf(err) != errs.Invalid {
			t.Errorf("%s: %v, want an invalid archive", c.name, err)
			continue
		}
		for _, w := range c.wants {
			if !strings.Contains(errs.MessageOf(err), w) {
				t.Errorf("%s: %q does not say %q", c.name, errs.MessageOf(err), w)
			}
		}
	}
	// A damaged media file (bytes flipped inside it) fails its checksum
	// when read, once, by the import (which then skips it).
	i := bytes.Index(good, []byte("OggS sound bytes"))
	bad := bytes.Clone(good)
	bad[i+5] ^= 0xff
	a, err := Open(bytes.NewReader(bad), int64(len(bad)), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := a.OpenMedia(mediaName)
	if err == nil {
		_, err = io.ReadAll(rc)
		rc.Close()
	}
	if errs.CodeOf(err) != errs.Invalid || !strings.Contains(errs.MessageOf(err), "damaged") {
		t.Errorf("damaged media: %v", err)
	}
}

// allPosts reads every post of an archive through EachPost.
func allPosts(t *testing.T, a *Archive) []Post {
	t.Helper()
	var posts []Post
	if err := a.EachPost(func(p Post) error { posts = append(posts, p); return nil }); err != nil {
		t.Fatal(err)
	}
	return posts
}

// An outbox listing its oldest post first is recognised (the importer
// then hands out ids in file order), and EachPost reads it in that order.
func TestArchiveOldestFirstOutbox(t *testing.T) {
	b := testExport(t)
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var outbox map[string]any
	for _, f := range zr.File {
		if f.Name == OutboxFile {
			rc, _ := f.Open()
			err = json.NewDecoder(rc).Decode(&outbox)
			rc.Close()
		}
	}
	if err != nil || outbox == nil {
		t.Fatalf("outbox: %v", err)
	}
	items := outbox["orderedItems"].([]any)
	slices.Reverse(items)
	body, _ := json.Marshal(outbox)
	b = rezip(t, b, OutboxFile, body)
	a, err := Open(bytes.NewReader(b), int64(len(b)), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	posts := allPosts(t, a)
	if !a.OldestFirst || a.NumPosts != 5 || len(posts) != 5 {
		t.Fatalf("oldest first %v, %d counted, %d read", a.OldestFirst, a.NumPosts, len(posts))
	}
	for i := 1; i < len(posts); i++ {
		if posts[i].Status.Published.Before(posts[i-1].Status.Published) {
			t.Fatal("posts not in the outbox's order, oldest first")
		}
	}
}
