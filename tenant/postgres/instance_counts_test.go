package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// The operator dashboard's instance numbers are kept by triggers
// (migration 050) and follow every write: tenants changing status and
// going away, local and remote accounts, local posts per day, media
// bytes, and certificates by their status documents (a damaged document
// neither fails the store nor counts). They match what counting the
// tables would say, on a node that never recounts.
func TestIssue20InstanceCountsFollowWrites(t *testing.T) {
	t.Parallel()
	as, s, ids := adminFixture(t)
	ctx := context.Background()
	db := as.db
	certs := NewCertStore(db)
	soon, later := time.Now().Add(24*time.Hour).UTC().Truncate(time.Second), time.Now().Add(60*24*time.Hour).UTC()
	put := func(name string, notAfter time.Time) {
		t.Helper()
		doc := fmt.Sprintf(`{"name":%q,"not_after":%q}`, name, notAfter.Format(time.RFC3339))
		if err := certs.Put(ctx, "roost/status/"+name+".json", []byte(doc)); err != nil {
			t.Fatal(err)
		}
	}
	put("alice.test", later)
	put("social.alice.test", soon)
	put("bob.test", later)
	put("bob.test", later) // rewritten: still one
	if err := certs.Put(ctx, "roost/status/broken.test.json", []byte("{not json")); err != nil {
		t.Fatalf("a damaged status document must not fail the store: %v", err)
	}
	exec(t, db, `update tenants set status = 'suspended' where id = $1`, ids[1])
	c := create(t, s, "Carol's", "carol.test", "")
	exec(t, db, `insert into accounts (tenant_id, domain, username, private_key_pem) values ($1, 'carol.test', 'carol', 'k')`, c.ID)
	exec(t, db, `delete from accounts where domain = 'remote.test'`)

	st, err := as.Stats(ctx, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if st.TenantsByStatus["active"] != 2 || st.TenantsByStatus["suspended"] != 1 || st.Accounts != 2 || st.RemoteAccounts != 0 {
		t.Errorf("counts after writes: %+v", st)
	}
	if st.Posts != 2 || st.PostsPerDay[29].N != 1 || st.PostsPerDay[27].N != 1 {
		t.Errorf("posts %d, per day %+v", st.Posts, st.PostsPerDay[26:])
	}
	if st.Certificates != 3 || st.NextCertExpiry == nil || !st.NextCertExpiry.Equal(soon) || st.NextCertName != "social.alice.test" {
		t.Errorf("certificates %d, next %v %q", st.Certificates, st.NextCertExpiry, st.NextCertName)
	}
	// A tenant's own certificates are its host names'.
	if ts, err := as.Stats(ctx, ids[0], time.Now()); err != nil || ts.Certificates != 2 || ts.NextCertName != "social.alice.test" {
		t.Errorf("tenant certificates: %+v %v", ts, err)
	}
	// Deleting a tenant takes its rows and its counts; deleting
	// certificate storage takes its expiries.
	exec(t, db, `delete from tenants where id = $1`, ids[0])
	if err := certs.Delete(ctx, "roost/status"); err != nil {
		t.Fatal(err)
	}
	st, err = as.Stats(ctx, 0, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if st.TenantsByStatus["active"] != 1 || st.Accounts != 1 || st.Posts != 0 || st.Certificates != 0 || st.NextCertExpiry != nil {
		t.Errorf("after deletes: %+v", st)
	}
	// What the counters say is what counting says.
	var tenants, accounts, posts int64
	if err := db.QueryRow(ctx, `select (select count(*) from tenants), (select count(*) from accounts where tenant_id is not null),
		(select count(*) from statuses where tenant_id is not null)`).Scan(&tenants, &accounts, &posts); err != nil {
		t.Fatal(err)
	}
	if tenants != 2 || accounts != st.Accounts || posts != st.Posts {
		t.Errorf("tables: %d tenants, %d accounts, %d posts; counters %+v", tenants, accounts, posts, st)
	}
}
