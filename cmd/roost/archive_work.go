package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/roost-social/roost/internal/config"
	"github.com/roost-social/roost/internal/jobs"
)

// archiveDir is where exports are built and uploaded imports wait: next
// to the media directory, shared by web nodes and workers like it.
func archiveDir(cfg *config.Config) string {
	return filepath.Join(filepath.Dir(filepath.Clean(cfg.MediaDir)), "roost-archives")
}

// deletionEvery is how often roost work looks for due deletions.
const deletionEvery = 5 * time.Second

// portabilityJobs are the portability room's passes in roost work:
// account exports and imports, imports' queued follows (apart, so that a
// slow server delays no archive), and tenants leaving. Without a media
// store there are none (logged), as the rest of the worker goes on.
func portabilityJobs(ctx context.Context, cfg *config.Config, log *slog.Logger, svc *services, fd *fed) []jobs.Job {
	ms, err := newMedia(ctx, cfg, svc)
	if err != nil {
		log.Error("archives and tenant deletions: no media store", "err", err)
		return nil
	}
	leaving := newLeaving(cfg, log, svc, fd)
	leaving.Blobs = ms.Blobs
	return []jobs.Job{
		{Name: "archives", Every: time.Second, Run: newArchives(cfg, log, svc, fd, ms).Pass},
		{Name: "import-follows", Every: time.Second, Run: followSender(svc, fd, log).Pass},
		{Name: "tenant-deletions", Every: deletionEvery, Run: leaving.Pass},
	}
}
