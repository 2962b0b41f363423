// Package filter is the use case of a person's filters: what a filter,
// a keyword and a filtered status may be, the v1 view of one keyword as a
// filter, and (viewing.go) what a viewer's filters, blocked domains and
// exclusive lists hide where statuses are shown. The store keeps the
// counting limits that need a transaction (federation.FilterStore).
package filter

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// MaxLifetime is the longest expires_in a filter takes.
const MaxLifetime = 10 * 365 * 24 * time.Hour

var errNotFound = errs.E(errs.NotFound, "Record not found")

// Statuses tells which statuses a viewer may see (federation.ViewStore).
type Statuses interface {
	StatusViews(ctx context.Context, viewerID int64, ids []int64) ([]*federation.StatusView, error)
}

// Hidden reads what a viewer hides from timelines
// (federation.DomainBlockStore).
type Hidden interface {
	Hidden(ctx context.Context, accountID int64) (domains []string, exclusive []int64, err error)
}

// Service is the filters use case.
type Service struct {
	Store    federation.FilterStore
	Statuses Statuses
	Hidden   Hidden
	// Now is the clock of expiries; nil is time.Now.
	Now func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Settings are a filter's settings a create or update asks for; nil
// leaves a field as it is (on create, title and context are required).
type Settings struct {
	Title   *string
	Context *[]string
	Action  *string
	// ExpiresIn is a lifetime in seconds as sent; "" is never.
	ExpiresIn *string
}

// KeywordChange is one entry of keywords_attributes: ID zero adds a
// keyword, otherwise the filter's keyword is changed or (Destroy) removed.
type KeywordChange struct {
	ID        int64
	Keyword   string // "" leaves an existing keyword's text
	WholeWord *bool
	Destroy   bool
}

// Filters lists the owner's filters with their keywords and statuses.
func (s *Service) Filters(ctx context.Context, ownerID int64) ([]*federation.Filter, error) {
	return s.Store.Filters(ctx, ownerID)
}

// Filter returns one of the owner's filters.
func (s *Service) Filter(ctx context.Context, ownerID, id int64) (*federation.Filter, error) {
	return s.Store.Filter(ctx, ownerID, id)
}

// Create makes a filter with its keywords.
func (s *Service) Create(ctx context.Context, ownerID int64, st Settings, kws []KeywordChange) (*federation.Filter, error) {
	return s.save(ctx, ownerID, &federation.Filter{}, true, st, kws)
}

// Update changes one of the owner's filters and its keywords.
func (s *Service) Update(ctx context.Context, ownerID, id int64, st Settings, kws []KeywordChange) (*federation.Filter, error) {
	f, err := s.Store.Filter(ctx, ownerID, id)
	if err != nil {
		return nil, err
	}
	return s.save(ctx, ownerID, f, false, st, kws)
}

func (s *Service) save(ctx context.Context, ownerID int64, f *federation.Filter, create bool, st Settings, kws []KeywordChange) (*federation.Filter, error) {
	if err := s.applySettings(f, st, create); err != nil {
		return nil, err
	}
	// Only the keywords being changed or added are written.
	before := map[int64]federation.FilterKeyword{}
	for _, k := range f.Keywords {
		before[k.ID] = k
	}
	drop, err := applyKeywords(f, kws)
	if err != nil {
		return nil, err
	}
	var write []federation.FilterKeyword
	for _, k := range f.Keywords {
		if old, ok := before[k.ID]; !ok || old != k {
			write = append(write, k)
		}
	}
	f.Keywords = write
	return s.Store.SaveFilter(ctx, ownerID, f, drop)
}

// applySettings checks and applies st to f.
func (s *Service) applySettings(f *federation.Filter, st Settings, create bool) error {
	if create && st.Title == nil {
		st.Title = new(string)
	}
	if st.Title != nil {
		f.Title = strings.TrimSpace(*st.Title)
		if f.Title == "" {
			return errs.E(errs.Invalid, "Validation failed: Title can't be blank")
		}
		if utf8.RuneCountInString(f.Title) > federation.MaxFilterTitleChar {
			return errs.E(errs.Invalid, "Validation failed: Title is too long (maximum is %d characters)", federation.MaxFilterTitleChar)
		}
	}
	if err := applyContext(f, st.Context, create); err != nil {
		return err
	}
	if st.Action != nil {
		switch a := *st.Action; a {
		case federation.FilterWarn, federation.FilterHide:
			f.Action = a
		default:
			return errs.E(errs.Invalid, "Validation failed: filter_action must be warn or hide")
		}
	}
	if f.Action == "" {
		f.Action = federation.FilterWarn
	}
	return s.applyExpiry(f, st.ExpiresIn)
}

// applyContext sets f's contexts: required on create.
func applyContext(f *federation.Filter, list *[]string, create bool) error {
	if list == nil && !create {
		return nil
	}
	var in []string
	if list != nil {
		in = *list
	}
	ctxs, err := contexts(in)
	if err != nil {
		return err
	}
	f.Context = ctxs
	return nil
}

// contexts checks filter contexts, dropping repeats.
func contexts(list []string) ([]string, error) {
	var out []string
	for _, c := range list {
		if !slices.Contains(federation.FilterContexts, c) {
			return nil, errs.E(errs.Invalid, "Validation failed: context %q is not one of %s", c, strings.Join(federation.FilterContexts, ", "))
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, errs.E(errs.Invalid, "Validation failed: Context can't be blank")
	}
	return out, nil
}

// applyExpiry reads a lifetime in seconds ("" is never) into f.
func (s *Service) applyExpiry(f *federation.Filter, in *string) error {
	if in == nil {
		return nil
	}
	raw := strings.TrimSpace(*in)
	if raw == "" {
		f.ExpiresAt = nil
		return nil
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n <= 0 || n > int64(MaxLifetime/time.Second) {
		return errs.E(errs.Invalid, "Validation failed: expires_in must be a number of seconds")
	}
	t := s.now().Add(time.Duration(n) * time.Second).UTC().Truncate(time.Second)
	f.ExpiresAt = &t
	return nil
}

// applyKeywords turns keyword changes into the filter's new keywords and
// the ids to drop; a change naming another filter's keyword is NotFound.
func applyKeywords(f *federation.Filter, changes []KeywordChange) (drop []int64, err error) {
	existing := map[int64]int{}
	for i, k := range f.Keywords {
		existing[k.ID] = i
	}
	var added []federation.FilterKeyword
	for _, ch := range changes {
		if ch.ID == 0 {
			if !ch.Destroy {
				added = append(added, federation.FilterKeyword{Keyword: ch.Keyword, WholeWord: ch.WholeWord == nil || *ch.WholeWord})
			}
			continue
		}
		i, ok := existing[ch.ID]
		if !ok {
			return nil, errNotFound
		}
		if ch.Destroy {
			drop = append(drop, ch.ID)
			continue
		}
		if ch.Keyword != "" {
			f.Keywords[i].Keyword = ch.Keyword
		}
		if ch.WholeWord != nil {
			f.Keywords[i].WholeWord = *ch.WholeWord
		}
	}
	f.Keywords = append(f.Keywords, added...)
	kept := f.Keywords[:0]
	for _, k := range f.Keywords {
		if k.ID != 0 && slices.Contains(drop, k.ID) {
			continue
		}
		if err := CheckKeyword(k.Keyword); err != nil {
			return nil, err
		}
		kept = append(kept, k)
	}
	f.Keywords = kept
	return drop, nil
}

// CheckKeyword reports whether k may be a filter keyword.
func CheckKeyword(k string) error {
	if k == "" {
		return errs.E(errs.Invalid, "Validation failed: Keyword can't be blank")
	}
	if utf8.RuneCountInString(k) > federation.MaxFilterKeyword {
		return errs.E(errs.Invalid, "Validation failed: Keyword is too long (maximum is %d characters)", federation.MaxFilterKeyword)
	}
	return nil
}

// Delete removes one of the owner's filters.
func (s *Service) Delete(ctx context.Context, ownerID, id int64) error {
	return s.Store.DeleteFilter(ctx, ownerID, id)
}
