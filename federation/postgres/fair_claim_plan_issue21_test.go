package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/roost-social/roost/internal/testenv"
)

// planNode is what the test reads of EXPLAIN (ANALYZE, FORMAT JSON).
type planNode struct {
	Type  string     `json:"Node Type"`
	Index string     `json:"Index Name"`
	Rows  float64    `json:"Actual Rows"`
	Loops float64    `json:"Actual Loops"`
	Plans []planNode `json:"Plans"`
}

// mostRead is the plan node that produced the most rows, and how many.
func mostRead(n planNode) (planNode, float64) {
	best, most := n, n.Rows*n.Loops
	for _, c := range n.Plans {
		if b, m := mostRead(c); m > most {
			best, most = b, m
		}
	}
	return best, most
}

// explainRead runs sql under EXPLAIN ANALYZE and returns the node that
// read the most rows.
func explainRead(t *testing.T, s *Store, sql string, args ...any) (planNode, float64) {
	t.Helper()
	var out []byte
	if err := s.db.QueryRow(context.Background(), "explain (analyze, format json) "+sql, args...).Scan(&out); err != nil {
		t.Fatal(err)
	}
	var plans []struct {
		Plan planNode `json:"Plan"`
	}
	if err := json.Unmarshal(out, &plans); err != nil || len(plans) != 1 {
		t.Fatalf("explain: %v: %s", err, out)
	}
	return mostRead(plans[0].Plan)
}

// Issue 21: on a table the planner has no statistics for — right after a
// fan-out wrote its rows, as in every benchmark run and after any big
// fan-out in production — the claim locked and leased its chosen rows by
// joining them to a scan of every due pending row: each claim of 16 rows
// out of a 5,000-inbox fan-out read all 5,000, so a fan-out's claims
// cost the square of its size. A claim must read about what it claims,
// with statistics and without. The rows are counted in the plan, not
// timed.
func TestIssue21ClaimReadsAboutWhatItClaims(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testenv.DB(t)
	s := New(db)
	var sender, tenantID int64
	if err := db.QueryRow(ctx, `insert into tenants (name) values ('plan') returning id`).Scan(&tenantID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `insert into domains (domain, tenant_id, verification_token, verified_at) values ('plan.test', $1, 't', now())`, tenantID); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(ctx, `insert into accounts (tenant_id, domain, username, private_key_pem) values ($1, 'plan.test', 'u', 'k') returning id`,
		tenantID).Scan(&sender); err != nil {
		t.Fatal(err)
	}
	const pending, batch = 3000, 16
	inboxes := make([]string, pending)
	for i := range inboxes {
		inboxes[i] = fmt.Sprintf("https://r%d.example/inbox", i)
	}
	if _, err := s.AddDeliveries(ctx, sender, "https://plan.test/act/1", []byte(`{}`), inboxes, false); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, `insert into inbox_items (tenant_id, activity_id, actor_uri, activity)
		select $1, 'https://r.example/act/' || i, 'https://r.example/users/a', '{}' from generate_series(1, $2) i`, tenantID, pending); err != nil {
		t.Fatal(err)
	}
	// Several claims in a row, as a worker makes them: the rows leased by
	// the earlier ones are skipped, not re-read in full, by the later ones.
	limit := float64(pending / 4)
	for _, stats := range []string{"none", "analyzed"} {
		if stats == "analyzed" {
			if _, err := db.Exec(ctx, `analyze deliveries; analyze inbox_items`); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 3 {
			now := time.Now()
			if node, n := explainRead(t, s, claimDeliveriesSQL, 0, batch, now, time.Minute, batch, 1); n > limit {
				t.Errorf("statistics %s, delivery claim %d of %d rows: %s on %q read %.0f rows", stats, i, batch, node.Type, node.Index, n)
			}
			if node, n := explainRead(t, s, claimInboxSQL, 0, batch, 1, time.Minute); n > limit {
				t.Errorf("statistics %s, inbox claim %d of %d items: %s on %q read %.0f rows", stats, i, batch, node.Type, node.Index, n)
			}
		}
	}
}
