package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/roost-social/roost/federation/portability"
	"github.com/roost-social/roost/federation/portability/archive"
	"github.com/roost-social/roost/federation/social/media"
	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/errs"
)

// archiveDir is where exports are built and uploaded imports wait: next
// to the media directory, shared by web nodes and workers like it.
func archiveDir(cfg *config.Config) string {
	return filepath.Join(filepath.Dir(filepath.Clean(cfg.MediaDir)), "roost-archives")
}

// archiveStale is how long a running job may go without progress before
// another worker takes it over (imports are idempotent, exports rebuilt).
const archiveStale = 10 * time.Minute

// runArchives builds requested exports and runs uploaded imports, one job
// at a time per worker, and removes expired exports.
func runArchives(ctx context.Context, cfg *config.Config, log *slog.Logger, svc *services, fd *fed) {
	ms, err := newMedia(ctx, cfg, svc)
	if err != nil {
		log.Error("archives: no media store", "err", err)
		return
	}
	dir := archiveDir(cfg)
	go runImportFollows(ctx, log, svc, fd)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastSweep := time.Time{}
	for {
		for _, kind := range []archive.JobKind{archive.ExportJob, archive.ImportJob} {
			for ctx.Err() == nil {
				j, err := svc.accounts.ClaimJob(ctx, kind, archiveStale)
				if err != nil {
					if ctx.Err() == nil {
						log.Error("archives: claim", "kind", kind, "err", err)
					}
					break
				}
				if j == nil {
					break
				}
				runArchiveJob(ctx, log, svc, fd, ms, dir, j)
			}
		}

		if time.Since(lastSweep) > time.Hour {
			lastSweep = time.Now()
			if paths, err := svc.accounts.ExpiredExports(ctx); err == nil {
				for _, p := range paths {
					os.Remove(p)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// runImportFollows sends imports' queued follows as they fall due (the
// queue spreads those of one server over time), a few per second, apart
// from the jobs so that a slow server delays no export or import.
func runImportFollows(ctx context.Context, log *slog.Logger, svc *services, fd *fed) {
	fs := followSender(svc, fd, log)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		for ctx.Err() == nil {
			n, err := fs.Once(ctx, 10)
			if err != nil && ctx.Err() == nil {
				log.Error("archives: import follows", "err", err)
			}
			if n == 0 || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func runArchiveJob(ctx context.Context, log *slog.Logger, svc *services, fd *fed, ms *media.Service, dir string, j *archive.Job) {
	log = log.With("job", j.ID, "kind", j.Kind, "account", j.AccountID)
	var path, result, failure string
	var size int64
	err := func() error {
		local, err := svc.accounts.AccountByID(ctx, j.AccountID)
		if err != nil {
			return err
		}
		if local.TenantID != j.TenantID {
			return errs.E(errs.Forbidden, "account is not on the job's tenant")
		}
		links, err := fd.outbox.Locals.Links(ctx, local)
		if err != nil {
			return err
		}
		if j.Kind == archive.ExportJob {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			var tok [12]byte
			rand.Read(tok[:])
			path = filepath.Join(dir, fmt.Sprintf("export-%d-%s.zip", j.ID, hex.EncodeToString(tok[:])))
			err := exportArchive(ctx, svc.accounts, ms, local, links, path, func(posts int) {
				svc.accounts.JobProgress(ctx, j.Kind, j.ID, int64(posts), 0)
			})
			if err != nil {
				return err
			}
			fi, err := os.Stat(path)
			if err != nil {
				return err
			}
			size = fi.Size()
			return nil
		}
		// Validation happens here, in the worker: the request only stored
		// the upload and queued it.
		sum, err := importer(svc, ms, fd).Run(ctx, portability.Request{ImportID: j.ID, Local: local, Links: links,
			Path: j.Path, Publish: j.Publish, Progress: func(done, total int) {
				svc.accounts.JobProgress(ctx, j.Kind, j.ID, int64(done), int64(total))
			}})
		if err != nil {
			return err
		}
		result = sum.String()
		return nil
	}()
	if err != nil && ctx.Err() != nil {
		return // shutting down: the job is claimed again later
	}
	if j.Kind == archive.ImportJob && filepath.Dir(filepath.Clean(j.Path)) == filepath.Clean(dir) {
		os.Remove(j.Path) // done or failed, the upload is not needed again
	}
	if err != nil {
		failure = errs.MessageOf(err)
		if errs.CodeOf(err) == errs.Internal {
			log.Error("archive job failed", "err", err)
			failure = "internal error"
		}
	}
	if err := svc.accounts.FinishJob(context.WithoutCancel(ctx), j.Kind, j.ID, path, size, result, failure); err != nil {
		log.Error("archive job: record end", "err", err)
	}
}
