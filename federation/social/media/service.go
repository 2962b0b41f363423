package media

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/roost-social/roost/internal/errs"
)

// Service takes uploads and serves their files.
type Service struct {
	Store Store
	Blobs Blobs
	// Parallel bounds how many images are decoded at once (default 2).
	Parallel int
	// Quota, when set, refuses an upload that would take the tenant past
	// its storage quota (tenant/quota; issue 20); nothing stored is touched.
	Quota interface {
		CheckUpload(ctx context.Context, tenantID, size int64) error
	}

	once sync.Once
	sem  chan struct{}
}

// Upload is one file sent by a local account.
type Upload struct {
	TenantID    int64
	AccountID   int64
	File        io.Reader
	Description string
	Focus       string // "x,y", each in [-1, 1]; "" is the centre
}

// Change edits an upload's description or focus; nil leaves one as is.
type Change struct {
	Description *string
	Focus       *string
}

// File is an opened stored file.
type File struct {
	Body        io.ReadCloser
	Size        int64
	ContentType string
}

var (
	errTooLarge    = errs.E(errs.TooLarge, "the file is larger than %d MB", MaxBytes>>20)
	errUnsupported = errs.E(errs.Invalid, "the file type is not supported: upload a JPEG, PNG, GIF or WebP image, or MP4, MOV or WebM video, or MP3, Ogg, WAV, FLAC or M4A audio")
)

// Upload checks, processes and stores a file. It is ready when it
// returns: images are processed before the answer.
func (s *Service) Upload(ctx context.Context, u Upload) (*Attachment, error) {
	if err := checkDescription(u.Description); err != nil {
		return nil, err
	}
	fx, fy, err := ParseFocus(u.Focus)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(u.File, MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read upload: %w", err)
	}
	if len(data) > MaxBytes {
		return nil, errTooLarge
	}
	if len(data) == 0 {
		return nil, errs.E(errs.Invalid, "the file is empty")
	}
	f, ok := sniff(data)
	if !ok {
		return nil, errUnsupported
	}
	if s.Quota != nil {
		// Before decoding: a refused upload costs no processing.
		if err := s.Quota.CheckUpload(ctx, u.TenantID, int64(len(data))); err != nil {
			return nil, err
		}
	}
	a := &Attachment{TenantID: u.TenantID, AccountID: u.AccountID, Kind: f.kind, ContentType: f.contentType,
		Size: int64(len(data)), FocusX: fx, FocusY: fy, Description: u.Description, State: Ready}
	thumb := []byte(nil)
	if f.image {
		p, err := s.process(ctx, data, f)
		if err != nil {
			return nil, err
		}
		data, thumb, f = p.data, p.thumb, p.out
		a.ContentType, a.Size, a.Width, a.Height, a.Blurhash = f.contentType, int64(len(data)), p.width, p.height, p.blurhash
		a.ThumbContentType, a.ThumbWidth, a.ThumbHeight = f.contentType, p.thumbW, p.thumbH
	}
	dir := newToken()
	a.FileKey = dir + "/original." + f.ext
	if thumb != nil {
		a.ThumbKey = dir + "/small." + f.ext
	}
	return s.store(ctx, a, data, thumb)
}

// process runs processImage when a decoding slot is free.
func (s *Service) process(ctx context.Context, data []byte, f format) (*processed, error) {
	if err := checkHeader(data, f); err != nil {
		return nil, err // refused before waiting, and before decoding
	}
	s.once.Do(func() {
		n := s.Parallel
		if n <= 0 {
			n = defaultParallel
		}
		s.sem = make(chan struct{}, n)
	})
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.sem }()
	return processImage(data, f)
}

// store writes the files, then the record; files of a failed record are
// removed again.
func (s *Service) store(ctx context.Context, a *Attachment, data, thumb []byte) (*Attachment, error) {
	if err := s.Blobs.Put(ctx, a.FileKey, bytes.NewReader(data), int64(len(data)), a.ContentType); err != nil {
		return nil, fmt.Errorf("store media file: %w", err)
	}
	if thumb != nil {
		if err := s.Blobs.Put(ctx, a.ThumbKey, bytes.NewReader(thumb), int64(len(thumb)), a.ThumbContentType); err != nil {
			return nil, s.discard(ctx, fmt.Errorf("store media thumbnail: %w", err), a.FileKey)
		}
	}
	out, err := s.Store.CreateMedia(ctx, a)
	if err != nil {
		keys := []string{a.FileKey}
		if thumb != nil {
			keys = append(keys, a.ThumbKey)
		}
		return nil, s.discard(ctx, fmt.Errorf("record media: %w", err), keys...)
	}
	return out, nil
}

