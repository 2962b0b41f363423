package federation

import (
	"context"
	"time"
)

// AccountView is an account as the client API shows it: with its
// counters.
type AccountView struct {
	*Account
	StatusesCount  int64
	FollowersCount int64
	FollowingCount int64
	LastStatusAt   *time.Time
}

// StatusView is a status as one viewer sees it: with its counters, its
// resolved parent, the accounts it mentions and what the viewer did with
// it.
type StatusView struct {
	*Status
	ReblogOfID         int64
	InReplyToID        int64
	InReplyToAccountID int64
	Text               string // a local post's source, as typed
	MentionIDs         []int64
	AppName            string
	AppWebsite         string
	RepliesCount       int64
	ReblogsCount       int64
	FavouritesCount    int64
	Favourited         bool
	Reblogged          bool
	Bookmarked         bool
	Pinned             bool
	Muted              bool
}

// Page selects a slice of an id-ordered list, newest first, as Mastodon
// pages: below MaxID, above SinceID, or the oldest Limit above MinID.
type Page struct {
	MaxID, SinceID, MinID int64
	Limit                 int
}

// Relationship is what a viewer and another account are to each other.
type Relationship struct {
	ID                  int64
	Following           bool
	ShowingReblogs      bool
	Notifying           bool
	FollowedBy          bool
	Blocking            bool
	BlockedBy           bool
	Muting              bool
	MutingNotifications bool
	Requested           bool
	RequestedBy         bool
	DomainBlocking      bool
	Endorsed            bool
	Note                string
}

// Notification is something that happened to a local account.
type Notification struct {
	ID            int64
	Type          string
	CreatedAt     time.Time
	FromAccountID int64
	StatusID      int64  // zero when none
	GroupKey      string // its group (federation.NotificationGroup); "" when alone or unknown
}

// AccountStatusesFilter narrows an account's statuses list.
type AccountStatusesFilter struct {
	ExcludeReplies bool
	ExcludeReblogs bool
	OnlyMedia      bool
	Pinned         bool
	Tagged         string
}

// ViewStore reads what the client API shows. Visibility is decided here:
// a status the viewer may not see is never returned, whatever its id.
// Viewer 0 is an anonymous reader (public and unlisted only); SignedOut
// gives one who reads on a tenant's domain.
type ViewStore interface {
	// StatusViews hydrates statuses, keeping the order of ids and leaving
	// out those the viewer may not see.
	StatusViews(ctx context.Context, viewerID int64, ids []int64) ([]*StatusView, error)
	// AccountViews hydrates accounts by id.
	AccountViews(ctx context.Context, ids []int64) (map[int64]*AccountView, error)
	// HomeTimeline pages the viewer's materialised home feed.
	HomeTimeline(ctx context.Context, accountID int64, p Page) ([]int64, error)
	// PublicTimeline pages the public statuses a tenant has seen: its own
	// (local), received (remote), or both; those the viewer may see.
	PublicTimeline(ctx context.Context, tenantID, viewerID int64, local, remote bool, p Page) ([]int64, error)
	// PublicStatuses is PublicTimeline narrowed by f (Local, Remote,
	// OnlyMedia) inside the query, before paging.
	PublicStatuses(ctx context.Context, tenantID, viewerID int64, f TimelineFilter, p Page) ([]int64, error)
	// TagTimeline pages a tenant's public statuses with a hashtag that the
	// viewer may see, narrowed by f inside the query, before paging.
	TagTimeline(ctx context.Context, tenantID, viewerID int64, tag string, f TimelineFilter, p Page) ([]int64, error)
	// AccountStatuses pages an account's statuses the viewer may see.
	AccountStatuses(ctx context.Context, viewerID, accountID int64, f AccountStatusesFilter, p Page) ([]int64, error)
	// Context lists a status's ancestors (oldest first) and descendants
	// (in thread order) the viewer may see.
	Context(ctx context.Context, viewerID, statusID int64) (ancestors, descendants []int64, err error)
	// Followers and Following page an account's accepted follows; the
	// returned cursors are the follow rows' ids.
	Followers(ctx context.Context, accountID int64, p Page) (accountIDs, cursors []int64, err error)
	Following(ctx context.Context, accountID int64, p Page) (accountIDs, cursors []int64, err error)
	// Relationships of the viewer with each account.
	Relationships(ctx context.Context, viewerID int64, ids []int64) ([]Relationship, error)
	// Notifications pages a local account's notifications; the query's
	// every filter applies before paging (NotificationQuery).
	Notifications(ctx context.Context, accountID int64, q NotificationQuery, p Page) ([]Notification, error)
}

