package s3_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/roost-social/roost/federation/social/media"
	"github.com/roost-social/roost/federation/social/media/s3"
	"github.com/roost-social/roost/internal/errs"
)

// fakeS3 serves an in-memory S3 over real HTTP on loopback, with bucket
// "roost-media".
func fakeS3(t *testing.T) string {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("roost-media"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
	t.Cleanup(srv.Close)
	return srv.URL
}

func newStore(t *testing.T, endpoint, bucket string) *s3.Store {
	t.Helper()
	st, err := s3.New(s3.Config{Endpoint: endpoint, Bucket: bucket, AccessKey: "key", SecretKey: "secret", Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	st := newStore(t, fakeS3(t), "roost-media")
	if err := st.Check(ctx); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("roost "), 1000)
	if err := st.Put(ctx, "abc123/original.png", bytes.NewReader(data), int64(len(data)), "image/png"); err != nil {
		t.Fatal(err)
	}
	r, size, err := st.Get(ctx, "abc123/original.png")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if size != int64(len(data)) || !bytes.Equal(got, data) {
		t.Fatalf("got %d bytes (size %d), want %d", len(got), size, len(data))
	}
	if err := st.Delete(ctx, "abc123/original.png"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Get(ctx, "abc123/original.png"); !errs.Is(err, errs.NotFound) {
		t.Fatalf("deleted object: %v, want not found", err)
	}
	if err := st.Put(ctx, "../escape", bytes.NewReader(nil), 0, "image/png"); err == nil {
		t.Fatal("an invalid key was stored")
	}
}

func TestCheckAndConfig(t *testing.T) {
	endpoint := fakeS3(t)
	if err := newStore(t, endpoint, "no-such-bucket").Check(context.Background()); err == nil {
		t.Fatal("a missing bucket passed the check")
	}
	for _, cfg := range []s3.Config{
		{Endpoint: "s3.example.com", Bucket: "b"},
		{Endpoint: "ftp://s3.example.com", Bucket: "b"},
		{Endpoint: "https://s3.example.com/path", Bucket: "b"},
		{Endpoint: "https://s3.example.com"},
	} {
		if _, err := s3.New(cfg); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
}

// The media service stores an upload and its thumbnail in the bucket and
// serves them back.
func TestMediaServiceOnS3(t *testing.T) {
	ctx := context.Background()
	svc := &media.Service{Store: &oneStore{}, Blobs: newStore(t, fakeS3(t), "roost-media")}
	var b bytes.Buffer
	png.Encode(&b, image.NewGray(image.Rect(0, 0, 900, 300)))
	a, err := svc.Upload(ctx, media.Upload{TenantID: 1, AccountID: 2, File: &b})
	if err != nil {
		t.Fatal(err)
	}
	for key, w := range map[string]int{a.FileKey: 900, a.ThumbKey: 640} {
		f, err := svc.Open(ctx, 1, key)
		if err != nil {
			t.Fatalf("open %s: %v", key, err)
		}
		img, err := png.Decode(f.Body)
		f.Body.Close()
		if err != nil || img.Bounds().Dx() != w || f.ContentType != "image/png" {
			t.Fatalf("%s: %v %v %s", key, img.Bounds(), err, f.ContentType)
		}
	}
}

// oneStore remembers one attachment.
type oneStore struct{ a *media.Attachment }

func (s *oneStore) CreateMedia(_ context.Context, a *media.Attachment) (*media.Attachment, error) {
	c := *a
	c.ID = 1
	s.a = &c
	return &c, nil
}

func (s *oneStore) MediaByIDs(context.Context, int64, []int64) ([]*media.Attachment, error) {
	return []*media.Attachment{s.a}, nil
}

func (s *oneStore) UpdateMedia(context.Context, int64, int64, string, float64, float64) (*media.Attachment, error) {
	return s.a, nil
}

func (s *oneStore) DescribeMedia(context.Context, int64, int64, int64, string, float64, float64) error {
	return nil
}

func (s *oneStore) DeleteMedia(context.Context, int64, int64) ([]string, error) { return nil, nil }

func (s *oneStore) MediaFile(_ context.Context, tenantID int64, key string) (string, error) {
	if s.a == nil || tenantID != s.a.TenantID || (key != s.a.FileKey && key != s.a.ThumbKey) {
		return "", errs.E(errs.NotFound, "no such file")
	}
	return s.a.ContentType, nil
}