// discard removes the files of an upload that failed, even when the
// request was cancelled. A file it cannot remove is an orphan no record
// points to, so its error joins err (the API logs it with the failure).
func (s *Service) discard(ctx context.Context, err error, keys ...string) error {
	ctx = context.WithoutCancel(ctx)
	for _, k := range keys {
		if derr := s.Blobs.Delete(ctx, k); derr != nil {
			err = errors.Join(err, fmt.Errorf("remove the orphaned file %s: %w", k, derr))
		}
	}
	return err
}

// Get returns one of the account's uploads, or errs.NotFound.
func (s *Service) Get(ctx context.Context, accountID, id int64) (*Attachment, error) {
	as, err := s.Store.MediaByIDs(ctx, accountID, []int64{id})
	if err != nil {
		return nil, err
	}
	if len(as) == 0 {
		return nil, errs.E(errs.NotFound, "Record not found")
	}
	return as[0], nil
}

// Update changes an unattached upload's description or focus.
func (s *Service) Update(ctx context.Context, accountID, id int64, c Change) (*Attachment, error) {
	a, err := s.Get(ctx, accountID, id)
	if err != nil {
		return nil, err
	}
	desc, fx, fy := a.Description, a.FocusX, a.FocusY
	if c.Description != nil {
		if err := checkDescription(*c.Description); err != nil {
			return nil, err
		}
		desc = *c.Description
	}
	if c.Focus != nil {
		if fx, fy, err = ParseFocus(*c.Focus); err != nil {
			return nil, err
		}
	}
	return s.Store.UpdateMedia(ctx, accountID, id, desc, fx, fy)
}

// ForStatus returns the uploads ids names, in their order, for a status
// of accountID: each must be the account's, ready, and either unattached
// or already on statusID (zero for a new status). Attaching them happens
// with the status, in its transaction.
func (s *Service) ForStatus(ctx context.Context, accountID int64, ids []string, statusID int64) ([]*Attachment, error) {
	if len(ids) > MaxPerStatus {
		return nil, errs.E(errs.Invalid, "a post can have at most %d media attachments", MaxPerStatus)
	}
	nums := make([]int64, 0, len(ids))
	for _, raw := range ids {
		id, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
		if err != nil || id <= 0 {
			return nil, errs.E(errs.Invalid, "media id %q is not valid", raw)
		}
		for _, seen := range nums {
			if seen == id {
				return nil, errs.E(errs.Invalid, "media %d is given twice", id)
			}
		}
		nums = append(nums, id)
	}
	found, err := s.Store.MediaByIDs(ctx, accountID, nums)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]*Attachment, len(found))
	for _, a := range found {
		byID[a.ID] = a
	}
	out := make([]*Attachment, 0, len(nums))
	for _, id := range nums {
		a, ok := byID[id]
		switch {
		case !ok:
			return nil, errs.E(errs.Invalid, "media %d was not found", id)
		case a.State != Ready:
			return nil, errs.E(errs.Invalid, "media %d is still being processed", id)
		case a.StatusID != 0 && a.StatusID != statusID:
			return nil, errs.E(errs.Invalid, "media %d is already attached to another post", id)
		}
		out = append(out, a)
	}
	return out, nil
}

// Open opens a stored file of one of the tenant's uploads, with the
// content type it was stored as.
func (s *Service) Open(ctx context.Context, tenantID int64, key string) (*File, error) {
	if !ValidKey(key) {
		return nil, errs.E(errs.NotFound, "no such file")
	}
	ct, err := s.Store.MediaFile(ctx, tenantID, key)
	if err != nil {
		return nil, err
	}
	body, size, err := s.Blobs.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	return &File{Body: body, Size: size, ContentType: ct}, nil
}

// ParseFocus reads Mastodon's focus parameter "x,y" (each in [-1, 1]);
// "" is the centre.
func ParseFocus(s string) (float64, float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, 0, nil
	}
	xs, ys, ok := strings.Cut(s, ",")
	x, errX := strconv.ParseFloat(strings.TrimSpace(xs), 64)
	y, errY := strconv.ParseFloat(strings.TrimSpace(ys), 64)
	if !ok || errX != nil || errY != nil || x < -1 || x > 1 || y < -1 || y > 1 {
		return 0, 0, errs.E(errs.Invalid, "focus must be two numbers between -1.0 and 1.0, as x,y")
	}
	return x, y, nil
}

func checkDescription(d string) error {
	if !utf8.ValidString(d) {
		return errs.E(errs.Invalid, "the description is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(d); n > MaxDescription {
		return errs.E(errs.Invalid, "the description is at most %d characters (this one is %d)", MaxDescription, n)
	}
	return nil
}

// newToken names an upload's directory: 128 random bits, unguessable.
func newToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
