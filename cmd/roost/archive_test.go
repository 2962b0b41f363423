package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mattn/go-mastodon"
)

// archiveSnapshot is every row count an import could change.
const archiveSnapshot = `select concat_ws(',', (select count(*) from statuses), (select count(*) from media_attachments),
	(select count(*) from lists), (select count(*) from list_accounts), (select count(*) from bookmarks),
	(select count(*) from blocks), (select count(*) from mutes), (select count(*) from follows),
	(select count(*) from imported_statuses), (select count(*) from home_feeds))`

// postsOf lists an account's posts as comparable lines, oldest first.
const postsOf = `select string_agg(concat_ws('|', visibility, summary, sensitive, content, published_at), E'\n' order by published_at, id)
	from statuses where account_id = (select id from accounts where username = $1 and tenant_id is not null)`

// mediaSums lists the checksums of an archive's media files.
func mediaSums(t *testing.T, path string) []string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var sums []string
	for _, f := range zr.File {
		if !strings.HasPrefix(f.Name, "media_attachments/") {
			continue
		}
		rc, _ := f.Open()
		h := sha256.New()
		io.Copy(h, rc)
		rc.Close()
		sums = append(sums, hex.EncodeToString(h.Sum(nil)))
	}
	sort.Strings(sums)
	return sums
}

func TestArchiveExportImportRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n, addr := mediaNode(t)
	alice := signIn(t, addr, "http://a.test", "alice@a.test", "read write follow")
	bob := signIn(t, addr, "http://a.test", "bob@a.test", "read write follow")

	bobsPost, err := bob.PostStatus(ctx, &mastodon.Toot{Status: "bob's post", Visibility: "public"})
	if err != nil {
		t.Fatal(err)
	}
	bobAcct, err := alice.AccountLookup(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.AccountFollow(ctx, bobAcct.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Bookmark(ctx, bobsPost.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.Favourite(ctx, bobsPost.ID); err != nil {
		t.Fatal(err)
	}
	list, err := alice.CreateList(ctx, "Friends")
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.AddToList(ctx, list.ID, bobAcct.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.AccountMute(ctx, bobAcct.ID); err != nil {
		t.Fatal(err)
	}
	n.run(t, "do", "block", "--account", "alice@a.test", "--target", "carol@b.test")

	first, err := alice.PostStatus(ctx, &mastodon.Toot{Status: "my first post #roost", Visibility: "public"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.PostStatus(ctx, &mastodon.Toot{Status: "for my followers", SpoilerText: "spoiler", Visibility: "private"}); err != nil {
		t.Fatal(err)
	}
	sound := append([]byte("OggS"), bytes.Repeat([]byte("roost sound "), 100)...)
	att, err := alice.UploadMediaFromMedia(ctx, &mastodon.Media{File: bytes.NewReader(sound), Description: "a sound"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.PostStatus(ctx, &mastodon.Toot{Status: "a reply with a sound", InReplyToID: first.ID,
		MediaIDs: []mastodon.ID{att.ID}, Visibility: "unlisted"}); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.PostStatus(ctx, &mastodon.Toot{Status: "@bob just for you", Visibility: "direct"}); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	archivePath := filepath.Join(dir, "alice.zip")
	n.run(t, "account", "export", "--account", "alice@a.test", "--out", archivePath)
	zr, err := zip.OpenReader(archivePath)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range zr.File {
		names[f.Name] = true
	}
	zr.Close()
	for _, want := range []string{"actor.json", "outbox.json", "likes.json", "bookmarks.json", "following_accounts.csv",
		"blocked_accounts.csv", "muted_accounts.csv", "lists.csv", "bookmarks.csv"} {
		if !names[want] {
			t.Errorf("archive lacks %s: %v", want, names)
		}
	}
	if sums := mediaSums(t, archivePath); len(sums) != 1 || sums[0] != hex.EncodeToString(sha256Of(sound)) {
		t.Fatalf("exported media %v", sums)
	}

	// A fresh account on the other tenant takes the archive.
	n.run(t, "account", "create", "--domain", "b.test", "--username", "dave", "--email", "dave@b.test", "--password", testPassword)
	out := n.run(t, "account", "import", "--account", "dave@b.test", "--file", archivePath)
	if !strings.Contains(out, "posts: 4 created, 0 already imported, 0 refused, 0 published; media: 1 stored, 0 skipped; "+
		"follows: 1 queued, 0 already followed, 0 skipped; rows: 4 restored, 0 skipped") || !strings.Contains(out, "follows sent now: 1") {
		t.Fatalf("import: %s", out)
	}
	// An archive is untrusted input: its HTML is sanitised on the way in,
	// which rewrites links' rel and target, and nothing else.
	linkAttrs := regexp.MustCompile(` (rel|target)="[^"]*"`)
	if a, d := linkAttrs.ReplaceAllString(n.query(t, postsOf, "alice"), ""), linkAttrs.ReplaceAllString(n.query(t, postsOf, "dave"), ""); a != d || strings.Count(d, "\n") != 3 {
		t.Fatalf("posts differ:\nalice:\n%s\ndave:\n%s", a, d)
	}
	const dave = `(select id from accounts where username = 'dave')`
	for _, c := range []struct{ what, sql, want string }{
		{"reply threaded to the imported parent", `select count(*) from statuses r join statuses p on p.uri = r.in_reply_to_uri and p.id = r.in_reply_to_id
			where r.account_id = ` + dave + ` and p.account_id = ` + dave, "1"},
		{"parent counts the reply", `select sum(st.replies_count)::bigint from status_stats st join statuses p on p.id = st.status_id where p.account_id = ` + dave, "1"},
		{"ids follow the dates", `select count(*) from statuses x join statuses y on y.account_id = x.account_id and x.id < y.id and x.published_at > y.published_at
			where x.account_id = ` + dave, "0"},
		{"media attached", `select count(*) from media_attachments where account_id = ` + dave + ` and status_id is not null and description = 'a sound'`, "1"},
		{"list", `select count(*) from list_accounts la join lists l on l.id = la.list_id where l.account_id = ` + dave + ` and l.title = 'Friends'`, "1"},
		{"bookmark", `select count(*) from bookmarks b join statuses s on s.id = b.status_id where b.account_id = ` + dave + ` and s.account_id = (select id from accounts where username = 'bob')`, "1"},
		{"mute", `select count(*) from mutes where account_id = ` + dave, "1"},
		{"block", `select count(*) from blocks where account_id = ` + dave, "1"},
		{"follow", `select count(*) from follows where follower_id = ` + dave, "1"},
		{"not delivered", `select count(*) from deliveries d join statuses s on d.activity_id like s.uri || '%' where s.account_id = ` + dave, "0"},
	} {
		if got := n.query(t, c.sql); got != c.want {
			t.Errorf("%s: %s, want %s", c.what, got, c.want)
		}
	}
	// Dave's own archive carries the same media, byte for byte.
	davePath := filepath.Join(dir, "dave.zip")
	n.run(t, "account", "export", "--account", "dave@b.test", "--out", davePath)
	if a, d := mediaSums(t, archivePath), mediaSums(t, davePath); strings.Join(a, ",") != strings.Join(d, ",") {
		t.Errorf("media checksums differ: %v %v", a, d)
	}

	// Importing again creates nothing twice.
	before := n.query(t, archiveSnapshot)
	out = n.run(t, "account", "import", "--account", "dave@b.test", "--file", archivePath)
	if !strings.Contains(out, "posts: 0 created, 4 already imported") {
		t.Fatalf("second import: %s", out)
	}
	if after := n.query(t, archiveSnapshot); after != before {
		t.Fatalf("second import changed rows: %s -> %s", before, after)
	}

	// Malformed archives are refused, naming the problem, writing nothing.
	n.run(t, "account", "create", "--domain", "b.test", "--username", "erin", "--email", "erin@b.test", "--password", testPassword)
	good, err := os.ReadFile(archivePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, want string
		data       []byte
	}{
		{"not a zip", "not a zip archive", []byte("plain text")},
		{"truncated", "truncated", good[:len(good)/2]},
		{"bad JSON", "outbox.json: line 1, column", replaceEntry(t, good, "outbox.json", []byte(`{"orderedItems": [}`))},
		{"missing media", "is missing from the archive", replaceEntry(t, good, "media_attachments/", nil)},
		{"10 GB declared", "outbox.json: declared size 10737418240 bytes is over the limit", declaringHugeEntry(t, good)},
	} {
		p := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".zip")
		if err := os.WriteFile(p, c.data, 0o600); err != nil {
			t.Fatal(err)
		}
		before := n.query(t, archiveSnapshot)
		code, _, stderr := roost(t, n.env, "account", "import", "--account", "erin@b.test", "--file", p)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, %q, want %q", c.name, code, stderr, c.want)
		}
		if after := n.query(t, archiveSnapshot); after != before {
			t.Errorf("%s: rows changed %s -> %s", c.name, before, after)
		}
	}

	// A media file we do not take is reported; its post comes without it.
	p := filepath.Join(dir, "odd_media.zip")
	if err := os.WriteFile(p, replaceEntry(t, good, "media_attachments/", []byte("not a sound")), 0o600); err != nil {
		t.Fatal(err)
	}
	out = n.run(t, "account", "import", "--account", "erin@b.test", "--file", p)
	if !strings.Contains(out, "posts: 4 created") || !strings.Contains(out, "skipped: media media_attachments/") ||
		!strings.Contains(out, "not supported") {
		t.Errorf("import with odd media: %s", out)
	}
}

func sha256Of(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

// replaceEntry copies a zip, replacing the entries whose name starts with
// prefix (nil content drops them).
func replaceEntry(t *testing.T, b []byte, prefix string, content []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		data := content
		if !strings.HasPrefix(f.Name, prefix) {
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

// declaringHugeEntry copies a zip and adds a small outbox.json whose
// headers declare 10 GB uncompressed: a zip bomb's shape, refused before
// reading.
func declaringHugeEntry(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		if err := zw.Copy(f); err != nil {
			t.Fatal(err)
		}
	}
	raw := []byte("not really ten gigabytes")
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "outbox.json", Method: zip.Store,
		CompressedSize64: uint64(len(raw)), UncompressedSize64: 10 << 30})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(raw)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// An import killed half-way (SIGKILL, between batches or inside one) and
// run again ends with every post exactly once.
func TestArchiveImportKilledAndRestarted(t *testing.T) {
	t.Parallel()
	n := startNode(t, "archive-kill", freeAddr(t), "")
	n.run(t, "tenant", "create", "--name", "X", "--domain", "x.test")
	n.run(t, "tenant", "create", "--name", "Y", "--domain", "y.test")
	n.run(t, "account", "create", "--domain", "x.test", "--username", "src", "--email", "src@x.test", "--password", testPassword)
	n.run(t, "account", "create", "--domain", "y.test", "--username", "dst", "--email", "dst@y.test", "--password", testPassword)
	const total = 5000
	n.query(t, `with a as (select id, tenant_id from accounts where username = 'src'),
		ids as (select nextval(pg_get_serial_sequence('statuses', 'id')) as id, i from generate_series(1, $1::int) i)
		insert into statuses (id, account_id, tenant_id, uri, content, visibility, to_uris, published_at)
		select ids.id, a.id, a.tenant_id, 'http://x.test/users/src/statuses/' || ids.id, '<p>post ' || i || '</p>', 'public',
			array['https://www.w3.org/ns/activitystreams#Public'], now() - make_interval(mins => $1::int - i)
		from ids, a returning 1`, total)
	zip := filepath.Join(t.TempDir(), "src.zip")
	n.run(t, "account", "export", "--account", "src@x.test", "--out", zip)

	countDst := `select count(*) from statuses s join accounts a on a.id = s.account_id where a.username = 'dst'`
	cmd := exec.Command(roostBin(t), "account", "import", "--account", "dst@y.test", "--file", zip)
	cmd.Env = append(cleanEnv(), n.env...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for {
		got, _ := strconv.Atoi(n.query(t, countDst))
		if got > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	partial := n.query(t, countDst)
	t.Logf("killed after %s of %d posts", partial, total)

	out := n.run(t, "account", "import", "--account", "dst@y.test", "--file", zip)
	if !strings.Contains(out, "posts: ") {
		t.Fatalf("rerun: %s", out)
	}
	if got := n.query(t, countDst); got != strconv.Itoa(total) {
		t.Fatalf("%s posts after the restart, want %d", got, total)
	}
	if got := n.query(t, `select count(*) from (select original_uri from imported_statuses group by original_uri having count(*) > 1) d`); got != "0" {
		t.Fatalf("%s posts imported twice", got)
	}
}
