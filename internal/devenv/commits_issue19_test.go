package devenv

import (
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// Soak finding 11: the soak's PostgreSQL (like every test's and dev's)
// ran with synchronous_commit off, so a commit was acknowledged while its
// WAL sat in PostgreSQL's memory; the soak's "immediate" restart (SIGQUIT)
// then lost posts the API had answered 200 for, and an edit of one got
// 404. Fast settings now keep synchronous_commit on: every acknowledged
// commit has reached the kernel and survives the server being killed.
func TestIssue19Finding11AcknowledgedCommitsSurviveAnImmediateStop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real servers")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	env, err := Start(t.Context(), Options{Dir: dir, Install: true, SkipRedis: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	conn, err := pgx.Connect(t.Context(), env.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(t.Context(), `create table acked (n int primary key)`); err != nil {
		t.Fatal(err)
	}
	const n = 300
	for i := range n { // each its own acknowledged commit
		if _, err := conn.Exec(t.Context(), `insert into acked values ($1)`, i); err != nil {
			t.Fatal(err)
		}
	}
	if err := env.StopPostgres("immediate"); err != nil {
		t.Fatal(err)
	}
	conn.Close(t.Context())
	if err := env.StartPostgres(t.Context()); err != nil {
		t.Fatal(err)
	}
	conn, err = pgx.Connect(t.Context(), env.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var got int
	if err := conn.QueryRow(t.Context(), `select count(*) from acked`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != n {
		t.Fatalf("after an immediate stop %d of %d acknowledged commits are left", got, n)
	}
}
