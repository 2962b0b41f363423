package portability_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/portability"
	"github.com/roost-social/roost/federation/portability/archive"
	"github.com/roost-social/roost/federation/social/media"
	"github.com/roost-social/roost/internal/errs"
)

// jobQueue is an in-file archive job queue: a claimed job leaves the
// queue, and each end is recorded.
type jobQueue struct {
	mu       sync.Mutex
	queued   []*archive.Job
	finished map[int64]finishedJob
	progress int
	failProg bool
	released []int64
	touched  int
}

type finishedJob struct {
	path            string
	size            int64
	result, failure string
	times           int
}

func (q *jobQueue) ClaimJob(_ context.Context, kind archive.JobKind, _ time.Duration) (*archive.Job, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, j := range q.queued {
		if j.Kind == kind {
			q.queued = append(q.queued[:i], q.queued[i+1:]...)
			return j, nil
		}
	}
	return nil, nil
}

func (q *jobQueue) JobProgress(context.Context, archive.JobKind, int64, int64, int64) error {
	q.progress++
	if q.failProg {
		return errors.New("database gone")
	}
	return nil
}

func (q *jobQueue) TouchJob(context.Context, archive.JobKind, int64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.touched++
	return nil
}

func (q *jobQueue) touches() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.touched
}

func (q *jobQueue) FinishJob(_ context.Context, _ archive.JobKind, id int64, path string, size int64, result, failure string) error {
	f := q.finished[id]
	q.finished[id] = finishedJob{path: path, size: size, result: result, failure: failure, times: f.times + 1}
	return nil
}

func (q *jobQueue) ReleaseJob(_ context.Context, _ archive.JobKind, id int64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.released = append(q.released, id)
	return nil
}

func (q *jobQueue) ExpiredExports(context.Context) ([]string, error) { return nil, nil }

func (q *jobQueue) StartImport(_ context.Context, tenantID, accountID int64, path string, publish bool) (*archive.Job, error) {
	return &archive.Job{ID: 50, Kind: archive.ImportJob, TenantID: tenantID, AccountID: accountID}, nil
}

func (q *jobQueue) AccountByID(_ context.Context, id int64) (*federation.Account, error) {
	return &federation.Account{ID: id, TenantID: 1, Domain: "a.example", Username: "alice"}, nil
}

type fixedLinks struct{}

func (fixedLinks) Links(context.Context, *federation.Account) (federation.Links, error) {
	return federation.NewLinks("https", "a.example", 0), nil
}

// poisonImporter panics on the archive named poison.zip, the way a bug
// in the importer would on a crafted archive; other archives import.
type poisonImporter struct{}

func (poisonImporter) Run(_ context.Context, req portability.Request) (*portability.Summary, error) {
	req.Progress(1, 2)
	req.Progress(2, 2)
	if filepath.Base(req.Path) == "poison.zip" {
		var rows []string
		_ = rows[3] // index out of range
	}
	return &portability.Summary{Created: 2}, nil
}

type noSource struct{}

func (noSource) ArchiveStatuses(context.Context, int64, int64, int) ([]*federation.Status, error) {
	return nil, nil
}
func (noSource) ArchiveEach(context.Context, int64, archive.Kind, func([]string) error) error {
	return nil
}

type noMedia struct{}

func (noMedia) Open(context.Context, int64, string) (*media.File, error) {
	return nil, errs.E(errs.NotFound, "no such file")
}

func newArchives(q *jobQueue, dir string, log *bytes.Buffer) *portability.Archives {
	return &portability.Archives{Jobs: q, Links: fixedLinks{}, Import: poisonImporter{}, Source: noSource{}, Media: noMedia{},
		Dir: dir, Log: slog.New(slog.NewTextHandler(log, nil))}
}

