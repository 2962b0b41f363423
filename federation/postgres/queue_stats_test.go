package postgres_test

import (
	"context"
	"testing"
	"time"

	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/internal/testenv"
)

// QueueStats counts pending deliveries and inbox items, how overdue the
// most overdue delivery is (a retry waiting for its back-off is pending,
// not overdue) and the age of the oldest unprocessed inbox item; done
// rows count for nothing.
func TestQueueStats(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	s := fedpg.New(db)
	st, err := s.QueueStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st != (fedpg.QueueStats{}) {
		t.Fatalf("empty queues: %+v", st)
	}
	var tenant, sender int64
	if err := db.QueryRow(ctx, `insert into tenants (name) values ('A') returning id`).Scan(&tenant); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `insert into domains (domain, tenant_id, verification_token, verified_at) values ('a.test', $1, 't', now())`, tenant); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `insert into accounts (tenant_id, domain, username, private_key_pem) values ($1, 'a.test', 'alice', 'k') returning id`, tenant).Scan(&sender); err != nil {
		t.Fatal(err)
	}
	for i, d := range []struct {
		state string
		due   string
	}{
		{"pending", "10 minutes"}, // overdue by ten minutes
		{"pending", "-1 hour"},    // a retry due in an hour
		{"delivered", "2 hours"},  // done
		{"failed", "3 hours"},     // given up
	} {
		if _, err := db.Exec(ctx, `insert into deliveries (sender_id, activity_id, inbox_url, host, body, state, next_attempt_at)
			values ($1, 'https://a.test/act/' || $2::int, 'https://r.test/inbox', 'r.test', '{}', $3, now() - $4::interval)`,
			sender, i, d.state, d.due); err != nil {
			t.Fatal(err)
		}
	}
	for i, age := range []string{"5 minutes", "1 minute", "2 hours"} {
		processed := "null"
		if i == 2 {
			processed = "now()" // done: its age does not count
		}
		if _, err := db.Exec(ctx, `insert into inbox_items (tenant_id, activity_id, actor_uri, activity, received_at, processed_at)
			values ($1, 'https://r.test/act/' || $2::int, 'https://r.test/u', '{}', now() - $3::interval, `+processed+`)`,
			tenant, i, age); err != nil {
			t.Fatal(err)
		}
	}
	if st, err = s.QueueStats(ctx); err != nil {
		t.Fatal(err)
	}
	near := func(got, want time.Duration) bool { return got >= want && got < want+time.Minute }
	if st.DeliveriesPending != 2 || !near(st.DeliveriesOverdue, 10*time.Minute) || st.InboxPending != 2 || !near(st.InboxOldest, 5*time.Minute) {
		t.Fatalf("queue stats %+v: want 2 pending deliveries, 10m overdue, 2 inbox items, oldest 5m", st)
	}
}
