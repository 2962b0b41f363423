package federation

import (
	"context"
	"time"
)

// ThreadStore keeps what a local account does to whole threads and
// conversations beyond single statuses. Every method acts on the given
// account only; a status the account may not see is errs.NotFound.
type ThreadStore interface {
	// MuteThread silences notifications about every status of the thread
	// statusID belongs to (on=false: hears them again). The status must
	// be one the account may see.
	MuteThread(ctx context.Context, accountID, statusID int64, on bool) error
	// MarkConversationUnread marks one of the account's conversations
	// unread again, or errs.NotFound.
	MarkConversationUnread(ctx context.Context, accountID, id int64) error
}

// InstanceActivity is one week of a tenant's activity, as Mastodon's
// GET /api/v1/instance/activity reports it.
type InstanceActivity struct {
	Week          time.Time // the week's first day, Monday 00:00 UTC
	Statuses      int64     // local statuses posted that week
	Logins        int64     // local accounts that posted or signed in that week
	Registrations int64     // local accounts created that week
}

// InstanceStore reads what a tenant's instance routes show.
type InstanceStore interface {
	// Peers lists the domains of remote accounts the tenant's accounts
	// follow or are followed by, at most limit, in name order.
	Peers(ctx context.Context, tenantID int64, limit int) ([]string, error)
	// Activity reports the tenant's last weeks, newest first, the current
	// week first, from now.
	Activity(ctx context.Context, tenantID int64, weeks int, now time.Time) ([]InstanceActivity, error)
	// Owner is the tenant's oldest local account (its owner's), or
	// errs.NotFound when it has none.
	Owner(ctx context.Context, tenantID int64) (int64, error)
}

// RemoteEmoji is a custom emoji a remote post or profile came with (an
// ActivityPub tag of type Emoji): shown for :Shortcode: in its text, from
// its own server's URL (not copied), as remote media is.
type RemoteEmoji struct {
	Shortcode string `json:"shortcode"`
	URL       string `json:"url"`
}

// MaxRemoteEmojis bounds the emojis kept for one post or profile.
const MaxRemoteEmojis = 64
