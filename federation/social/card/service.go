package card

import (
	"context"
	"io"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// Service reads cards for the client API.
type Service struct {
	Views  federation.CardViews
	Images federation.CardImages
	// Now is the clock trends count back from (time.Now when nil).
	Now func() time.Time
}

// OfStatuses returns the cards of statuses by status id, in one read.
func (s *Service) OfStatuses(ctx context.Context, ids []int64) (map[int64]*federation.Card, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return s.Views.CardsOfStatuses(ctx, ids)
}

// Trending ranks the links the tenant's public posts of the last week
// shared, by distinct accounts sharing them.
func (s *Service) Trending(ctx context.Context, tenantID int64, limit, offset int) ([]federation.LinkTrend, error) {
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	return s.Views.TrendingLinks(ctx, tenantID, now, limit, offset)
}

// Timeline pages the tenant's public posts linking rawURL that viewer
// may see. A URL no card could be made for is errs.Invalid.
func (s *Service) Timeline(ctx context.Context, tenantID, viewerID int64, rawURL string, p federation.Page) ([]int64, error) {
	u, ok := Normalize(rawURL)
	if !ok {
		return nil, errs.E(errs.Invalid, "url must be an http or https URL")
	}
	return s.Views.LinkTimeline(ctx, tenantID, viewerID, u, p)
}

// Image opens a card's stored thumbnail with its content type.
func (s *Service) Image(ctx context.Context, key string) (io.ReadCloser, int64, string, error) {
	ct, err := s.Views.CardImage(ctx, key)
	if err != nil {
		return nil, 0, "", err
	}
	body, size, err := s.Images.OpenCardImage(ctx, key)
	if err != nil {
		return nil, 0, "", err
	}
	return body, size, ct, nil
}
