package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/internal/testenv"
)

// Concurrent enqueues are group-committed; each caller learns whether its
// activity was new, and one bad row does not fail its batch neighbours.
func TestInboxBatcher(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	if _, err := db.Exec(ctx, `insert into tenants (name) values ('A')`); err != nil {
		t.Fatal(err)
	}
	b := fedpg.New(db).NewInboxBatcher()
	defer b.Close()
	var wg sync.WaitGroup
	dups := make([]bool, 200)
	errs := make([]error, 200)
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("https://r.test/a/%d", i%150) // 50 repeats
			body := []byte(fmt.Sprintf(`{"id":%q}`, id))
			if i == 7 {
				body = []byte(`{"bad":"\u0000"}`) // jsonb refuses NUL
				id = "https://r.test/bad"
			}
			dups[i], errs[i] = b.Enqueue(ctx, 1, id, "https://r.test/u", body)
		}()
	}
	wg.Wait()
	failed, new := 0, 0
	for i := range 200 {
		if errs[i] != nil {
			failed++
			if i != 7 {
				t.Errorf("enqueue %d failed: %v", i, errs[i])
			}
		} else if !dups[i] {
			new++
		}
	}
	var rows int
	db.QueryRow(ctx, `select count(*) from inbox_items`).Scan(&rows)
	if failed != 1 || rows != 150 {
		t.Fatalf("%d failed (want 1, the bad row), %d rows (want 150: ids 0–149; id 7 also comes from i=157)", failed, rows)
	}
	// Repeats are duplicates whether they met their first in the table or
	// earlier in the same batch.
	if new != 150 {
		t.Fatalf("%d callers told their activity was new, want 150", new)
	}
	var doc string
	db.QueryRow(ctx, `select activity->>'id' from inbox_items where activity_id = 'https://r.test/a/42'`).Scan(&doc)
	if doc != "https://r.test/a/42" {
		t.Fatalf("stored activity id %q, want the JSON sent", doc)
	}
}

// A lone activity is committed without waiting for company, a repeat is
// a duplicate, and the batcher keeps serving after a burst until Close.
func TestInboxBatcherLoneAndClose(t *testing.T) {
	t.Parallel()
	db := testenv.DB(t)
	ctx := context.Background()
	if _, err := db.Exec(ctx, `insert into tenants (name) values ('A')`); err != nil {
		t.Fatal(err)
	}
	b := fedpg.New(db).NewInboxBatcher()
	dup, err := b.Enqueue(ctx, 1, "https://r.test/lone", "https://r.test/u", []byte(`{"id":"https://r.test/lone"}`))
	if err != nil || dup {
		t.Fatalf("lone enqueue: duplicate %v, %v", dup, err)
	}
	if dup, err = b.Enqueue(ctx, 1, "https://r.test/lone", "https://r.test/u", []byte(`{"id":"https://r.test/lone"}`)); err != nil || !dup {
		t.Fatalf("repeat: duplicate %v, %v; want a duplicate", dup, err)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("https://r.test/c/%d", i)
			if _, err := b.Enqueue(ctx, 1, id, "https://r.test/u", []byte(fmt.Sprintf(`{"id":%q}`, id))); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	b.Close()
	var rows int
	db.QueryRow(ctx, `select count(*) from inbox_items`).Scan(&rows)
	if rows != 21 {
		t.Fatalf("%d rows, want 21", rows)
	}
}
