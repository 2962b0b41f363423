package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/roost-social/roost/federation/portability"
	"github.com/roost-social/roost/federation/portability/archive"
)

// Issue 19, the kill -9 case of archive jobs: a claim refreshed by its
// worker's heartbeat is never taken over; one whose worker is gone is,
// once StaleAfter has passed without a heartbeat.
func TestIssue19ArchiveClaimHeartbeat(t *testing.T) {
	w := newMoreWorld(t)
	ctx := context.Background()
	req, err := w.s.RequestExport(ctx, w.ta, w.alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	claim := func() *archive.Job {
		t.Helper()
		j, err := w.s.ClaimJob(ctx, archive.ExportJob, portability.StaleAfter)
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	age := func() { // as if StaleAfter and a minute had passed since the last heartbeat
		w.exec(fmt.Sprintf(`update archive_exports set claimed_at = now() - interval '%d seconds' where id = $1`,
			int(portability.StaleAfter.Seconds())+60), req.ID)
	}
	if j := claim(); j == nil || j.ID != req.ID {
		t.Fatalf("first claim: %+v, want job %d", j, req.ID)
	}
	if j := claim(); j != nil {
		t.Fatalf("a running job was claimed twice: %+v", j)
	}
	age()
	if err := w.s.TouchJob(ctx, archive.ExportJob, req.ID); err != nil {
		t.Fatal(err)
	}
	if j := claim(); j != nil {
		t.Fatalf("a job whose worker beats was taken over: %+v", j)
	}
	age() // the worker died: no heartbeat since
	if j := claim(); j == nil || j.ID != req.ID {
		t.Fatalf("a job whose worker is gone: claim %+v, want it taken over", j)
	}
	// A heartbeat never revives an ended job.
	if err := w.s.FinishJob(ctx, archive.ExportJob, req.ID, "", 0, "", "failed on purpose"); err != nil {
		t.Fatal(err)
	}
	if err := w.s.TouchJob(ctx, archive.ExportJob, req.ID); err != nil {
		t.Fatal(err)
	}
	var state string
	if err := w.db.QueryRow(ctx, `select state from archive_exports where id = $1`, req.ID).Scan(&state); err != nil {
		t.Fatal(err)
	}
	if state != string(archive.Failed) {
		t.Errorf("state after a late heartbeat: %s, want failed", state)
	}
}
