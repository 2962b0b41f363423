package portability

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/federation/portability/archive"
	"github.com/roost-social/roost/federation/social/media"
	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/internal/jobs"
)

// JobQueue holds export and import jobs (federation/postgres).
type JobQueue interface {
	// ClaimJob takes the oldest pending job of a kind, or one left running
	// longer than stale; nil when there is none.
	ClaimJob(ctx context.Context, kind archive.JobKind, stale time.Duration) (*archive.Job, error)
	// JobProgress records progress and keeps the claim fresh.
	JobProgress(ctx context.Context, kind archive.JobKind, id, progress, total int64) error
	// TouchJob keeps a running job's claim fresh (the worker's heartbeat).
	TouchJob(ctx context.Context, kind archive.JobKind, id int64) error
	// FinishJob records a job's end: done, or failed with a message.
	FinishJob(ctx context.Context, kind archive.JobKind, id int64, path string, size int64, result, failure string) error
	// ReleaseJob gives back a job this worker claimed but will not run
	// (it is shutting down): pending again, for the next worker at once.
	ReleaseJob(ctx context.Context, kind archive.JobKind, id int64) error
	// ExpiredExports forgets the files of expired exports and lists them.
	ExpiredExports(ctx context.Context) ([]string, error)
	// StartImport records an import its caller runs at once.
	StartImport(ctx context.Context, tenantID, accountID int64, path string, publish bool) (*archive.Job, error)
	AccountByID(ctx context.Context, id int64) (*federation.Account, error)
}

// LinkFinder gives a local account's URL builder (inbox.Locals).
type LinkFinder interface {
	Links(ctx context.Context, a *federation.Account) (federation.Links, error)
}

// ImportRunner runs one import (*Importer).
type ImportRunner interface {
	Run(ctx context.Context, req Request) (*Summary, error)
}

// MediaFiles opens a tenant's stored media file (media.Service).
type MediaFiles interface {
	Open(ctx context.Context, tenantID int64, key string) (*media.File, error)
}

// StaleAfter is how long a running job's claim may go without a
// heartbeat before another worker takes the job over (imports are
// idempotent, exports rebuilt): a worker killed mid-job (kill -9, the
// node lost) holds its job this long. It was 10 minutes, when only
// progress kept a claim fresh and a slow step made none.
const StaleAfter = 2 * time.Minute

// HeartbeatEvery is how often a worker refreshes the claim of the job it
// runs: six chances per StaleAfter, so a PostgreSQL restart or a slow
// minute does not hand a live job to a second worker.
const HeartbeatEvery = 20 * time.Second

// sweepEvery is how often expired exports are removed.
const sweepEvery = time.Hour

// Archives builds requested exports and runs uploaded imports (Pass),
// and exports or imports at once for the CLI (Export, ImportFile).
type Archives struct {
	Jobs   JobQueue
	Links  LinkFinder
	Import ImportRunner
	Source archive.Source
	Media  MediaFiles
	// Dir is where exports are built and uploads wait.
	Dir string
	Log *slog.Logger
	Now func() time.Time
	// Heartbeat is how often a running job's claim is refreshed (0:
	// HeartbeatEvery).
	Heartbeat time.Duration

	lastSweep time.Time
}

// jobKinds are handled in this order on every pass.
var jobKinds = []archive.JobKind{archive.ExportJob, archive.ImportJob}

// Pass runs every claimable job, one at a time, then (hourly) removes
// expired exports. A job that fails or panics is recorded failed; only
// the queue's own errors are returned.
func (a *Archives) Pass(ctx context.Context) error {
	var failed []error
	for _, kind := range jobKinds {
		for ctx.Err() == nil {
			// The claim runs to its answer even when shutdown begins: a
			// claim cut off after PostgreSQL made it left the job
			// running with nobody on it until StaleAfter (soak: an
			// export stuck 10 minutes after a rolling restart).
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
			j, err := a.Jobs.ClaimJob(cctx, kind, StaleAfter)
			cancel()
			if err != nil {
				failed = append(failed, fmt.Errorf("claim %s: %w", kind, err))
				break
			}
			if j == nil {
				break
			}
			if ctx.Err() != nil {
				a.release(j)
				break
			}
			a.runJob(ctx, j)
		}
	}
	if err := a.sweep(ctx); err != nil {
		failed = append(failed, err)
	}
	return errors.Join(failed...)
}