// Marker is where a reader stopped in a timeline.
type Marker struct {
	Timeline   string
	LastReadID int64
	Version    int
	UpdatedAt  time.Time
}

// ProfileUpdate changes a local account's profile; nil leaves a field.
type ProfileUpdate struct {
	DisplayName      *string
	Note             *string
	AvatarURL        *string
	HeaderURL        *string
	Locked           *bool
	Bot              *bool
	Discoverable     *bool
	Fields           *[]Field
	DefaultPrivacy   *Visibility
	DefaultSensitive *bool
	DefaultLanguage  *string
}

// Preferences are a local account's posting defaults.
type Preferences struct {
	Privacy   Visibility
	Sensitive bool
	Language  string
}

// ClientStore is what the client API writes that does not federate
// (bookmarks, pins, mutes, markers, notifications), plus the lists it
// pages. Every method acts on the given account only. A status the
// account may not see is answered errs.NotFound exactly as one that does
// not exist, and lists leave such statuses out before they are paged.
type ClientStore interface {
	// SetBookmark bookmarks (or unbookmarks) a status the account may see.
	SetBookmark(ctx context.Context, accountID, statusID int64, on bool) error
	// SetPin pins (or unpins) one of the account's own public or unlisted
	// statuses; at most MaxPins are pinned.
	SetPin(ctx context.Context, accountID, statusID int64, on bool) error
	// SetFollowOptions sets whether a follow notifies of every post and
	// shows the followee's boosts at home.
	SetFollowOptions(ctx context.Context, followerID, followeeID int64, showReblogs, notify bool) error
	Mute(ctx context.Context, accountID, targetID int64, notifications bool, until *time.Time) error
	Unmute(ctx context.Context, accountID, targetID int64) error
	Notification(ctx context.Context, accountID, id int64) (*Notification, error)
	DismissNotification(ctx context.Context, accountID, id int64) error
	ClearNotifications(ctx context.Context, accountID int64) error
	// Bookmarks and Favourites page status ids; cursors are the rows' ids.
	Bookmarks(ctx context.Context, accountID int64, p Page) (statusIDs, cursors []int64, err error)
	Favourites(ctx context.Context, accountID int64, p Page) (statusIDs, cursors []int64, err error)
	// FollowRequests pages accounts waiting for the account's approval.
	FollowRequests(ctx context.Context, accountID int64, p Page) (accountIDs, cursors []int64, err error)
	// FavouritedBy and RebloggedBy page who liked or boosted a status the
	// viewer may see (nobody for one they may not).
	FavouritedBy(ctx context.Context, viewerID, statusID int64, p Page) (accountIDs, cursors []int64, err error)
	RebloggedBy(ctx context.Context, viewerID, statusID int64, p Page) (accountIDs, cursors []int64, err error)
	Markers(ctx context.Context, accountID int64) ([]Marker, error)
	SetMarker(ctx context.Context, accountID int64, timeline string, lastReadID int64) (*Marker, error)
	UpdateProfile(ctx context.Context, accountID int64, u ProfileUpdate) error
	Preferences(ctx context.Context, accountID int64) (Preferences, error)
	// IdempotentStatus returns the status an earlier post with this key
	// created (0 when none); RememberIdempotency records it.
	IdempotentStatus(ctx context.Context, accountID int64, key string) (int64, error)
	RememberIdempotency(ctx context.Context, accountID int64, key string, statusID int64) error
	// StatusHistory lists the earlier versions, oldest first, of a status
	// the viewer may see (none for one they may not).
	StatusHistory(ctx context.Context, viewerID, statusID int64) ([]StatusVersion, error)
	// StatusByID finds a status by id, without visibility rules (callers
	// check them through ViewStore), or errs.NotFound.
	StatusByID(ctx context.Context, id int64) (*Status, error)
}

// MaxPins is how many statuses an account may pin, as on Mastodon.
const MaxPins = 5

// SignedOut is the viewer id of someone signed out on tenantID's domains:
// below zero, so it is no account and sees what anonymous readers see,
// less the remote posts that tenant's moderators hid for it
// (tenant_hidden_statuses). Account ids are positive.
func SignedOut(tenantID int64) int64 { return -tenantID }
