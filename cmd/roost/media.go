package main

import (
	"context"
	"fmt"
	"time"

	"github.com/roost-social/roost/federation/social/media"
	mediapg "github.com/roost-social/roost/federation/social/media/postgres"
	"github.com/roost-social/roost/federation/social/media/s3"
	"github.com/roost-social/roost/internal/config"
)

// newMedia wires uploads: records in PostgreSQL, files in the S3 bucket
// when ROOST_MEDIA_S3_ENDPOINT is set (checked now, so a wrong bucket or
// key stops the node at start), else in ROOST_MEDIA_DIR.
func newMedia(ctx context.Context, cfg *config.Config, svc *services) (*media.Service, error) {
	var blobs media.Blobs = media.NewLocalStore(cfg.MediaDir)
	if cfg.MediaS3Endpoint != "" {
		st, err := s3.New(s3.Config{Endpoint: cfg.MediaS3Endpoint, Bucket: cfg.MediaS3Bucket,
			AccessKey: cfg.MediaS3AccessKey, SecretKey: cfg.MediaS3SecretKey, Region: cfg.MediaS3Region})
		if err != nil {
			return nil, fmt.Errorf("ROOST_MEDIA_S3_*: %w", err)
		}
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := st.Check(cctx); err != nil {
			return nil, fmt.Errorf("ROOST_MEDIA_S3_*: %w", err)
		}
		blobs = st
	}
	return svc.withStorageQuota(&media.Service{Store: mediapg.New(svc.db), Blobs: blobs}), nil // storage quota (quotas.go)
}