// sweep removes the files of expired exports, at most once an hour.
func (a *Archives) sweep(ctx context.Context) error {
	if now := a.now(); now.Sub(a.lastSweep) > sweepEvery {
		a.lastSweep = now
	} else {
		return nil
	}
	paths, err := a.Jobs.ExpiredExports(ctx)
	if err != nil {
		return fmt.Errorf("expired exports: %w", err)
	}
	for _, p := range paths {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			a.log().Warn("archives: remove expired export", "path", p, "err", err)
		}
	}
	return nil
}

// outcome is what a job leaves to record.
type outcome struct {
	path, result string
	size         int64
}

// runJob runs one claimed job and records its end. A panic fails this
// job with the panic as its error, so a poison archive neither stops the
// worker nor comes back after the stale time.
func (a *Archives) runJob(ctx context.Context, j *archive.Job) {
	log := a.log().With("job", j.ID, "kind", j.Kind, "account", j.AccountID)
	var out outcome
	stop := a.heartbeat(ctx, log, j)
	err := recovered(log, func() error { return a.do(ctx, log, j, &out) })
	stop()
	if err != nil && ctx.Err() != nil && !panicked(err) {
		a.release(j) // shutting down: the next worker takes it at once
		return
	}
	if j.Kind == archive.ImportJob && filepath.Dir(filepath.Clean(j.Path)) == filepath.Clean(a.Dir) {
		// Done or failed, the upload is not needed again.
		if rerr := os.Remove(j.Path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			log.Warn("archive job: remove upload", "path", j.Path, "err", rerr)
		}
	}
	failure := ""
	if err != nil {
		failure = errs.MessageOf(err)
		if errs.CodeOf(err) == errs.Internal && !panicked(err) {
			log.Error("archive job failed", "err", err)
			failure = "internal error"
		}
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bookkeepingTimeout)
	defer cancel()
	if err := a.Jobs.FinishJob(fctx, j.Kind, j.ID, out.path, out.size, out.result, failure); err != nil {
		// Not recorded: the job stays claimed and is run again once its
		// claim is stale (exports are rebuilt, imports idempotent).
		log.Error("archive job: record end", "err", err)
	}
}

// heartbeat refreshes j's claim every Heartbeat until stop is called,
// so that only a worker that is gone lets its job go stale. A failure is
// logged once; the job goes on.
func (a *Archives) heartbeat(ctx context.Context, log *slog.Logger, j *archive.Job) (stop func()) {
	every := a.Heartbeat
	if every <= 0 {
		every = HeartbeatEvery
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		logged := false
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			tctx, cancel := context.WithTimeout(ctx, bookkeepingTimeout)
			err := a.Jobs.TouchJob(tctx, j.Kind, j.ID)
			cancel()
			if err != nil && !logged && ctx.Err() == nil {
				logged = true
				log.Warn("archive job: refresh claim", "err", err)
			}
		}
	}()
	return func() { close(done); <-finished }
}

// bookkeepingTimeout bounds a claim, release or end record that shutdown
// may not cut short.
const bookkeepingTimeout = 15 * time.Second

// release gives back a claimed job this worker will not run, so that
// another takes it now rather than after StaleAfter. When that fails
// (PostgreSQL away), the claim goes stale as before.
func (a *Archives) release(j *archive.Job) {
	ctx, cancel := context.WithTimeout(context.Background(), bookkeepingTimeout)
	defer cancel()
	if err := a.Jobs.ReleaseJob(ctx, j.Kind, j.ID); err != nil {
		a.log().Warn("archive job: give back", "job", j.ID, "kind", j.Kind, "err", err)
	}
}

// do is the work of one job.
func (a *Archives) do(ctx context.Context, log *slog.Logger, j *archive.Job, out *outcome) error {
	local, err := a.Jobs.AccountByID(ctx, j.AccountID)
	if err != nil {
		return err
	}
	if local.TenantID != j.TenantID {
		return errs.E(errs.Forbidden, "account is not on the job's tenant")
	}
	links, err := a.Links.Links(ctx, local)
	if err != nil {
		return err
	}
	progress := a.progress(ctx, log, j)
	if j.Kind == archive.ExportJob {
		return a.exportJob(ctx, j, local, links, progress, out)
	}
	// Validation happens here, in the worker: the request only stored the
	// upload and queued it.
	sum, err := a.Import.Run(ctx, Request{ImportID: j.ID, Local: local, Links: links, Path: j.Path, Publish: j.Publish,
		Progress: func(done, total int) { progress(int64(done), int64(total)) }})
	if err != nil {
		return err
	}
	out.result = sum.String()
	return nil
}

