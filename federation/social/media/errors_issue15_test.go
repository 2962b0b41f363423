package media

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// recordFails is a Store whose records cannot be written.
type recordFails struct{ memStore }

func (*recordFails) CreateMedia(context.Context, *Attachment) (*Attachment, error) {
	return nil, errors.New("connection reset")
}

// undeletable is a Blobs that keeps files but cannot remove them.
type undeletable struct{ *LocalStore }

func (undeletable) Delete(context.Context, string) error { return errors.New("permission denied") }

// An upload whose record fails removes its files again; when it cannot,
// the orphaned files are named in the error (logged with the failure),
// not dropped. The files of a record that failed are gone otherwise.
func TestIssue15Finding8OrphanedMediaFilesReported(t *testing.T) {
	dir := t.TempDir()
	blobs := NewLocalStore(dir)
	s := &Service{Store: &recordFails{}, Blobs: blobs}
	_, err := upload(t, s, pngOf(t, gradient(1600, 1200)))
	if err == nil || !strings.Contains(err.Error(), "record media") || strings.Contains(err.Error(), "orphaned") {
		t.Fatalf("upload with a failing record: %v", err)
	}
	files := 0
	if err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files++
		}
		return err
	}); err != nil || files != 0 {
		t.Fatalf("%d files left after a failed record (%v)", files, err)
	}
	s.Blobs = undeletable{blobs}
	_, err = upload(t, s, pngOf(t, gradient(1600, 1200)))
	if err == nil || strings.Count(err.Error(), "remove the orphaned file") != 2 {
		t.Fatalf("upload with a failing record and undeletable files: %v", err)
	}
}
