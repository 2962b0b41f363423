package federation

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// Filter contexts: where a filter applies.
const (
	FilterHome          = "home" // the home timeline and lists
	FilterNotifications = "notifications"
	FilterPublic        = "public" // public and hashtag timelines
	FilterThread        = "thread" // a status's context
	FilterAccount       = "account"
)

// FilterContexts are the contexts a filter may name.
var FilterContexts = []string{FilterHome, FilterNotifications, FilterPublic, FilterThread, FilterAccount}

// Filter actions: warn puts a matching status behind a warning (the
// client shows it on demand), hide leaves it out.
const (
	FilterWarn = "warn"
	FilterHide = "hide"
)

// Filter is a person's filter: keywords and single statuses it matches,
// where, with which action, until when.
type Filter struct {
	ID        int64
	AccountID int64
	Title     string
	Context   []string
	Action    string
	ExpiresAt *time.Time
	Keywords  []FilterKeyword
	Statuses  []FilterStatus
}

// FilterKeyword is a keyword of a filter; WholeWord matches it only
// between word boundaries.
type FilterKeyword struct {
	ID        int64
	FilterID  int64
	Keyword   string
	WholeWord bool
}

// FilterStatus is a single status a filter matches.
type FilterStatus struct {
	ID       int64
	FilterID int64
	StatusID int64
}

// Limits of filters, per account and per filter.
const (
	MaxFilters         = 100
	MaxFilterKeywords  = 100
	MaxFilterStatuses  = 200
	MaxFilterKeyword   = 512
	MaxFilterTitleChar = 256
)

// Active reports whether f has not expired at now.
func (f *Filter) Active(now time.Time) bool { return f.ExpiresAt == nil || f.ExpiresAt.After(now) }

// Applies reports whether f applies in context.
func (f *Filter) Applies(context string) bool { return slices.Contains(f.Context, context) }

// FilterStore keeps filters. Every method acts on the given owner's
// filters only: another account's filter, keyword or filtered status is
// errs.NotFound, whatever its id.
type FilterStore interface {
	// Filters lists the owner's filters (expired ones too) with their
	// keywords and statuses.
	Filters(ctx context.Context, ownerID int64) ([]*Filter, error)
	Filter(ctx context.Context, ownerID, id int64) (*Filter, error)
	// SaveFilter creates (ID zero) or updates a filter with its keywords:
	// a keyword without an id is added, one with an id (of this filter)
	// updated, and the keywords whose ids are in drop deleted; keywords
	// not mentioned stay. Statuses are not changed here.
	SaveFilter(ctx context.Context, ownerID int64, f *Filter, drop []int64) (*Filter, error)
	DeleteFilter(ctx context.Context, ownerID, id int64) error
	// FilterOfKeyword and FilterOfStatus find the filter holding a keyword
	// or a filtered status (by the row's own id).
	FilterOfKeyword(ctx context.Context, ownerID, keywordID int64) (*Filter, error)
	FilterOfStatus(ctx context.Context, ownerID, filterStatusID int64) (*Filter, error)
	DeleteFilterKeyword(ctx context.Context, ownerID, keywordID int64) error
	AddFilterStatus(ctx context.Context, ownerID, filterID, statusID int64) (*FilterStatus, error)
	DeleteFilterStatus(ctx context.Context, ownerID, filterStatusID int64) error
}

// FilterMatch is what one filter matched in a status.
type FilterMatch struct {
	Filter    *Filter
	Keywords  []string // the keywords found, as written in the filter
	StatusIDs []int64  // the status itself, when the filter names it
}

// MatchFilters returns the filters, active at now and applying in
// context, that match a status: by its id, or by a keyword in its text
// (see FilterText).
func MatchFilters(filters []*Filter, context string, now time.Time, statusID int64, text string) []FilterMatch {
	var out []FilterMatch
	lower := ""
	for _, f := range filters {
		if !f.Active(now) || !f.Applies(context) {
			continue
		}
		m := FilterMatch{Filter: f}
		for _, s := range f.Statuses {
			if s.StatusID == statusID {
				m.StatusIDs = append(m.StatusIDs, statusID)
				break
			}
		}
		for _, k := range f.Keywords {
			if lower == "" {
				lower = strings.ToLower(text)
			}
			if keywordIn(lower, strings.ToLower(k.Keyword), k.WholeWord) {
				m.Keywords = append(m.Keywords, k.Keyword)
			}
		}
		if len(m.Keywords) > 0 || len(m.StatusIDs) > 0 {
			out = append(out, m)
		}
	}
	return out
}

// keywordIn reports whether kw occurs in text (both lower case); whole
// word, as Mastodon matches it: a boundary is needed only on a side where
// the keyword itself starts or ends with a word character.
func keywordIn(text, kw string, wholeWord bool) bool {
	if kw == "" {
		return false
	}
	if !wholeWord {
		return strings.Contains(text, kw)
	}
	first, _ := utf8.DecodeRuneInString(kw)
	last, _ := utf8.DecodeLastRuneInString(kw)
	needStart, needEnd := isWordRune(first), isWordRune(last)
	for from := 0; from <= len(text); {
		i := strings.Index(text[from:], kw)
		if i < 0 {
			return false
		}
		i += from
		end := i + len(kw)
		before, _ := utf8.DecodeLastRuneInString(text[:i])
		after, _ := utf8.DecodeRuneInString(text[end:])
		okStart := !needStart || i == 0 || !isWordRune(before)
		okEnd := !needEnd || end == len(text) || !isWordRune(after)
		if okStart && okEnd {
			return true
		}
		_, size := utf8.DecodeRuneInString(text[i:])
		from = i + size
	}
	return false
}

// isWordRune is Ruby's [[:word:]]: letters, marks, decimal digits and
// connector punctuation.
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.Is(unicode.Nd, r) || unicode.Is(unicode.Pc, r)
}

// FilterText is the text filters search in a status: its content warning,
// its content as plain text, its media descriptions and poll options.
func FilterText(s *Status) string {
	var b strings.Builder
	b.WriteString(s.Summary)
	b.WriteString("\n")
	b.WriteString(PlainText(s.Content))
	for _, a := range s.Attachments {
		b.WriteString("\n")
		b.WriteString(a.Description)
	}
	if s.Poll != nil {
		for _, o := range s.Poll.Options {
			b.WriteString("\n")
			b.WriteString(o.Title)
		}
	}
	return b.String()
}

// PlainText turns sanitised status HTML into text: tags dropped,
// entities decoded, paragraphs and line breaks as new lines.
func PlainText(h string) string {
	if !strings.ContainsAny(h, "<&") {
		return h
	}
	var b strings.Builder
	z := html.NewTokenizer(strings.NewReader(h))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return strings.TrimSpace(b.String())
		case html.TextToken:
			b.Write(z.Text())
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			if s := string(name); s == "br" || (s == "p" && b.Len() > 0) {
				b.WriteString("\n")
			}
		}
	}
}
