package portability_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/portability"
	"github.com/roost-social/roost/federation/portability/archive"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
)

// leaveWorld is one tenant (id 3) leaving, on in-file fakes of the ports.
type leaveWorld struct {
	ev        events
	deletion  *tenant.Deletion
	purged    bool
	pending   int64
	accts     []*federation.Account
	keys      []string
	paths     []string
	gone      map[string]bool // files removed
	failBlob  string          // a media key whose delete fails once
	exportsOf []int64
}

func newLeaveWorld() *leaveWorld {
	return &leaveWorld{
		deletion: &tenant.Deletion{TenantID: 3, RequestedBy: "op", DueAt: time.Unix(1000, 0)},
		accts:    []*federation.Account{{ID: 1, TenantID: 3, Username: "a"}, {ID: 2, TenantID: 3, Username: "ghost", MovedTo: "https://x/users/a"}},
		keys:     []string{"k1", "k2"}, paths: []string{"/archives/e1.zip"}, gone: map[string]bool{},
	}
}

func (w *leaveWorld) leaving() *portability.Leaving {
	return &portability.Leaving{Deletions: leaveDeletions{w}, Store: leaveStore{w}, Deleter: leaveDeleter{w}, Blobs: leaveBlobs{w},
		Hosts: leaveHosts{w}, Now: func() time.Time { return time.Unix(2000, 0) },
		RemoveFile: func(p string) error {
			w.ev.add("remove %s", p)
			if w.gone[p] {
				return fs.ErrNotExist
			}
			w.gone[p] = true
			return nil
		}}
}

type leaveDeletions struct{ w *leaveWorld }

func (d leaveDeletions) Deletion(context.Context, int64) (*tenant.Deletion, error) {
	if d.w.deletion == nil {
		return nil, errs.E(errs.NotFound, "no deletion scheduled")
	}
	return d.w.deletion, nil
}
func (d leaveDeletions) ScheduleDeletion(context.Context, int64, time.Time, string) error { return nil }
func (d leaveDeletions) CancelDeletion(context.Context, int64, string) error              { return nil }
func (d leaveDeletions) DueDeletions(_ context.Context, now time.Time) ([]tenant.Deletion, error) {
	if d.w.deletion == nil || d.w.purged || d.w.deletion.DueAt.After(now) {
		return nil, nil
	}
	return []tenant.Deletion{*d.w.deletion}, nil
}
func (d leaveDeletions) MarkAnnounced(_ context.Context, tenantID int64) ([]string, error) {
	d.w.ev.add("mark-announced %d", tenantID)
	at := time.Unix(2000, 0)
	d.w.deletion.Announced = &at
	return []string{"leave.example"}, nil
}
func (d leaveDeletions) Purge(_ context.Context, tenantID int64, detail string) ([]string, error) {
	d.w.ev.add("purge %d: %s", tenantID, detail)
	d.w.purged = true
	return []string{"leave.example"}, nil
}

type leaveStore struct{ w *leaveWorld }

func (s leaveStore) TenantAccounts(context.Context, int64) ([]*federation.Account, error) {
	return s.w.accts, nil
}
func (s leaveStore) KnownInboxes(context.Context, int64) ([]string, error) {
	return []string{"https://b.example/inbox"}, nil
}
func (s leaveStore) PendingDeliveries(context.Context, int64) (int64, error) { return s.w.pending, nil }
func (s leaveStore) TenantFiles(context.Context, int64) ([]string, []string, error) {
	return s.w.keys, s.w.paths, nil
}
func (s leaveStore) RequestExport(_ context.Context, _, accountID int64) (*archive.Job, error) {
	s.w.exportsOf = append(s.w.exportsOf, accountID)
	return &archive.Job{}, nil
}
func (s leaveStore) TenantExports(context.Context, int64) ([]federation.TenantExport, error) {
	return nil, nil
}
func (s leaveStore) TenantExportFile(context.Context, int64, int64) (string, error) { return "", nil }
func (s leaveStore) TenantDomains(context.Context, int64) ([]federation.TenantDomain, error) {
	return nil, nil
}

