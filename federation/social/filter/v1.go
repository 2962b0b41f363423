package filter

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/roost-social/roost/federation"
)

// V1Changes are the settings of the v1 API, where each keyword is a filter
// of its own; nil leaves a field as it is (on create, phrase and context
// are required).
type V1Changes struct {
	Phrase       *string
	WholeWord    *bool
	Context      *[]string
	Irreversible *bool
	ExpiresIn    *string
}

// CreateV1 makes a filter of one keyword, titled after it.
func (s *Service) CreateV1(ctx context.Context, ownerID int64, ch V1Changes) (*federation.Filter, federation.FilterKeyword, error) {
	return s.saveV1(ctx, ownerID, &federation.Filter{}, federation.FilterKeyword{}, true, ch)
}

// UpdateV1 changes one of the owner's keywords and its filter.
func (s *Service) UpdateV1(ctx context.Context, ownerID, keywordID int64, ch V1Changes) (*federation.Filter, federation.FilterKeyword, error) {
	f, k, err := s.Keyword(ctx, ownerID, keywordID)
	if err != nil {
		return nil, federation.FilterKeyword{}, err
	}
	return s.saveV1(ctx, ownerID, f, k, false, ch)
}

func (s *Service) saveV1(ctx context.Context, ownerID int64, f *federation.Filter, k federation.FilterKeyword, create bool, ch V1Changes) (*federation.Filter, federation.FilterKeyword, error) {
	if create && ch.Phrase == nil {
		ch.Phrase = new(string)
	}
	if ch.Phrase != nil {
		k.Keyword = strings.TrimSpace(*ch.Phrase)
		if err := CheckKeyword(k.Keyword); err != nil {
			return nil, k, err
		}
		if create {
			f.Title = k.Keyword
			if utf8.RuneCountInString(f.Title) > federation.MaxFilterTitleChar {
				f.Title = string([]rune(f.Title)[:federation.MaxFilterTitleChar])
			}
		}
	}
	if create {
		k.WholeWord = true
	}
	if ch.WholeWord != nil {
		k.WholeWord = *ch.WholeWord
	}
	if err := applyContext(f, ch.Context, create); err != nil {
		return nil, k, err
	}
	if ch.Irreversible != nil || create {
		f.Action = federation.FilterWarn
		if ch.Irreversible != nil && *ch.Irreversible {
			f.Action = federation.FilterHide
		}
	}
	if err := s.applyExpiry(f, ch.ExpiresIn); err != nil {
		return nil, k, err
	}
	return s.saveKeyword(ctx, ownerID, f, k)
}

// DeleteV1 removes one of the owner's keywords; a filter left without
// keywords or statuses goes with its last one.
func (s *Service) DeleteV1(ctx context.Context, ownerID, keywordID int64) error {
	f, k, err := s.Keyword(ctx, ownerID, keywordID)
	if err != nil {
		return err
	}
	if len(f.Keywords) == 1 && len(f.Statuses) == 0 {
		return s.Store.DeleteFilter(ctx, ownerID, f.ID)
	}
	return s.Store.DeleteFilterKeyword(ctx, ownerID, k.ID)
}
