// Package announcement is the use case of announcements: the operator
// writes the instance's (shown on every tenant), a tenant's admins write
// their tenant's (shown there alone), and people read, dismiss and react
// to those shown on their tenant. An author's scope is 0 for the operator
// or a tenant id; the store never lets a scope touch another's.
package announcement

import (
	"context"
	"html"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// Limits, as on Mastodon.
const (
	// MaxReactionNames is how many different reactions one announcement
	// takes (per tenant: each tenant sees its own).
	MaxReactionNames = 8
	// MaxText bounds an announcement's text, in characters.
	MaxText = 5000
)

// Service is the announcements use case.
type Service struct {
	Store federation.AnnouncementStore
	// Emojis are the tenants' custom emojis, which react as their
	// shortcodes; nil: unicode emojis only.
	Emojis interface {
		EmojisByShortcode(ctx context.Context, tenantIDs []int64, shortcodes []string) ([]federation.CustomEmoji, error)
	}
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// List is what me sees on their tenant now.
func (s *Service) List(ctx context.Context, me *federation.Account, withDismissed bool) ([]federation.AnnouncementView, error) {
	return s.Store.ActiveAnnouncements(ctx, me.TenantID, me.ID, s.now(), withDismissed)
}

// Dismiss marks one me sees as read.
func (s *Service) Dismiss(ctx context.Context, me *federation.Account, id int64) error {
	return s.Store.DismissAnnouncement(ctx, me.TenantID, me.ID, id, s.now())
}

// React adds (on) or removes me's reaction name: a unicode emoji or a
// custom emoji of me's tenant.
func (s *Service) React(ctx context.Context, me *federation.Account, id int64, name string, on bool) error {
	if on {
		if err := s.checkReaction(ctx, me.TenantID, name); err != nil {
			return err
		}
	}
	return s.Store.ReactToAnnouncement(ctx, me.TenantID, me.ID, id, name, on, s.now(), MaxReactionNames)
}

func (s *Service) checkReaction(ctx context.Context, tenantID int64, name string) error {
	if IsEmoji(name) {
		return nil
	}
	if s.Emojis != nil && federation.ValidShortcode(name) {
		found, err := s.Emojis.EmojisByShortcode(ctx, []int64{tenantID}, []string{name})
		if err != nil {
			return err
		}
		for _, e := range found {
			if e.TenantID == tenantID && e.Shortcode == name {
				return nil
			}
		}
	}
	return errs.E(errs.Invalid, "Validation failed: Name is not a recognized emoji")
}

// IsEmoji reports whether name is one unicode emoji: pictographs with
// their joiners, variation selectors, skin tones, keycaps and flags, at
// most 10 code points.
func IsEmoji(name string) bool {
	n := utf8.RuneCountInString(name)
	if n == 0 || n > 10 || !utf8.ValidString(name) {
		return false
	}
	pictograph := false
	for _, r := range name {
		switch {
		case r >= 0x1F000 && r <= 0x1FAFF, r >= 0x2600 && r <= 0x27BF, r >= 0x2B00 && r <= 0x2BFF,
			r >= 0x2190 && r <= 0x21FF, r >= 0x2300 && r <= 0x23FF, r == 0x00A9, r == 0x00AE, r == 0x203C,
			r == 0x2049, r == 0x2122, r == 0x2139, r >= 0x3030 && r <= 0x303D, r == 0x3297, r == 0x3299,
			r == 0x20E3: // a keycap makes "#", "*" or a digit one
			pictograph = true
		case r == 0x200D, r == 0xFE0F, r >= 0xE0020 && r <= 0xE007F,
			r >= '0' && r <= '9', r == '#', r == '*':
			// joiners, presentation selectors, keycaps, tag sequences
		default:
			return false
		}
	}
	return pictograph
}

// Draft is an announcement as an author writes it on a dashboard.
type Draft struct {
	ID        int64 // 0: a new one
	Text      string
	StartsAt  *time.Time
	EndsAt    *time.Time
	AllDay    bool
	Published bool
}

// Authored lists scope's own announcements.
func (s *Service) Authored(ctx context.Context, scope int64) ([]federation.Announcement, error) {
	return s.Store.AuthoredAnnouncements(ctx, scope)
}

// Get finds one of scope's own announcements.
func (s *Service) Get(ctx context.Context, scope, id int64) (*federation.Announcement, error) {
	return s.Store.AuthoredAnnouncement(ctx, scope, id)
}

// Save writes one of scope's own announcements: text 1 to MaxText
// characters, an end not before its start; published keeps the time it
// was first published.
func (s *Service) Save(ctx context.Context, scope int64, d Draft) (*federation.Announcement, error) {
	text := strings.TrimSpace(d.Text)
	if n := utf8.RuneCountInString(text); n == 0 || n > MaxText || !utf8.ValidString(text) {
		return nil, errs.E(errs.Invalid, "an announcement has 1 to %d characters", MaxText)
	}
	if d.StartsAt != nil && d.EndsAt != nil && d.EndsAt.Before(*d.StartsAt) {
		return nil, errs.E(errs.Invalid, "an announcement cannot end before it starts")
	}
	a := federation.Announcement{ID: d.ID, Text: text, Content: Render(text), StartsAt: d.StartsAt, EndsAt: d.EndsAt, AllDay: d.AllDay}
	var was *time.Time
	if d.ID != 0 {
		old, err := s.Store.AuthoredAnnouncement(ctx, scope, d.ID)
		if err != nil {
			return nil, err
		}
		was = old.PublishedAt
	}
	if d.Published {
		now := s.now().UTC().Truncate(time.Second)
		a.PublishedAt = &now
		if was != nil {
			a.PublishedAt = was
		}
	}
	return s.Store.SaveAnnouncement(ctx, scope, a)
}

// Delete deletes one of scope's own announcements.
func (s *Service) Delete(ctx context.Context, scope, id int64) (*federation.Announcement, error) {
	return s.Store.DeleteAnnouncement(ctx, scope, id)
}

// Render is the HTML of an announcement's text: escaped, one paragraph
// per blank-line-separated block, line breaks kept.
func Render(text string) string {
	var b strings.Builder
	for _, para := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n\n") {
		if para = strings.TrimSpace(para); para == "" {
			continue
		}
		b.WriteString("<p>" + strings.ReplaceAll(html.EscapeString(para), "\n", "<br>") + "</p>")
	}
	return b.String()
}