type leaveDeleter struct{ w *leaveWorld }

func (d leaveDeleter) DeleteActor(_ context.Context, local *federation.Account, inboxes []string) error {
	d.w.ev.add("delete-actor %d to %s", local.ID, strings.Join(inboxes, ","))
	return nil
}

type leaveBlobs struct{ w *leaveWorld }

func (b leaveBlobs) Delete(_ context.Context, key string) error {
	b.w.ev.add("blob %s", key)
	if key == b.w.failBlob {
		b.w.failBlob = ""
		return errors.New("store down")
	}
	return nil
}

type leaveHosts struct{ w *leaveWorld }

func (h leaveHosts) HostsChanged(_ context.Context, hosts ...string) {
	h.w.ev.add("hosts-changed %s", strings.Join(hosts, ","))
}

// TestIssue15Finding1DeletionPassOrder: a due deletion is announced
// first (Delete(Person) of every account, then the tenant stops being
// served and host caches are told); it waits for the deliveries; then
// the files go before the rows, and caches are told again.
func TestIssue15Finding1DeletionPassOrder(t *testing.T) {
	w := newLeaveWorld()
	l := w.leaving()
	ctx := context.Background()
	if err := l.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	want := "delete-actor 1 to https://b.example/inbox|delete-actor 2 to https://b.example/inbox|mark-announced 3|hosts-changed leave.example"
	if got := strings.Join(w.ev, "|"); got != want {
		t.Fatalf("announce pass:\n%s\nwant\n%s", got, want)
	}
	w.ev, w.pending = nil, 2
	if err := l.Pass(ctx); err != nil || len(w.ev) != 0 {
		t.Fatalf("with deliveries pending: %v %q", err, w.ev)
	}
	w.pending = 0
	if err := l.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	want = "blob k1|blob k2|remove /archives/e1.zip|purge 3: 2 accounts removed after Delete(Person) was delivered|hosts-changed leave.example"
	if got := strings.Join(w.ev, "|"); got != want {
		t.Fatalf("purge pass:\n%s\nwant\n%s", got, want)
	}
}

// A pass that fails between the files and the rows (here: the media
// store) keeps the rows, which find the files again: the next pass
// deletes them again (a file already gone is no error) and purges.
func TestDeletionPassRerunAfterCrash(t *testing.T) {
	w := newLeaveWorld()
	at := time.Unix(1500, 0)
	w.deletion.Announced = &at
	w.failBlob = "k2"
	l := w.leaving()
	err := l.Pass(context.Background())
	if err == nil || !strings.Contains(err.Error(), "tenant 3: media k2: store down") || w.purged {
		t.Fatalf("failing pass: %v, purged %v", err, w.purged)
	}
	w.gone["/archives/e1.zip"] = true // removed by the crashed run
	w.ev = nil
	if err := l.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !w.purged || w.ev[len(w.ev)-2] != "purge 3: 2 accounts removed after Delete(Person) was delivered" {
		t.Fatalf("rerun: %q", w.ev)
	}
	if err := l.Pass(context.Background()); err != nil || w.ev[len(w.ev)-1] != "hosts-changed leave.example" {
		t.Fatalf("a pass after the purge: %v %q", err, w.ev)
	}
}

// The leaving page's requests: archives for accounts, not ghosts; no
// change of domain without the federation machinery.
func TestLeavingRequests(t *testing.T) {
	w := newLeaveWorld()
	l := w.leaving()
	n, err := l.RequestExports(context.Background(), 3)
	if err != nil || n != 1 || fmt.Sprint(w.exportsOf) != "[1]" {
		t.Fatalf("exports: %d %v %v", n, err, w.exportsOf)
	}
	if _, err := l.MoveDomain(context.Background(), 3, "a.example", "b.example", "op"); !errs.Is(err, errs.Unavailable) {
		t.Fatalf("move without federation: %v", err)
	}
	w.deletion = nil
	if _, err := l.Deletion(context.Background(), 3); !errs.Is(err, errs.NotFound) {
		t.Fatalf("deletion: %v", err)
	}
}
