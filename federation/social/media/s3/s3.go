// Package s3 stores media files in an S3-compatible bucket (AWS S3,
// MinIO, Garage, R2...) with minio-go: the only importer of it. Files are
// still served through Roost, with its headers (SECURITY 10), so the
// bucket need not be public.
package s3

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/roost-social/roost/federation/social/media"
	"github.com/roost-social/roost/internal/errs"
)

// Config names the bucket and how to reach it.
type Config struct {
	// Endpoint is the service's URL: https://s3.eu-west-1.amazonaws.com,
	// or http://127.0.0.1:9000 for a local MinIO.
	Endpoint  string
	Bucket    string
	AccessKey string
	SecretKey string
	Region    string
}

// Store keeps files as objects named by their keys.
type Store struct {
	client *minio.Client
	bucket string
}

var _ media.Blobs = (*Store)(nil)

// New returns a store on cfg's bucket. It does not contact the service;
// see Check.
func New(cfg Config) (*Store, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
		return nil, fmt.Errorf("the S3 endpoint must be an http(s) URL without a path, such as https://s3.example.com")
	}
	if cfg.Bucket == "" {
		return nil, fmt.Errorf("an S3 bucket is required with an S3 endpoint")
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: u.Scheme == "https", Region: cfg.Region,
		// Path-style requests work with every S3-compatible service.
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		return nil, fmt.Errorf("S3 client: %w", err)
	}
	return &Store{client: c, bucket: cfg.Bucket}, nil
}

// Check reports whether the bucket exists and the credentials reach it.
func (s *Store) Check(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("S3 bucket %s: %w", s.bucket, err)
	}
	if !ok {
		return fmt.Errorf("S3 bucket %s does not exist", s.bucket)
	}
	return nil
}

// Put uploads the file with its content type.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if !media.ValidKey(key) {
		return errs.E(errs.Invalid, "invalid media key")
	}
	_, err := s.client.PutObject(ctx, s.bucket, key, r, size, minio.PutObjectOptions{ContentType: contentType})
	if err != nil {
		return fmt.Errorf("store media %s: %w", key, err)
	}
	return nil
}

// Get opens the object under key.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	if !media.ValidKey(key) {
		return nil, 0, errs.E(errs.NotFound, "no such file")
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, 0, fmt.Errorf("read media %s: %w", key, err)
	}
	info, err := obj.Stat()
	if err != nil {
		obj.Close()
		if minio.ToErrorResponse(err).Code == "NoSuchKey" {
			return nil, 0, errs.E(errs.NotFound, "no such file")
		}
		return nil, 0, fmt.Errorf("read media %s: %w", key, err)
	}
	return obj, info.Size, nil
}

// Delete removes the object under key.
func (s *Store) Delete(ctx context.Context, key string) error {
	if !media.ValidKey(key) {
		return nil
	}
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("delete media %s: %w", key, err)
	}
	return nil
}
