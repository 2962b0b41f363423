package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/roost-social/roost/internal/errs"
)

// LocalStore keeps files in a directory (ROOST_MEDIA_DIR), one file per
// key. It suits one web node, or several sharing a network file system.
type LocalStore struct {
	dir string
}

var _ Blobs = (*LocalStore)(nil)

// NewLocalStore stores files under dir, created on the first upload.
func NewLocalStore(dir string) *LocalStore { return &LocalStore{dir: dir} }

// ValidKey reports whether key is a well-formed storage key: relative
// segments of [a-z0-9._-], none of them "." or "..", so no key can name a
// file outside the store.
func ValidKey(key string) bool {
	if key == "" || len(key) > maxKeyLength {
		return false
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
		for _, r := range seg {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

func (s *LocalStore) path(key string) (string, error) {
	if !ValidKey(key) {
		return "", errs.E(errs.NotFound, "no such file")
	}
	return filepath.Join(s.dir, filepath.FromSlash(key)), nil
}

// Put writes the file through a temporary one renamed into place, so a
// reader never sees half a file.
func (s *LocalStore) Put(_ context.Context, key string, r io.Reader, size int64, _ string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("media directory: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".upload-*")
	if err != nil {
		return fmt.Errorf("media file: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	n, err := io.Copy(tmp, r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != size {
		err = fmt.Errorf("wrote %d bytes of %d", n, size)
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		return fmt.Errorf("store media %s: %w", key, err)
	}
	return nil
}

// Get opens the file under key.
func (s *LocalStore) Get(_ context.Context, key string) (io.ReadCloser, int64, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, 0, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, errs.E(errs.NotFound, "no such file")
	}
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, 0, errs.E(errs.NotFound, "no such file")
	}
	return f, st.Size(), nil
}

// Delete removes the file under key.
func (s *LocalStore) Delete(_ context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
