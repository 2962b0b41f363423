package postgres_test

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roost-social/roost/federation"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/internal/testenv"
)

// Issue 21, posting: on a durable database (synchronous_commit on, as an
// operator runs it) every fan-out batch waited for its fsync while
// holding the lock that orders notifying commits, and a post's commit
// queued behind it. A batch now commits asynchronously — it is derived
// data, filed again after a crash — while the post's own transaction
// keeps waiting for the disk: what is acknowledged is never lost.
func TestIssue21FanOutBatchesCommitAsyncPostsStayDurable(t *testing.T) {
	cfg, err := pgxpool.ParseConfig(testenv.DatabaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on" // the test servers run with it off
	db, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	s := fedpg.New(db)
	a := newTenant(t, db, "a.example")
	w := &moreWorld{t: t, db: db, s: s, ta: a.ID}
	w.bob = mustCreate(t, s, newAccount(t, a.ID, "a.example", "bob", "bob@a.example"))
	// What each statement filing home-feed rows ran under.
	w.exec(`create table seen_commit (what text, setting text)`)
	w.exec(`create function seen_commit() returns trigger language plpgsql as $$
		begin insert into seen_commit values (tg_argv[0], current_setting('synchronous_commit')); return null; end $$`)
	w.exec(`create trigger seen_commit after insert on home_feeds for each statement execute function seen_commit('home_feeds')`)
	w.exec(`create trigger seen_commit after insert on statuses for each statement execute function seen_commit('post')`)

	local := w.seedFollowers(a.ID, "a.example", "f", w.bob, fedpg.HomeFanOutInline+fanOutBatch+3, true)
	w.exec(`delete from seen_commit`) // what seeding filed
	st := w.post(w.bob, "to many", federation.Public, nil, false)
	w.drain()
	sameIDs(t, "followers reached", w.holders(st.ID, local), local)

	rows, err := db.Query(context.Background(), `select what || ' ' || setting from seen_commit`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var seen []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		seen = append(seen, s)
	}
	// The post and its inline home-feed rows: synchronous. The fan-out's
	// two batches: asynchronous.
	want := []string{"home_feeds off", "home_feeds off", "home_feeds on", "post on"}
	slices.Sort(seen)
	if !slices.Equal(seen, want) {
		t.Errorf("synchronous_commit seen by the statements: %v, want %v", seen, want)
	}
}
