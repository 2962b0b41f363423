package portability_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/roost-social/roost/federation/portability"
	"github.com/roost-social/roost/federation/portability/archive"
	"github.com/roost-social/roost/internal/errs"
)

// The attack's blocked_accounts.csv: 8 MB of one-character lines. It is
// refused at the row limit, having inflated a bounded amount (a budget of
// 1 MB for the whole archive is never reached), and writes nothing.
func TestIssue14Finding4OneCharLineCSV(t *testing.T) {
	w := newWorld(t)
	w.im.Limits = archive.Limits{InflateBase: 1 << 20, InflateRatio: 1}
	z := zipOf(t, archive.BlocksCSV, lines(4<<20, func(int) string { return "a" }))
	if len(z) > 64<<10 {
		t.Fatalf("the hostile archive is %d bytes; the attack's was small", len(z))
	}
	_, j, err := w.run(t, z)
	if errs.CodeOf(err) != errs.Invalid || !strings.Contains(err.Error(), "blocked_accounts.csv: more than 20000 rows, over the limit of 20000") {
		t.Fatalf("one-character CSV: %v", err)
	}
	if j.State != archive.Failed || len(j.Error) > 2000 {
		t.Errorf("job %s, error of %d bytes", j.State, len(j.Error))
	}
	if n := w.count(t, `select count(*) from blocks`); n != 0 {
		t.Errorf("%d blocks written from a refused archive", n)
	}
}

// Every row skipped is counted, and only the first few are described:
// 20,000 skipped rows of 900-byte addresses make a result of a few KB.
func TestIssue14Finding4SkippedRowsBoundedSummary(t *testing.T) {
	w := newWorld(t)
	long := strings.Repeat("x", 900)
	z := zipOf(t,
		archive.BlocksCSV, lines(19_000, func(i int) string { return fmt.Sprintf("%d%s@nowhere.example", i, long) }),
		archive.BookmarksCSV, lines(1_000, func(i int) string { return fmt.Sprintf("https://nowhere.example/%d", i) }))
	sum, j, err := w.run(t, z)
	if err != nil {
		t.Fatal(err)
	}
	problems, more := sum.Problems()
	if sum.Skipped != 20_000 || sum.Restored != 0 || len(problems) != portability.MaxProblems || more != 20_000-portability.MaxProblems {
		t.Fatalf("skipped %d, restored %d, %d problems kept, %d more", sum.Skipped, sum.Restored, len(problems), more)
	}
	for _, p := range problems {
		if len(p) > portability.MaxProblem || strings.ContainsAny(p, "\n\r") {
			t.Fatalf("problem of %d bytes: %q", len(p), p)
		}
	}
	got := strings.Split(j.Result, "\n")
	if len(j.Result) > 8000 || len(got) != portability.MaxProblems+2 || !strings.Contains(got[0], "rows: 0 restored, 20000 skipped") ||
		got[len(got)-1] != "and 19980 more problems" {
		t.Fatalf("result of %d bytes, %d lines: %q ... %q", len(j.Result), len(got), got[0], got[len(got)-1])
	}
}

