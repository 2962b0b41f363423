package translate

import (
	"context"
	"html"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/roost-social/roost/federation"
	ap "github.com/roost-social/roost/federation/activitypub"
	"github.com/roost-social/roost/internal/errs"
)

var langRE = regexp.MustCompile(`^[a-z]{2,3}$`)

// Lang reads a language tag ("pt-BR", "en_US", "de") as the provider's
// code, its primary subtag; "" and anything else are not valid.
func Lang(tag string) (string, bool) {
	tag = strings.ToLower(strings.TrimSpace(tag))
	if i := strings.IndexAny(tag, "-_"); i > 0 {
		tag = tag[:i]
	}
	return tag, langRE.MatchString(tag)
}

var errNotAllowed = errs.E(errs.Forbidden, "This action is not allowed")

// Status translates a post viewerID may see (any other: not found) into
// target. As on Mastodon, only public and unlisted posts are translated,
// and not into their own language (403 both).
func (s *Service) Status(ctx context.Context, viewerID, statusID int64, target string) (*Translation, error) {
	if s == nil || s.Views == nil {
		return nil, errOff
	}
	// A post the viewer may not see is missing whatever else is wrong
	// (translation off, a bad language): its existence is not told.
	views, err := s.Views.StatusViews(ctx, viewerID, []int64{statusID})
	if err != nil {
		return nil, err
	}
	if len(views) == 0 || views[0].ReblogOfID != 0 {
		return nil, errs.E(errs.NotFound, "Record not found")
	}
	if !s.Enabled() {
		return nil, errOff
	}
	target, ok := Lang(target)
	if !ok {
		return nil, errs.E(errs.Invalid, "lang must be a language code such as en or pt-BR")
	}
	st := views[0].Status
	source, known := Lang(st.Language)
	switch {
	case st.Visibility != federation.Public && st.Visibility != federation.Unlisted:
		return nil, errNotAllowed
	case known && source == target:
		return nil, errNotAllowed
	case !known:
		source = "auto"
	}
	texts, slots := sourceTexts(st)
	if n := runes(texts); n > MaxChars {
		return nil, errs.E(errs.Invalid, "this post is too long to translate (%d characters, at most %d)", n, MaxChars)
	}
	release, err := s.acquire()
	if err != nil {
		return nil, err
	}
	defer release()
	out, detected, err := s.Provider.Translate(ctx, texts, source, target)
	if err != nil {
		return nil, err
	}
	if len(out) != len(texts) {
		return nil, errs.E(errs.Unavailable, "the translation service answered %d texts for %d", len(out), len(texts))
	}
	t := slots.fill(out)
	t.Language, t.Provider, t.Detected, t.Of = target, s.Provider.Name(), detected, st
	if t.Detected == "" && known {
		t.Detected = source
	}
	return t, nil
}

// slots says which translated text goes where: text 0 is the content,
// then the warning if any, the poll's options, the media descriptions
// (index into Attachments, -1 where there was none to send).
type slots struct {
	spoiler bool
	options int
	media   []int
}

// sourceTexts lists what to translate, all as HTML: the content as it
// is, the plain texts escaped (and unescaped again in fill).
func sourceTexts(st *federation.Status) ([]string, slots) {
	texts := []string{st.Content}
	var sl slots
	if st.Summary != "" {
		texts, sl.spoiler = append(texts, html.EscapeString(st.Summary)), true
	}
	if st.Poll != nil {
		for _, o := range st.Poll.Options {
			texts = append(texts, html.EscapeString(o.Title))
		}
		sl.options = len(st.Poll.Options)
	}
	for _, a := range st.Attachments {
		if a.Description == "" {
			sl.media = append(sl.media, -1)
			continue
		}
		sl.media = append(sl.media, len(texts))
		texts = append(texts, html.EscapeString(a.Description))
	}
	return texts, sl
}

// fill places the translated texts: the content sanitised as any
// remote HTML is (the provider's answer is not trusted to be safe).
func (sl slots) fill(out []string) *Translation {
	plain := func(s string) string { return html.UnescapeString(s) }
	t := &Translation{Content: ap.SanitizeHTML(out[0])}
	next := 1
	if sl.spoiler {
		t.SpoilerText, next = plain(out[next]), next+1
	}
	for range sl.options {
		t.PollOptions, next = append(t.PollOptions, plain(out[next])), next+1
	}
	for _, at := range sl.media {
		d := ""
		if at >= 0 {
			d = plain(out[at])
		}
		t.MediaDescriptions = append(t.MediaDescriptions, d)
	}
	return t
}

func runes(texts []string) int {
	n := 0
	for _, t := range texts {
		n += utf8.RuneCountInString(t)
	}
	return n
}
