package postgres_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	fedpg "github.com/roost-social/roost/federation/postgres"
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
	post := func(n int, parent int, v federation.Visibility) fedpg.ImportedPost {
		st := &federation.Status{Content: "<p>post " + strconv.Itoa(n) + "</p>", Visibility: v, Published: day.AddDate(0, 0, n)}
		if parent != 0 {
			st.InReplyToURI = "https://old.example/statuses/" + strconv.Itoa(parent)
		}
		return fedpg.ImportedPost{OriginalURI: "https://old.example/statuses/" + strconv.Itoa(n), Status: st}
	}
	created, skipped, err := s.ImportPosts(ctx, local, []fedpg.ImportedPost{post(1, 0, federation.Public), post(2, 1, federation.Private)}, uriFor)
	if err != nil || len(created) != 2 || skipped != 0 {
		t.Fatalf("first batch: %d created, %d skipped, %v", len(created), skipped, err)
	}
	if created[1].InReplyToURI != created[0].URI || !created[1].Published.Equal(day.AddDate(0, 0, 2)) {
		t.Fatalf("reply: %+v", created[1])
	}
	// The second batch fails on its last post: nothing of it is kept.
	bad := post(4, 3, "bogus")
	if _, _, err := s.ImportPosts(ctx, local, []fedpg.ImportedPost{post(2, 1, federation.Private), post(3, 2, federation.Unlisted), bad}, uriFor); err == nil {
		t.Fatal("a bad batch was accepted")
	}
	if n := count(t, db, `select count(*) from statuses where account_id = $1`, local.ID); n != 2 {
		t.Fatalf("%d statuses after the failed batch, want 2", n)
	}
	// The rerun (the restarted import) creates the rest once.
	created, skipped, err = s.ImportPosts(ctx, local, []fedpg.ImportedPost{post(2, 1, federation.Private), post(3, 2, federation.Unlisted), post(4, 3, federation.Direct)}, uriFor)
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
