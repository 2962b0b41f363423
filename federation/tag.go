package federation

import (
	"context"
	"time"
)

// TagState is a hashtag as one viewer knows it: its id (0 when no one
// here has used, followed or featured it yet) and whether the viewer
// follows or features it.
type TagState struct {
	ID        int64
	Name      string
	Following bool
	Featuring bool
}

// FeaturedTag is a hashtag a local account shows on its profile, with
// the account's public posts carrying it.
type FeaturedTag struct {
	ID            int64
	Name          string
	StatusesCount int64
	LastStatusAt  *time.Time
}

// MaxFeaturedTags is how many hashtags an account may feature, as on
// Mastodon.
const MaxFeaturedTags = 10

// MaxFollowedTags bounds the hashtags one account follows.
const MaxFollowedTags = 1000

// TimelineFilter narrows the public and hashtag timelines inside the
// query, before paging, so a page is never short for what it left out.
type TimelineFilter struct {
	Local     bool // the tenant's own posts
	Remote    bool // posts it received; neither set: both
	OnlyMedia bool // posts with attachments only
	// Any, All and None narrow a hashtag timeline: posts carrying its tag
	// or any of Any, and all of All, and none of None (lower case).
	Any, All, None []string
}

// TagStore keeps the hashtags accounts follow and feature. Every method
// acts on the given account only; names are lower case and valid.
type TagStore interface {
	// TagStates reads, for each name, its id and the viewer's follow and
	// feature (viewer 0: neither), in the order of names.
	TagStates(ctx context.Context, viewerID int64, names []string) ([]TagState, error)
	// FollowTag and UnfollowTag are idempotent. Unfollowing takes the
	// tag's posts out of the home feed unless they are there for another
	// reason (a followed author, a mention, another followed tag).
	FollowTag(ctx context.Context, accountID int64, name string) error
	UnfollowTag(ctx context.Context, accountID int64, name string) error
	// FollowedTags pages the account's followed tags; cursors are the
	// follow rows' ids.
	FollowedTags(ctx context.Context, accountID int64, p Page) (names []string, cursors []int64, err error)
	// FeatureTag features a name (idempotent: the existing row), at most
	// MaxFeaturedTags (errs.Invalid past it).
	FeatureTag(ctx context.Context, accountID int64, name string) (*FeaturedTag, error)
	// UnfeatureTag removes one of the account's featured tags by id
	// (errs.NotFound for another's); UnfeatureTagName by name, idempotent.
	UnfeatureTag(ctx context.Context, accountID, id int64) error
	UnfeatureTagName(ctx context.Context, accountID int64, name string) error
	// FeaturedTags lists a local account's featured tags, oldest first.
	FeaturedTags(ctx context.Context, accountID int64) ([]FeaturedTag, error)
	// TagSuggestions lists the hashtags the account used most in its
	// recent posts that it does not feature yet.
	TagSuggestions(ctx context.Context, accountID int64, limit int) ([]string, error)
	// TagHistories is the last week of each name on the tenant.
	TagHistories(ctx context.Context, tenantID int64, names []string) ([]TagStats, error)
}
