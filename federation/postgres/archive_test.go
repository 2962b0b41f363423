package postgres_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/portability/archive"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/testenv"
)

// A batch that fails half-way (a crash, a bad row) writes nothing; run
// again, every post exists exactly once, replies pointing at their
// imported parents.
func TestArchiveImportPostsExactlyOnce(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	s := fedpg.New(db)
	tn := newTenant(t, db, "archive.test")
	local := mustCreate(t, s, newAccount(t, tn.ID, "archive.test", "dave", "dave@archive.test"))
	uriFor := func(id int64) string { return "https://archive.test/users/dave/statuses/" + strconv.FormatInt(id, 10) }
	day := time.Date(2023, 3, 1, 10, 0, 0, 0, time.UTC)
	post := func(n int, parent int, v federation.Visibility) archive.ImportedPost {
		st := &federation.Status{Content: "<p>post " + strconv.Itoa(n) + "</p>", Visibility: v, Published: day.AddDate(0, 0, n)}
		if parent != 0 {
			st.InReplyToURI = "https://old.example/statuses/" + strconv.Itoa(parent)
		}
		return archive.ImportedPost{OriginalURI: "https://old.example/statuses/" + strconv.Itoa(n), Status: st}
	}
	created, skipped, err := s.ImportPosts(ctx, local, []archive.ImportedPost{post(1, 0, federation.Public), post(2, 1, federation.Private)}, uriFor)
	if err != nil || len(created) != 2 || skipped != 0 {
		t.Fatalf("first batch: %d created, %d skipped, %v", len(created), skipped, err)
	}
	if created[1].InReplyToURI != created[0].URI || !created[1].Published.Equal(day.AddDate(0, 0, 2)) {
		t.Fatalf("reply: %+v", created[1])
	}
	// The second batch fails on its last post: nothing of it is kept.
	bad := post(4, 3, "bogus")
	if _, _, err := s.ImportPosts(ctx, local, []archive.ImportedPost{post(2, 1, federation.Private), post(3, 2, federation.Unlisted), bad}, uriFor); err == nil {
		t.Fatal("a bad batch was accepted")
	}
	if n := count(t, db, `select count(*) from statuses where account_id = $1`, local.ID); n != 2 {
		t.Fatalf("%d statuses after the failed batch, want 2", n)
	}
	// The rerun (the restarted import) creates the rest once.
	created, skipped, err = s.ImportPosts(ctx, local, []archive.ImportedPost{post(2, 1, federation.Private), post(3, 2, federation.Unlisted), post(4, 3, federation.Direct)}, uriFor)
	if err != nil || len(created) != 2 || skipped != 1 {
		t.Fatalf("rerun: %d created, %d skipped, %v", len(created), skipped, err)
	}
	if n := count(t, db, `select count(*) from statuses where account_id = $1`, local.ID); n != 4 {
		t.Fatalf("%d statuses, want 4", n)
	}
	if n := count(t, db, `select count(*) from statuses r join statuses p on p.uri = r.in_reply_to_uri
		where r.account_id = $1 and p.account_id = $1 and r.in_reply_to_id = p.id`, local.ID); n != 3 {
		t.Fatalf("%d replies threaded, want 3", n)
	}
}

// Each queued import waits on disk, each export is built and kept: one
// account may have one import queued or running (another is refused until
// it ends), and asking for an export again returns the one queued or
// built within the day. Results are read back bounded.
func TestIssue14Finding4OneQueuedImportPerAccount(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	s := fedpg.New(db)
	tn := newTenant(t, db, "jobs.test")
	a := mustCreate(t, s, newAccount(t, tn.ID, "jobs.test", "erin", "erin@jobs.test"))
	j, err := s.RequestImport(ctx, tn.ID, a.ID, "/tmp/one.zip", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RequestImport(ctx, tn.ID, a.ID, "/tmp/two.zip", false); errs.CodeOf(err) != errs.Conflict {
		t.Fatalf("a second import while one is queued: %v, want a conflict", err)
	}
	if _, err := s.StartImport(ctx, tn.ID, a.ID, "", false); errs.CodeOf(err) != errs.Conflict {
		t.Fatalf("a command-line import while one is queued: %v, want a conflict", err)
	}
	if err := s.FinishJob(ctx, archive.ImportJob, j.ID, "", 0, strings.Repeat("x", 100_000), strings.Repeat("y", 100_000)); err != nil {
		t.Fatal(err)
	}
	done, err := s.Job(ctx, archive.ImportJob, tn.ID, a.ID, j.ID)
	if err != nil || len(done.Result) > 8000 || len(done.Error) > 2000 {
		t.Fatalf("finished job: %v, result of %d bytes, error of %d", err, len(done.Result), len(done.Error))
	}
	if _, err := s.RequestImport(ctx, tn.ID, a.ID, "/tmp/two.zip", false); err != nil {
		t.Fatalf("an import once the first ended: %v", err)
	}
	e1, err := s.RequestExport(ctx, tn.ID, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	e2, err := s.RequestExport(ctx, tn.ID, a.ID)
	if err != nil || e2.ID != e1.ID {
		t.Fatalf("export asked twice: %v, jobs %d and %d, want one", err, e1.ID, e2.ID)
	}
	if n := count(t, db, `select count(*) from archive_exports where account_id = $1`, a.ID); n != 1 {
		t.Fatalf("%d exports queued, want 1", n)
	}
}