// TestIssue15Finding7PoisonArchiveFailsOnlyItsJob: an import that panics
// neither crashes the pass nor comes back: that job is recorded failed
// with the panic as its error, once, and the next job runs.
func TestIssue15Finding7PoisonArchiveFailsOnlyItsJob(t *testing.T) {
	dir := t.TempDir()
	q := &jobQueue{finished: map[int64]finishedJob{}, queued: []*archive.Job{
		{ID: 1, Kind: archive.ImportJob, TenantID: 1, AccountID: 7, Path: filepath.Join(dir, "poison.zip")},
		{ID: 2, Kind: archive.ImportJob, TenantID: 1, AccountID: 7, Path: filepath.Join(dir, "fine.zip")},
	}}
	for _, name := range []string{"poison.zip", "fine.zip"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("zip"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var log bytes.Buffer
	a := newArchives(q, dir, &log)
	if err := a.Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	poison := q.finished[1]
	if poison.times != 1 || !strings.HasPrefix(poison.failure, "panic: runtime error: index out of range") {
		t.Fatalf("poison job: %+v", poison)
	}
	if fine := q.finished[2]; fine.times != 1 || fine.failure != "" || !strings.Contains(fine.result, "2") {
		t.Fatalf("next job: %+v", fine)
	}
	if !strings.Contains(log.String(), "archive job panicked") || !strings.Contains(log.String(), "goroutine") {
		t.Fatalf("the panic's stack is not logged: %s", log.String())
	}
	for _, name := range []string{"poison.zip", "fine.zip"} { // uploads are not needed again
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Fatalf("%s left: %v", name, err)
		}
	}
	if err := a.Pass(context.Background()); err != nil || q.finished[1].times != 1 {
		t.Fatalf("the poison job came back: %v %+v", err, q.finished[1])
	}
}

// TestIssue15Finding8JobProgressErrorsLogged: a failing progress record
// does not stop the job and is not dropped: it is logged, once per job.
func TestIssue15Finding8JobProgressErrorsLogged(t *testing.T) {
	dir := t.TempDir()
	q := &jobQueue{finished: map[int64]finishedJob{}, failProg: true, queued: []*archive.Job{
		{ID: 1, Kind: archive.ImportJob, TenantID: 1, AccountID: 7, Path: filepath.Join(dir, "fine.zip")},
	}}
	var log bytes.Buffer
	if err := newArchives(q, dir, &log).Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	if q.progress != 2 || q.finished[1].failure != "" {
		t.Fatalf("progress %d, job %+v", q.progress, q.finished[1])
	}
	if n := strings.Count(log.String(), "record progress"); n != 1 || !strings.Contains(log.String(), "database gone") {
		t.Fatalf("progress failures logged %d times: %s", n, log.String())
	}
}

// An export job builds its zip in the archive directory and records it;
// an account of another tenant than the job's is refused.
func TestArchivesExportJob(t *testing.T) {
	dir := t.TempDir()
	q := &jobQueue{finished: map[int64]finishedJob{}, queued: []*archive.Job{
		{ID: 4, Kind: archive.ExportJob, TenantID: 1, AccountID: 7},
		{ID: 5, Kind: archive.ExportJob, TenantID: 2, AccountID: 7},
	}}
	var log bytes.Buffer
	if err := newArchives(q, dir, &log).Pass(context.Background()); err != nil {
		t.Fatal(err)
	}
	done := q.finished[4]
	if done.failure != "" || filepath.Dir(done.path) != dir || done.size == 0 {
		t.Fatalf("export: %+v", done)
	}
	if fi, err := os.Stat(done.path); err != nil || fi.Size() != done.size {
		t.Fatalf("export file: %v", err)
	}
	if f := q.finished[5]; f.failure != "account is not on the job's tenant" || f.path != "" {
		t.Fatalf("other tenant's job: %+v", f)
	}
}

// roost account import of a poison archive: the job is recorded failed
// and the command gets the error instead of crashing.
func TestImportFilePoison(t *testing.T) {
	q := &jobQueue{finished: map[int64]finishedJob{}}
	var log bytes.Buffer
	a := newArchives(q, t.TempDir(), &log)
	local, _ := q.AccountByID(context.Background(), 7)
	_, err := a.ImportFile(context.Background(), local, federation.NewLinks("https", "a.example", 0), "/tmp/poison.zip", false)
	if err == nil || !strings.HasPrefix(q.finished[50].failure, "panic: ") {
		t.Fatalf("err %v, job %+v", err, q.finished[50])
	}
}

// shutdownSource stops the worker (cancels its context) while an export
// reads the account's posts, as SIGTERM does mid-job.
type shutdownSource struct {
	noSource
	stop context.CancelFunc
}

func (s shutdownSource) ArchiveStatuses(ctx context.Context, _, _ int64, _ int) ([]*federation.Status, error) {
	s.stop()
	return nil, ctx.Err()
}

// Soak (issue 19): an export requested just before a rolling restart
// stayed "running" for 10 minutes, the claim's stale time: the stopping
// worker left it claimed. A job cut short by shutdown is now given back
// (pending) at once, and never recorded as failed.
func TestIssue19ShutdownGivesArchiveJobBack(t *testing.T) {
	dir := t.TempDir()
	q := &jobQueue{finished: map[int64]finishedJob{}, queued: []*archive.Job{
		{ID: 9, Kind: archive.ExportJob, TenantID: 1, AccountID: 7},
	}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var log bytes.Buffer
	a := newArchives(q, dir, &log)
	a.Source = shutdownSource{stop: cancel}
	_ = a.Pass(ctx)
	if _, ended := q.finished[9]; ended || len(q.released) != 1 || q.released[0] != 9 {
		t.Fatalf("job cut short by shutdown: finished %+v, released %v; want it given back, not ended", q.finished, q.released)
	}
}

// slowImporter makes no progress until release is closed: a long step
// (a large media file, a slow disk) during which only the heartbeat
// keeps the job's claim fresh.
type slowImporter struct{ release chan struct{} }

func (s slowImporter) Run(ctx context.Context, _ portability.Request) (*portability.Summary, error) {
	select {
	case <-s.release:
		return &portability.Summary{Created: 1}, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Issue 19, the kill -9 case: a claim went stale only after 10 minutes
// without progress, so a worker killed mid-job held its job that long.
// A running job's claim is now refreshed by a heartbeat whether or not
// the job makes progress, and StaleAfter is short.
func TestIssue19RunningArchiveJobKeepsItsClaimWithoutProgress(t *testing.T) {
	if portability.StaleAfter > 2*time.Minute || portability.HeartbeatEvery*3 > portability.StaleAfter {
		t.Fatalf("StaleAfter %v, HeartbeatEvery %v: want a stale time of at most 2 minutes and at least three heartbeats in it",
			portability.StaleAfter, portability.HeartbeatEvery)
	}
	dir := t.TempDir()
	q := &jobQueue{finished: map[int64]finishedJob{}, queued: []*archive.Job{
		{ID: 4, Kind: archive.ImportJob, TenantID: 1, AccountID: 7, Path: filepath.Join(dir, "slow.zip")},
	}}
	var log bytes.Buffer
	a := newArchives(q, dir, &log)
	release := make(chan struct{})
	a.Import = slowImporter{release: release}
	a.Heartbeat = time.Millisecond
	done := make(chan error, 1)
	go func() { done <- a.Pass(context.Background()) }()
	for q.touches() < 3 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if f := q.finished[4]; f.times != 1 || f.failure != "" {
		t.Fatalf("job: %+v, want done once", f)
	}
	// The heartbeat stops with the job.
	after := q.touches()
	time.Sleep(20 * time.Millisecond) // twenty heartbeats' time
	if n := q.touches(); n != after {
		t.Errorf("the claim was refreshed %d times after the job ended", n-after)
	}
}