// exportJob builds an export job's zip in Dir.
func (a *Archives) exportJob(ctx context.Context, j *archive.Job, local *federation.Account, links federation.Links,
	progress func(done, total int64), out *outcome) error {
	if err := os.MkdirAll(a.Dir, 0o700); err != nil {
		return err
	}
	var tok [12]byte
	_, _ = rand.Read(tok[:]) // never fails (crypto/rand)
	out.path = filepath.Join(a.Dir, fmt.Sprintf("export-%d-%s.zip", j.ID, hex.EncodeToString(tok[:])))
	if err := a.Export(ctx, local, links, out.path, func(posts int) { progress(int64(posts), 0) }); err != nil {
		return err
	}
	fi, err := os.Stat(out.path)
	if err != nil {
		return err
	}
	out.size = fi.Size()
	return nil
}

// progress records a job's progress, which also keeps its claim fresh. A
// failure is logged once per job: the job goes on, and if the claim goes
// stale another worker may take it over (imports resume, exports are
// rebuilt).
func (a *Archives) progress(ctx context.Context, log *slog.Logger, j *archive.Job) func(done, total int64) {
	logged := false
	return func(done, total int64) {
		err := a.Jobs.JobProgress(ctx, j.Kind, j.ID, done, total)
		if err != nil && !logged && ctx.Err() == nil {
			logged = true
			log.Warn("archive job: record progress", "err", err)
		}
	}
}

// Export writes an account's archive to path through a temporary file in
// the same directory, so a failed export leaves no partial zip behind.
func (a *Archives) Export(ctx context.Context, local *federation.Account, links federation.Links, path string, progress func(posts int)) error {
	tmp, err := os.CreateTemp(dirOf(path), ".roost-export-*")
	if err != nil {
		return err
	}
	// After the rename there is nothing to remove; after a failure, the
	// partial file: either way the outcome is already decided.
	defer func() { _ = os.Remove(tmp.Name()) }()
	e := &archive.Export{Account: local, Links: links, Source: a.Source, Progress: progress,
		Media: func(ctx context.Context, at federation.Attachment) (io.ReadCloser, error) {
			_, key, _ := strings.Cut(at.URL, "/media/")
			f, err := a.Media.Open(ctx, local.TenantID, key)
			if err != nil {
				return nil, err
			}
			return f.Body, nil
		}}
	if err := e.Write(ctx, tmp); err != nil {
		_ = tmp.Close() // the write's error is the one to report
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func dirOf(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[:i+1]
	}
	return "."
}

// ImportFile runs an import of a zip on disk at once, recorded as an
// import job of the account (roost account import, the benchmark). The
// job names no file: the operator's zip is not an upload a worker may
// take over or remove.
func (a *Archives) ImportFile(ctx context.Context, local *federation.Account, links federation.Links, path string, publish bool) (*Summary, error) {
	j, err := a.Jobs.StartImport(ctx, local.TenantID, local.ID, "", publish)
	if err != nil {
		return nil, err
	}
	log := a.log().With("job", j.ID, "kind", j.Kind)
	progress := a.progress(ctx, log, j)
	var sum *Summary
	stop := a.heartbeat(ctx, log, j) // a worker must not take over the command's job
	err = recovered(a.log(), func() error {
		var err error
		sum, err = a.Import.Run(ctx, Request{ImportID: j.ID, Local: local, Links: links, Path: path, Publish: publish,
			Progress: func(done, total int) { progress(int64(done), int64(total)) }})
		return err
	})
	stop()
	result, failure := "", ""
	if err != nil {
		failure = errs.MessageOf(err)
	} else {
		sum.ImportID = j.ID
		result = sum.String()
	}
	if ferr := a.Jobs.FinishJob(context.WithoutCancel(ctx), archive.ImportJob, j.ID, "", 0, result, failure); ferr != nil && err == nil {
		err = ferr
	}
	return sum, err
}

// maxPanicText bounds the panic value recorded as a job's error.
const maxPanicText = 300

// recovered runs fn under jobs.Guard: a panic is logged with its stack
// and becomes an error whose message (recorded as the job's error) is
// the panic's.
func recovered(log *slog.Logger, fn func() error) error {
	err := jobs.Guard(fn)
	var p *jobs.PanicError
	if !errors.As(err, &p) {
		return err
	}
	text := p.Error()
	if len(text) > maxPanicText {
		text = strings.ToValidUTF8(text[:maxPanicText], "") // a cut rune would not be stored
	}
	log.Error("archive job panicked", "panic", text, "stack", string(p.Stack))
	return errs.Wrap(errs.Internal, p, text)
}

// panicked reports whether err is a recovered panic.
func panicked(err error) bool {
	var p *jobs.PanicError
	return errors.As(err, &p)
}

func (a *Archives) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Archives) log() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.New(slog.DiscardHandler)
}
