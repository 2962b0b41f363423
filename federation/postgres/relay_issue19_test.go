package postgres_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/internal/testenv"
)

// Soak finding 4: events announced while no relay listened (PostgreSQL
// restarted, the leader killed) reached no streaming client, and a client
// that stayed connected never learned it had missed them. The relay now
// says so at the start of every session it leads (Elected), before it
// relays anything: the first election, and again after its connection
// died and it was elected anew.
func TestIssue19Finding4RelayTellsEachElection(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx, cancel := context.WithCancel(context.Background())
	var elected atomic.Int32
	got := &payloads{}
	r := &fedpg.Relay{DB: db, Poll: 50 * time.Millisecond, Ping: time.Second,
		Handle: func(ctx context.Context, s string) {
			if elected.Load() == 0 {
				t.Errorf("relayed %q before saying it was elected", s)
			}
			got.add(ctx, s)
		},
		Elected: func(context.Context) { elected.Add(1) }}
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	waitFor(t, "the first election", func() bool { return elected.Load() == 1 })
	notify(t, db, "before")
	waitFor(t, "an event relayed", func() bool { return got.count("before") == 1 })

	// The session ends under it (as when PostgreSQL restarts).
	if _, err := db.Exec(context.Background(), `select pg_terminate_backend(pid) from pg_locks
		where locktype = 'advisory' and granted and database = (select oid from pg_database where datname = current_database())`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a second election after the session died", func() bool { return elected.Load() == 2 })
	if !r.Leading() {
		waitFor(t, "leading again", r.Leading)
	}
}
