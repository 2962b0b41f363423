package postgres_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/internal/testenv"
)

// Issue 21: a lease must be a HOT update — the row's new version on its
// own page, no index touched — as migration 007 intended. Delivery rows
// carry their activity's body (about 1 KB here), and with pages filled to
// 80 % most leased rows had to move to another page, with an entry in
// every index each. Where each row lives (its ctid's page) is compared
// before and after its lease.
func TestIssue21DeliveryLeasesStayOnTheirPage(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	s := fedpg.New(db)
	sender, _ := fairSender(t, db, "hot")
	const n = 300
	body := append(append([]byte(`{"content":"`), bytes.Repeat([]byte("x"), 1000)...), `"}`...)
	if _, err := s.AddDeliveries(ctx, sender, "https://hot.test/act/1", body, manyInboxes("hot", n), false); err != nil {
		t.Fatal(err)
	}
	pages := func() map[int64]string {
		rows, err := db.Query(ctx, `select id, (ctid::text::point)[0]::text from deliveries`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[int64]string{}
		for rows.Next() {
			var id int64
			var page string
			if err := rows.Scan(&id, &page); err != nil {
				t.Fatal(err)
			}
			out[id] = page
		}
		return out
	}
	before := pages()
	claimed := 0
	for claimed < n {
		ds, _, _, err := s.ClaimDeliveries(ctx, 0, 64, time.Now(), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 {
			t.Fatalf("claimed %d of %d", claimed, n)
		}
		claimed += len(ds)
	}
	moved := 0
	for id, page := range pages() {
		if before[id] != page {
			moved++
		}
	}
	if moved > 0 {
		t.Fatalf("%d of %d leased rows moved to another page: their leases were not HOT updates", moved, n)
	}
}
