package portability_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/portability"
	"github.com/roost-social/roost/federation/portability/archive"
	tenantpg "github.com/roost-social/roost/tenant/postgres"
)

type recordDeleter struct{ ev *events }

func (d recordDeleter) DeleteActor(_ context.Context, local *federation.Account, inboxes []string) error {
	d.ev.add("delete-actor %s", local.Username)
	return nil
}

type recordBlobs struct{ ev *events }

func (b recordBlobs) Delete(_ context.Context, key string) error {
	b.ev.add("blob %s", key)
	return nil
}

type recordHosts struct{ ev *events }

func (h recordHosts) HostsChanged(_ context.Context, hosts ...string) {
	h.ev.add("hosts-changed %s", strings.Join(hosts, ","))
}

// A due deletion on the real stores: the first pass announces and
// suspends the tenant, the next removes its archive files and then its
// rows, leaving the audit entry.
func TestLeavingPassOnStores(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	leave := tenantpg.NewLeaveStore(w.db)
	j, err := w.store.RequestExport(ctx, w.tenantID, w.me.ID)
	if err != nil {
		t.Fatal(err)
	}
	zip := filepath.Join(t.TempDir(), "export.zip")
	if err := os.WriteFile(zip, []byte("zip"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := w.store.FinishJob(ctx, archive.ExportJob, j.ID, zip, 3, "", ""); err != nil {
		t.Fatal(err)
	}
	if err := leave.ScheduleDeletion(ctx, w.tenantID, time.Now().Add(-time.Minute), "op@mail.test"); err != nil {
		t.Fatal(err)
	}
	var ev events
	l := &portability.Leaving{Deletions: leave, Store: w.store, Deleter: recordDeleter{&ev}, Blobs: recordBlobs{&ev}, Hosts: recordHosts{&ev}}
	if err := l.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ev, "|"); got != "delete-actor importer|hosts-changed a.example" {
		t.Fatalf("announce: %s", got)
	}
	if n := w.count(t, `select count(*) from tenants where id = $1 and status = 'suspended'`, w.tenantID); n != 1 {
		t.Fatal("the announced tenant is still served")
	}
	ev = nil
	if err := l.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ev, "|"); got != "hosts-changed a.example" {
		t.Fatalf("purge: %s", got)
	}
	if _, err := os.Stat(zip); !os.IsNotExist(err) {
		t.Fatalf("the archive was left: %v", err)
	}
	if n := w.count(t, `select count(*) from tenants where id = $1`, w.tenantID) + w.count(t, `select count(*) from accounts where tenant_id = $1`, w.tenantID); n != 0 {
		t.Fatalf("%d rows left", n)
	}
	if n := w.count(t, `select count(*) from audit_log where tenant_id = $1 and action = 'tenant.deleted' and user_email = 'op@mail.test'`, w.tenantID); n != 1 {
		t.Fatal("no audit entry")
	}
}
