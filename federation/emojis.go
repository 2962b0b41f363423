package federation

import (
	"context"
	"regexp"
	"time"
)

// CustomEmoji is a tenant's custom emoji, shown for :shortcode: in its
// accounts' posts and served from its own hosts.
type CustomEmoji struct {
	ID              int64
	TenantID        int64
	Shortcode       string
	ContentType     string // image/png, image/gif or image/webp
	Image           []byte // empty in lists
	VisibleInPicker bool
	Category        string
	CreatedAt       time.Time
}

// MaxEmojiBytes bounds a custom emoji's image, as on Mastodon.
const MaxEmojiBytes = 256 << 10

var shortcodeRE = regexp.MustCompile(`^[A-Za-z0-9_]{2,64}$`)

// ValidShortcode reports whether s may name a custom emoji.
func ValidShortcode(s string) bool { return shortcodeRE.MatchString(s) }

// shortcodeUseRE finds :shortcode: in text.
var shortcodeUseRE = regexp.MustCompile(`:([A-Za-z0-9_]{2,64}):`)

// Shortcodes lists the distinct :shortcode: names used in text, at most max.
func Shortcodes(text string, max int) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range shortcodeUseRE.FindAllStringSubmatch(text, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			out = append(out, m[1])
			if len(out) == max {
				break
			}
		}
	}
	return out
}

// EmojiStore keeps custom emojis, each tenant's apart.
type EmojiStore interface {
	// CustomEmojis lists a tenant's emojis, without images.
	CustomEmojis(ctx context.Context, tenantID int64) ([]CustomEmoji, error)
	// EmojisByShortcode finds, without images, the emojis of the given
	// tenants with the given shortcodes (callers pair them up).
	EmojisByShortcode(ctx context.Context, tenantIDs []int64, shortcodes []string) ([]CustomEmoji, error)
	// EmojiImage loads one of a tenant's emojis with its image, or
	// errs.NotFound.
	EmojiImage(ctx context.Context, tenantID int64, shortcode string) (*CustomEmoji, error)
	// AddCustomEmoji adds (or replaces) a tenant's emoji.
	AddCustomEmoji(ctx context.Context, e CustomEmoji) (*CustomEmoji, error)
}
