package postgres_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/roost-social/roost/federation"
	fedpg "github.com/roost-social/roost/federation/postgres"
)

// Issue 21, posting: home_feeds lost its foreign keys (migration 059),
// whose per-row checks were three quarters of a fan-out's cost. What the
// keys guaranteed still holds: a deleted status or account leaves no
// rows, and a writer racing a delete leaves none either.

// homeRows counts the home-feed rows of a status or of an account.
func (w *moreWorld) homeRows(col string, id int64) int {
	w.t.Helper()
	var n int
	if err := w.db.QueryRow(context.Background(), `select count(*) from home_feeds where `+col+` = $1`, id).Scan(&n); err != nil {
		w.t.Fatal(err)
	}
	return n
}

func TestIssue21HomeFeedsFollowDeletesWithoutForeignKeys(t *testing.T) {
	w := newMoreWorld(t)
	ctx := context.Background()
	var keys int
	if err := w.db.QueryRow(ctx, `select count(*) from pg_constraint
		where conrelid = 'home_feeds'::regclass and contype = 'f'`).Scan(&keys); err != nil {
		t.Fatal(err)
	}
	if keys != 0 {
		t.Fatalf("home_feeds has %d foreign keys; migration 059 drops them", keys)
	}
	local := w.seedFollowers(w.ta, "a.example", "hk", w.bob, fedpg.HomeFanOutInline+2*fanOutBatch, true)

	// A status deleted after its fan-out: its rows go with it.
	st := w.post(w.bob, "fanned out", federation.Public, nil, false)
	w.drain()
	if n := w.homeRows("status_id", st.ID); n != len(local)+1 {
		t.Fatalf("fanned out to %d feeds, want %d", n, len(local)+1)
	}
	w.exec(`delete from statuses where id = $1`, st.ID)
	if n := w.homeRows("status_id", st.ID); n != 0 {
		t.Errorf("a deleted status is left in %d home feeds", n)
	}

	// An account deleted: its own feed goes, and so do its statuses' rows
	// in its followers' feeds (its statuses go with it).
	st2 := w.post(w.bob, "by bob", federation.Public, nil, false)
	w.drain()
	follower := local[0]
	if n := w.homeRows("account_id", follower); n == 0 {
		t.Fatal("the follower's feed is empty")
	}
	w.exec(`delete from accounts where id = $1`, follower)
	if n := w.homeRows("account_id", follower); n != 0 {
		t.Errorf("a deleted account keeps %d home-feed rows", n)
	}
	w.exec(`delete from accounts where id = $1`, w.bob.ID)
	if n := w.homeRows("status_id", st2.ID); n != 0 {
		t.Errorf("the statuses of a deleted account are left in %d home feeds", n)
	}
}

// A writer that locks its status as migration 059 asks makes a delete
// wait for it; the delete's trigger then sees, and removes, its rows.
func TestIssue21DeleteWaitingForAHomeFeedWriterRemovesItsRows(t *testing.T) {
	w := newMoreWorld(t)
	ctx := context.Background()
	st := w.post(w.bob, "raced", federation.Public, nil, false)
	tx, err := w.db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }() // committed below; a no-op then
	// AddToHomeFeeds' own statement, as the inbox files a status for a tenant.
	if err := w.s.AddToHomeFeeds(ctx, st.ID, w.bob.ID, w.ta); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `select 1 from statuses where id = $1 for key share`, st.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `insert into home_feeds (account_id, status_id) values ($1, $2) on conflict do nothing`,
		w.alice.ID, st.ID); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := w.db.Exec(ctx, `delete from statuses where id = $1`, st.ID)
		done <- err
	}()
	waitForLockWait(t, w)
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := w.homeRows("status_id", st.ID); n != 0 {
		t.Errorf("%d home-feed rows outlived their status", n)
	}
}

// Every statement that writes home_feeds either runs in the transaction
// that stores the status (so the status cannot be gone) or locks the
// status it files (migration 059). A new writer must be added here with
// its reason, or lock.
func TestIssue21EveryHomeFeedWriterLocksItsStatus(t *testing.T) {
	// Writers in the transaction that inserts the status itself.
	sameTx := map[string]string{
		"publish_batch.go":         "a local post's own transaction (sqlLocalFanOut)",
		"archive.go":               "an imported post, inserted by the same transaction",
		"032_tags.sql":             "after insert on tenant_timeline, whose key locks the status",
		"013_follow_home_feed.sql": "replaced by migration 059's version, which locks",
	}
	root := filepath.Join("..", "..")
	insert := regexp.MustCompile(`(?i)insert\s+into\s+home_feeds`)
	found := 0
	for _, dir := range []string{"federation/postgres", "migrations"} {
		entries, err := os.ReadDir(filepath.Join(root, dir))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			name := e.Name()
			if strings.HasSuffix(name, "_test.go") || !(strings.HasSuffix(name, ".go") || strings.HasSuffix(name, ".sql")) {
				continue
			}
			b, err := os.ReadFile(filepath.Join(root, dir, name))
			if err != nil {
				t.Fatal(err)
			}
			src := string(b)
			for _, loc := range insert.FindAllStringIndex(src, -1) {
				found++
				if _, ok := sameTx[name]; ok {
					continue
				}
				// The statement around the insert: back to the start of its
				// SQL text (a Go raw string, or a function body in a
				// migration), forward to its end.
				open := "`"
				if strings.HasSuffix(name, ".sql") {
					open = "$$"
				}
				start := max(strings.LastIndex(src[:loc[0]], open), 0)
				end := len(src)
				if i := strings.IndexAny(src[loc[1]:], "`;"); i >= 0 {
					end = loc[1] + i
				}
				if !strings.Contains(strings.ToLower(src[start:end]), "for key share") {
					t.Errorf("%s/%s writes home_feeds without locking its status (for key share):\n%s", dir, name, src[start:end])
				}
			}
		}
	}
	if found < 6 {
		t.Errorf("found %d writers of home_feeds; the scan missed some", found)
	}
}
