package media

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// cardPrefix is where link preview thumbnails are kept in the blob store,
// apart from uploads: they belong to no account and no tenant.
const cardPrefix = "cards/"

var _ federation.CardImages = (*Service)(nil)

// StoreCardImage re-encodes a link preview's image through the upload
// pipeline — sniffed by its bytes, header checked against the pixel
// limits before decoding, only pixels kept — and stores its thumbnail
// (ThumbSide on the long side) with a BlurHash.
func (s *Service) StoreCardImage(ctx context.Context, data []byte) (*federation.CardImage, error) {
	if len(data) > MaxBytes {
		return nil, errTooLarge
	}
	f, ok := sniff(data)
	if !ok || !f.image {
		return nil, errUnsupported
	}
	p, err := s.process(ctx, data, f)
	if err != nil {
		return nil, err
	}
	img := &federation.CardImage{Key: cardPrefix + newToken() + "/preview." + p.out.ext, ContentType: p.out.contentType,
		Width: p.thumbW, Height: p.thumbH, Blurhash: p.blurhash}
	if err := s.Blobs.Put(ctx, img.Key, bytes.NewReader(p.thumb), int64(len(p.thumb)), img.ContentType); err != nil {
		return nil, fmt.Errorf("store card image: %w", err)
	}
	return img, nil
}

// OpenCardImage opens a stored link preview thumbnail; keys outside the
// cards' part of the store are not found.
func (s *Service) OpenCardImage(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	if !strings.HasPrefix(key, cardPrefix) || !ValidKey(key) {
		return nil, 0, errs.E(errs.NotFound, "no such file")
	}
	return s.Blobs.Get(ctx, key)
}

// DeleteCardImage removes a link preview thumbnail a refetch replaced.
func (s *Service) DeleteCardImage(ctx context.Context, key string) error {
	if !strings.HasPrefix(key, cardPrefix) || !ValidKey(key) {
		return errs.E(errs.Invalid, "not a card image")
	}
	return s.Blobs.Delete(ctx, key)
}
