// Package translate is the use case of machine translation: a viewer asks
// for a post they may see in another language, through a provider the
// operator configured (ROOST_TRANSLATE_URL: a LibreTranslate-compatible
// API, see ./libre). Off unless configured. Calls are bounded in size,
// in time (the provider's client) and in number at once (Slots).
package translate

import (
	"context"
	"sync"
	"time"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// Provider translates texts (a LibreTranslate-compatible service).
type Provider interface {
	// Name is the provider as the Translation entity names it.
	Name() string
	// Languages maps each source language to the languages it translates to.
	Languages(ctx context.Context) (map[string][]string, error)
	// Translate translates HTML texts from source ("auto": detect) to
	// target, in order, and says which language it detected.
	Translate(ctx context.Context, texts []string, source, target string) ([]string, string, error)
}

// Limits of one translation.
const (
	// MaxChars bounds the text sent for one post (its content, warning,
	// poll options and media descriptions together).
	MaxChars = 20000
	// LanguagesTTL is how long the provider's languages are kept.
	LanguagesTTL = time.Hour
	// DefaultSlots is how many translations one node runs at once.
	DefaultSlots = 4
)

// Service is the translation use case. The zero Provider is "off".
type Service struct {
	Provider Provider
	// Views tells which posts a viewer may see.
	Views interface {
		StatusViews(ctx context.Context, viewerID int64, ids []int64) ([]*federation.StatusView, error)
	}
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// Slots bounds translations at once (0: DefaultSlots); past it a
	// request is answered 503 rather than queued.
	Slots int

	once    sync.Once
	running chan struct{}
	mu      sync.Mutex
	langs   map[string][]string
	fetched time.Time
}

// Translation is a post in another language.
type Translation struct {
	Content, SpoilerText string
	PollOptions          []string // in the post's order
	MediaDescriptions    []string // by attachment index; "" where none
	Detected, Language   string
	Provider             string
	// Of is the post translated (its attachments and poll name the
	// translated parts).
	Of *federation.Status
}

var errOff = errs.E(errs.Unavailable, "Translation is not enabled on this server")

// Enabled reports whether translation is configured.
func (s *Service) Enabled() bool { return s != nil && s.Provider != nil }

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Languages is what translates to what ({} when off), kept LanguagesTTL.
// One call at a time asks the provider; a failure is kept a minute as
// "none", so a provider that is down is not asked on every request.
func (s *Service) Languages(ctx context.Context) (map[string][]string, error) {
	if !s.Enabled() {
		return map[string][]string{}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.langs != nil && s.now().Sub(s.fetched) < LanguagesTTL {
		return s.langs, nil
	}
	langs, err := s.Provider.Languages(ctx)
	s.langs, s.fetched = langs, s.now()
	if err != nil {
		s.langs, s.fetched = map[string][]string{}, s.now().Add(retryLanguages-LanguagesTTL)
		return s.langs, err
	}
	return langs, nil
}

// retryLanguages is how soon languages are asked again after a failure.
const retryLanguages = time.Minute

// acquire takes a slot, or fails at once when all are busy.
func (s *Service) acquire() (func(), error) {
	s.once.Do(func() {
		n := s.Slots
		if n <= 0 {
			n = DefaultSlots
		}
		s.running = make(chan struct{}, n)
	})
	select {
	case s.running <- struct{}{}:
		return func() { <-s.running }, nil
	default:
		return nil, errs.E(errs.Unavailable, "The translation service is busy; try again shortly")
	}
}
