package mastodon

import (
	"crypto/rand"
	"encoding/hex"
	"mime/multipart"
	"os"
	"path/filepath"

	"github.com/roost-social/roost/federation/portability/archive"
	"github.com/roost-social/roost/internal/errs"
)

// storeLoneCSV stores a lone CSV list upload (Mastodon's import types:
// type following, blocking, muting, domain_blocking, bookmarks, lists;
// mode merge, the default, or overwrite) as an archive holding only that
// list, and validates it as the import job will: a malformed file is
// refused here, with the line at fault, and nothing is queued.
func (h *Handler) storeLoneCSV(fh *multipart.FileHeader, typ, mode string) (string, error) {
	kind, err := archive.LoneKind(typ)
	if err != nil {
		return "", err
	}
	if mode != "" && mode != "merge" && mode != "overwrite" {
		return "", errs.E(errs.Invalid, "mode is merge or overwrite")
	}
	src, err := fh.Open()
	if err != nil {
		return "", err
	}
	defer src.Close()
	if err := os.MkdirAll(h.Archives.Dir, 0o700); err != nil {
		return "", err
	}
	var tok [12]byte
	_, _ = rand.Read(tok[:])
	path := filepath.Join(h.Archives.Dir, "import-"+hex.EncodeToString(tok[:])+".zip")
	dst, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return "", err
	}
	err = archive.WrapCSV(dst, kind, src, fh.Size, mode == "overwrite")
	if err == nil {
		var fi os.FileInfo
		if fi, err = dst.Stat(); err == nil {
			_, err = archive.Open(dst, fi.Size(), archive.Limits{})
		}
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return "", err
	}
	return path, nil
}