// Attachments: a file named ten times by one post is one attachment; a
// file named by several posts is stored once (the first); a post naming
// more files than the client API allows is refused, and so is one too
// long or with a poll the API would refuse. Disk holds each file once.
func TestIssue14Finding4AttachmentsCappedAndStoredOnce(t *testing.T) {
	w := newWorld(t)
	file := func(i int) string { return fmt.Sprintf("media_attachments/f%d.ogg", i) }
	same := make([]string, 10)
	for i := range same {
		same[i] = file(0)
	}
	distinct := []string{file(1), file(2), file(3), file(4), file(5), file(6), file(7), file(8), file(9), file(10)}
	poll := note(7, "a poll")
	poll["type"] = "Question"
	poll["oneOf"] = []any{map[string]any{"name": "a"}, map[string]any{"name": "b"}, map[string]any{"name": "c"},
		map[string]any{"name": "d"}, map[string]any{"name": "e"}}
	tagged := note(8, "one word")
	var tags []any
	for i := 0; i < 200; i++ {
		tags = append(tags, map[string]any{"type": "Hashtag", "name": fmt.Sprintf("#t%d", i)})
	}
	tagged["tag"] = append(tags, map[string]any{"type": "Hashtag", "name": "#word"})
	tagged["content"] = "<p>one #word</p>"
	entries := []any{archive.OutboxFile, outboxOf(
		note(1, "ten times the same file", same...),
		note(2, "ten files", distinct...),
		note(3, "the first file again", file(0)),
		note(4, "and again", file(0), file(0)),
		note(5, "four files", file(11), file(12), file(13), file(14)),
		note(6, strings.Repeat("long ", 101)),
		poll, tagged)}
	for i := 0; i <= 14; i++ {
		entries = append(entries, file(i), "OggS"+strings.Repeat(string(rune('a'+i)), 1000))
	}
	sum, _, err := w.run(t, zipOf(t, entries...))
	if err != nil {
		t.Fatal(err)
	}
	if sum.Created != 5 || sum.Refused != 3 || sum.MediaStored != 5 || sum.MediaSkipped != 2 {
		t.Fatalf("summary: %s", sum)
	}
	if n := w.count(t, `select count(*) from media_attachments where account_id = $1`, w.me.ID); n != 5 {
		t.Errorf("%d media rows, want 5 (one per distinct file used)", n)
	}
	if files, size := diskUsage(t, w.mediaDir); files != 5 || size != 5*1004 {
		t.Errorf("%d files, %d bytes on disk; want 5 files of 1004 bytes", files, size)
	}
	if n := w.count(t, `select max(n) from (select count(*) as n from media_attachments where status_id is not null group by status_id) c`); n != 4 {
		t.Errorf("a post has %d attachments, want at most 4", n)
	}
	if n := w.count(t, `select count(*) from statuses s, unnest(s.tags) t where s.account_id = $1`, w.me.ID); n != 1 {
		t.Errorf("%d tags stored, want only the one the text shows", n)
	}
	problems, _ := sum.Problems()
	for _, want := range []string{"at most 4 media attachments (this one has 10)", "at most 500 characters", "a poll has 2 to 4 options",
		"named by another post already"} {
		if !strings.Contains(strings.Join(problems, "\n"), want) {
			t.Errorf("no problem says %q: %q", want, problems)
		}
	}
}

// A zip bomb named by every post: a 16 MB file of zeros (16 KB in the
// zip) referenced by 50 posts, and a 64 MB one. The first is read once,
// and only until it inflates past what media files do; the second, over
// the media limit, is never read. Nothing reaches the disk.
func TestIssue14Finding4ZipBombReferencedManyTimes(t *testing.T) {
	w := newWorld(t)
	var notes []map[string]any
	for i := 0; i < 50; i++ {
		notes = append(notes, note(i, "bomb", "media_attachments/bomb.wav", "media_attachments/bomb.wav"))
	}
	notes = append(notes, note(50, "huge", "media_attachments/huge.wav"))
	z := zipOf(t, archive.OutboxFile, outboxOf(notes...),
		"media_attachments/bomb.wav", zeros("RIFF\x24\x00\x00\x01WAVEfmt ", 16<<20-16),
		"media_attachments/huge.wav", zeros("RIFF\x24\x00\x00\x01WAVEfmt ", 64<<20))
	sum, _, err := w.run(t, z)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Created != 51 || sum.MediaStored != 0 || sum.MediaSkipped != 51 {
		t.Fatalf("summary: %s", sum)
	}
	if sum.Inflated > 2<<20 {
		t.Errorf("%d bytes inflated from a %d-byte zip; the bomb was read again", sum.Inflated, len(z))
	}
	if files, size := diskUsage(t, w.mediaDir); files != 0 {
		t.Errorf("%d files (%d bytes) stored from a bomb", files, size)
	}
	problems, _ := sum.Problems()
	joined := strings.Join(problems, "\n")
	for _, want := range []string{"inflates to more than 4 times its compressed size", "huge.wav is larger than 16 MB",
		"named by another post already"} {
		if !strings.Contains(joined, want) {
			t.Errorf("no problem says %q: %q", want, problems)
		}
	}
}

