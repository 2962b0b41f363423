package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	fedpg "github.com/roost-social/roost/federation/postgres"
	"github.com/roost-social/roost/internal/testenv"
)

// TestIssue15Finding2ReportAndForwardOneTransaction: a forwarded report
// and its Flag's delivery are stored together or not at all; the
// delivery is the reporter's (its tenant's suspensions apply: nothing is
// queued for a suspended domain) and carries the site whose instance
// actor signs it.
func TestIssue15Finding2ReportAndForwardOneTransaction(t *testing.T) {
	db := testenv.DB(t)
	s := fedpg.New(db)
	ctx := context.Background()
	ta := newTenant(t, db, "a.example")
	alice := mustCreate(t, s, newAccount(t, ta.ID, "a.example", "alice", "alice@a.example"))
	dave, err := s.UpsertRemoteActor(ctx, &federation.Account{Domain: "remote.example", Username: "dave",
		Remote: &federation.RemoteInfo{URI: "https://remote.example/users/dave", Inbox: "https://remote.example/users/dave/inbox",
			KeyID: "https://remote.example/users/dave#main-key", Type: "Person", FetchedAt: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	file := func(inbox string) (*federation.UserReport, error) {
		r := &federation.UserReport{ReporterID: alice.ID, ReporterTenantID: ta.ID, TargetID: dave.ID, Category: "spam",
			Forwarded: true, Forward: &federation.ReportForward{ActingHost: "a.example", ActivityID: "http://a.example/actor#flags/" + inbox,
				Inbox: inbox, Body: []byte(`{"type":"Flag"}`)}}
		return r, s.FileReport(ctx, r)
	}

	// A forward that cannot be queued leaves no report behind.
	if _, err := file(""); err == nil {
		t.Fatal("a forward without an inbox was filed")
	}
	if n := count(t, db, `select count(*) from reports`); n != 0 {
		t.Fatalf("reports after a failed forward: %d", n)
	}

	r, err := file("https://remote.example/inbox")
	if err != nil || r.Forward.DeliveryID == 0 {
		t.Fatalf("file: %+v %v", r, err)
	}
	if n := count(t, db, `select count(*) from deliveries d join reports r on r.id = $2 and r.forwarded
		where d.id = $1 and d.sender_id = $3 and d.acting_host = 'a.example' and d.state = 'pending' and d.express`,
		r.Forward.DeliveryID, r.ID, alice.ID); n != 1 {
		t.Fatalf("queued forward rows: %d", n)
	}

	// A domain the reporter's tenant suspended gets nothing queued; the
	// report is still filed.
	if _, err := db.Exec(ctx, `insert into domain_blocks (tenant_id, domain, severity) values ($1, 'remote.example', 'suspend')`, ta.ID); err != nil {
		t.Fatal(err)
	}
	r, err = file("https://remote.example/other-inbox")
	if err != nil || r.ID == 0 || r.Forward.DeliveryID != 0 {
		t.Fatalf("file to a suspended domain: %+v %v", r, err)
	}
}
