package filter

import (
	"context"
	"strings"

	"github.com/roost-social/roost/federation"
)

// Keyword finds one of the owner's keywords with its filter.
func (s *Service) Keyword(ctx context.Context, ownerID, keywordID int64) (*federation.Filter, federation.FilterKeyword, error) {
	f, err := s.Store.FilterOfKeyword(ctx, ownerID, keywordID)
	if err != nil {
		return nil, federation.FilterKeyword{}, err
	}
	for _, k := range f.Keywords {
		if k.ID == keywordID {
			return f, k, nil
		}
	}
	return nil, federation.FilterKeyword{}, errNotFound
}

// AddKeyword adds a keyword (whole word unless said otherwise) to one of
// the owner's filters.
func (s *Service) AddKeyword(ctx context.Context, ownerID, filterID int64, keyword string, wholeWord *bool) (federation.FilterKeyword, error) {
	f, err := s.Store.Filter(ctx, ownerID, filterID)
	if err != nil {
		return federation.FilterKeyword{}, err
	}
	k := federation.FilterKeyword{Keyword: strings.TrimSpace(keyword), WholeWord: wholeWord == nil || *wholeWord}
	if err := CheckKeyword(k.Keyword); err != nil {
		return federation.FilterKeyword{}, err
	}
	_, saved, err := s.saveKeyword(ctx, ownerID, f, k)
	return saved, err
}

// UpdateKeyword changes one of the owner's keywords; nil leaves a field.
func (s *Service) UpdateKeyword(ctx context.Context, ownerID, keywordID int64, keyword *string, wholeWord *bool) (federation.FilterKeyword, error) {
	f, k, err := s.Keyword(ctx, ownerID, keywordID)
	if err != nil {
		return federation.FilterKeyword{}, err
	}
	if keyword != nil {
		k.Keyword = strings.TrimSpace(*keyword)
		if err := CheckKeyword(k.Keyword); err != nil {
			return federation.FilterKeyword{}, err
		}
	}
	if wholeWord != nil {
		k.WholeWord = *wholeWord
	}
	_, saved, err := s.saveKeyword(ctx, ownerID, f, k)
	return saved, err
}

// saveKeyword writes one keyword of f (f's other settings as they are)
// and returns the saved filter and keyword.
func (s *Service) saveKeyword(ctx context.Context, ownerID int64, f *federation.Filter, k federation.FilterKeyword) (*federation.Filter, federation.FilterKeyword, error) {
	before := map[int64]bool{}
	for _, x := range f.Keywords {
		before[x.ID] = true
	}
	f.Keywords = []federation.FilterKeyword{k}
	saved, err := s.Store.SaveFilter(ctx, ownerID, f, nil)
	if err != nil {
		return nil, federation.FilterKeyword{}, err
	}
	for _, x := range saved.Keywords {
		if (k.ID != 0 && x.ID == k.ID) || (k.ID == 0 && !before[x.ID]) {
			return saved, x, nil
		}
	}
	return nil, federation.FilterKeyword{}, errNotFound
}

// DeleteKeyword removes one of the owner's keywords.
func (s *Service) DeleteKeyword(ctx context.Context, ownerID, keywordID int64) error {
	return s.Store.DeleteFilterKeyword(ctx, ownerID, keywordID)
}

// AddStatus filters a status the owner may see; any other, existing or
// not, is NotFound alike.
func (s *Service) AddStatus(ctx context.Context, ownerID, filterID, statusID int64) (*federation.FilterStatus, error) {
	if _, err := s.Store.Filter(ctx, ownerID, filterID); err != nil {
		return nil, err
	}
	if statusID <= 0 {
		return nil, errNotFound
	}
	views, err := s.Statuses.StatusViews(ctx, ownerID, []int64{statusID})
	if err != nil {
		return nil, err
	}
	if len(views) == 0 {
		return nil, errNotFound
	}
	return s.Store.AddFilterStatus(ctx, ownerID, filterID, views[0].ID)
}

// Status finds one of the owner's filtered statuses by its row id.
func (s *Service) Status(ctx context.Context, ownerID, id int64) (federation.FilterStatus, error) {
	f, err := s.Store.FilterOfStatus(ctx, ownerID, id)
	if err != nil {
		return federation.FilterStatus{}, err
	}
	for _, x := range f.Statuses {
		if x.ID == id {
			return x, nil
		}
	}
	return federation.FilterStatus{}, errNotFound
}

// DeleteStatus stops filtering one of the owner's filtered statuses.
func (s *Service) DeleteStatus(ctx context.Context, ownerID, id int64) error {
	return s.Store.DeleteFilterStatus(ctx, ownerID, id)
}