// Text padded to inflate: one outbox item of 8 MB of spaces is refused at
// the item limit; items of 1 MB each, all within it, run out of the
// archive's budget (here 16 MB) while they are read, not after.
func TestIssue14Finding4InflateBudget(t *testing.T) {
	w := newWorld(t)
	padded := func(n, size int) map[string]any {
		o := note(n, "padded")
		o["summary"] = strings.Repeat(" ", size)
		return o
	}
	_, _, err := w.run(t, zipOf(t, archive.OutboxFile, outboxOf(padded(1, 8<<20))))
	if errs.CodeOf(err) != errs.Invalid || !strings.Contains(err.Error(), "outbox.json: an item longer than") {
		t.Fatalf("an 8 MB item: %v", err)
	}
	w.im.Limits = archive.Limits{InflateBase: 16 << 20, InflateRatio: 1}
	var notes []map[string]any
	for i := 0; i < 40; i++ {
		notes = append(notes, padded(i, 1<<20-4096))
	}
	z := zipOf(t, archive.OutboxFile, outboxOf(notes...))
	_, _, err = w.run(t, z)
	if errs.CodeOf(err) != errs.Invalid || !strings.Contains(err.Error(), "the archive inflates to more than 16 MB in all") {
		t.Fatalf("40 MB of padding in a %d-byte zip: %v", len(z), err)
	}
	if n := w.count(t, `select count(*) from statuses where account_id = $1`, w.me.ID); n != 0 {
		t.Errorf("%d posts written from a refused archive", n)
	}
}

// Bookmarks of posts the importer may not see (another account's direct
// and followers-only posts) are skipped with the very message of a
// missing post, and stored for none; a public post is bookmarked.
func TestIssue14Finding4HiddenBookmarkSameMessage(t *testing.T) {
	w := newWorld(t)
	author := w.account(t, "author")
	uri := func(n string) string { return "https://a.example/users/author/statuses/" + n }
	for _, p := range []struct{ id, visibility string }{{"direct", "direct"}, {"private", "private"}, {"public", "public"}} {
		if _, err := w.db.Exec(context.Background(), `insert into statuses (account_id, tenant_id, uri, content, visibility, published_at)
			values ($1, $2, $3, '<p>secret word</p>', $4, now())`, author.ID, w.tenantID, uri(p.id), p.visibility); err != nil {
			t.Fatal(err)
		}
	}
	z := zipOf(t, archive.BookmarksCSV, strings.Join([]string{uri("direct"), uri("private"), uri("missing"), uri("public")}, "\n"))
	sum, _, err := w.run(t, z)
	if err != nil {
		t.Fatal(err)
	}
	problems, _ := sum.Problems()
	if sum.Restored != 1 || len(problems) != 3 {
		t.Fatalf("restored %d, problems %q", sum.Restored, problems)
	}
	for i, name := range []string{"direct", "private", "missing"} {
		if want := "bookmark " + uri(name) + ": unknown status"; problems[i] != want {
			t.Errorf("%s post: %q, want %q (the same as a missing one)", name, problems[i], want)
		}
	}
	if n := w.count(t, `select count(*) from bookmarks b join statuses s on s.id = b.status_id where b.account_id = $1 and s.visibility <> 'public'`,
		w.me.ID); n != 0 {
		t.Errorf("%d hidden posts bookmarked", n)
	}
}
