package federation

import (
	"context"
	"time"
)

// AccountQuery searches accounts by username or display name prefix:
// local accounts of every tenant here and the remote ones we know.
type AccountQuery struct {
	Text      string // a prefix of the username or display name
	Domain    string // when set, a prefix of the account's domain
	ViewerID  int64  // 0: anonymous
	Following bool   // only accounts the viewer follows
	Limit     int
	Offset    int
}

// StatusQuery is a full-text search among the statuses a viewer has to do
// with: their own, and those they favourited, bookmarked or were
// mentioned in (as Mastodon limits it).
type StatusQuery struct {
	Text      string
	ViewerID  int64
	AccountID int64 // when set, only this author's
	MaxID     int64
	MinID     int64
	Limit     int
	Offset    int
}

// TagDay is one day of a hashtag's use on a tenant.
type TagDay struct {
	Day      time.Time // midnight UTC
	Uses     int64     // statuses
	Accounts int64     // distinct authors
}

// TagStats is a hashtag's last seven days on a tenant, newest first.
type TagStats struct {
	Name    string
	History []TagDay
}

// SearchStore searches what a viewer may find. Statuses and hashtags are
// scoped: a viewer's own statuses and interactions, a tenant's hashtags.
type SearchStore interface {
	SearchAccounts(ctx context.Context, q AccountQuery) ([]int64, error)
	SearchStatuses(ctx context.Context, q StatusQuery) ([]int64, error)
	// SearchTags lists hashtags the tenant has seen starting with prefix.
	SearchTags(ctx context.Context, tenantID int64, prefix string, limit, offset int) ([]string, error)
	// FamiliarFollowers lists the accounts the viewer follows that follow
	// accountID.
	FamiliarFollowers(ctx context.Context, viewerID, accountID int64, limit int) ([]int64, error)
}

// TrendStore computes a tenant's trends from its own recent public
// statuses (its own and those it received).
type TrendStore interface {
	// TrendingTags ranks the hashtags of the last week by distinct authors.
	TrendingTags(ctx context.Context, tenantID int64, limit, offset int) ([]TagStats, error)
	// TagHistory is one hashtag's last week on the tenant.
	TagHistory(ctx context.Context, tenantID int64, name string) (TagStats, error)
	// TrendingStatuses ranks the last week's public statuses by boosts
	// and favourites, those the viewer may see.
	TrendingStatuses(ctx context.Context, tenantID, viewerID int64, limit, offset int) ([]int64, error)
}
