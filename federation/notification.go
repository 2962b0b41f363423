package federation

import (
	"context"
	"time"
)

// NotificationQuery narrows one account's notifications. The store applies
// every part of it before paging, so a page is never short while older
// matches exist: the types asked for, one sender, the statuses the
// account may see, and what the account hides — senders it blocks or
// mutes notifications of, domains it hides (but never the viewing site's
// own accounts), accounts moderators suspended, and notifications its
// policy filtered (unless IncludeFiltered or FromAccountID asks for them).
type NotificationQuery struct {
	Types, Exclude []string
	// FromAccountID keeps one sender's notifications (0: anyone's),
	// filtered ones included, as Mastodon's account_id.
	FromAccountID int64
	// SiteDomain is the viewing site's domain: its own accounts are never
	// hidden by a domain block.
	SiteDomain      string
	IncludeFiltered bool
}

// NotificationTypes are the types of notification Roost creates (quote
// and quoted_update: quote posts, migration 038).
var NotificationTypes = []string{"mention", "status", "reblog", "follow", "follow_request", "favourite", "poll", "update",
	"quote", "quoted_update"}

// GroupableNotificationTypes are the types notifications are grouped by
// when a client names none: one status's favourites or boosts, and
// follows, of one day.
var GroupableNotificationTypes = []string{"favourite", "follow", "reblog"}

// UngroupedPrefix starts the group key of a notification shown alone.
const UngroupedPrefix = "ungrouped-"

// NotificationGroup is one group of a page of grouped notifications.
type NotificationGroup struct {
	Key          string       // group_key; UngroupedPrefix+id for one alone
	Notification Notification // the newest of the group on the page
	Count        int64        // notifications of the group up to the page's newest
	MostRecentID int64
	PageMinID    int64 // the group's oldest notification on the page
	PageMaxID    int64 // its newest on the page
	LatestPageAt time.Time
	// SampleAccountIDs are the group's latest senders (at most
	// NotificationSampleAccounts), newest first.
	SampleAccountIDs []int64
}

// NotificationSampleAccounts is how many senders a group names, as
// Mastodon.
const NotificationSampleAccounts = 8

// NotificationPolicy is what an account does with notifications from
// strangers: each rule is PolicyAccept, PolicyFilter (to the requests) or
// PolicyDrop (never stored). The counts are the pending requests.
type NotificationPolicy struct {
	ForNotFollowing, ForNotFollowers, ForNewAccounts, ForPrivateMentions, ForLimitedAccounts string

	PendingRequests, PendingNotifications int64
}

// The values of a notification policy rule.
const (
	PolicyAccept = "accept"
	PolicyFilter = "filter"
	PolicyDrop   = "drop"
)

// NotificationRequest is the filtered notifications of one sender.
type NotificationRequest struct {
	FromAccountID int64 // also the request's id: one request per sender and recipient
	Count         int64
	LastID        int64 // the newest filtered notification: the paging cursor
	LastStatusID  int64 // zero when none
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// NotificationPager pages one account's notifications, one by one
// (federation.ViewStore serves it).
type NotificationPager interface {
	Notifications(ctx context.Context, accountID int64, q NotificationQuery, p Page) ([]Notification, error)
}

// NotificationStore keeps one account's grouped notifications, its
// notification policy and its requests. Every method acts on accountID's
// own notifications only.
type NotificationStore interface {
	// NotificationGroups pages groups as Mastodon: the newest (or with
	// MinID the oldest) p.Limit distinct groups, a group being the
	// notifications sharing a key among the types in grouped (the others
	// each alone); newest first.
	NotificationGroups(ctx context.Context, accountID int64, q NotificationQuery, grouped []string, p Page) ([]NotificationGroup, error)
	// CountNotificationGroups counts up to limit groups above minID.
	CountNotificationGroups(ctx context.Context, accountID int64, q NotificationQuery, grouped []string, minID int64, limit int) (int, error)
	// CountNotifications counts up to limit notifications above minID.
	CountNotifications(ctx context.Context, accountID int64, q NotificationQuery, minID int64, limit int) (int, error)
	// NotificationGroupByKey is one group as a whole, or errs.NotFound.
	NotificationGroupByKey(ctx context.Context, accountID int64, q NotificationQuery, key string) (*NotificationGroup, error)
	// NotificationGroupAccounts lists up to limit senders of a group, newest first.
	NotificationGroupAccounts(ctx context.Context, accountID int64, q NotificationQuery, key string, limit int) ([]int64, error)
	// DismissNotificationGroup deletes a group's notifications, or is
	// errs.NotFound when the key names none of the account's.
	DismissNotificationGroup(ctx context.Context, accountID int64, key string) error

	NotificationPolicy(ctx context.Context, accountID int64) (NotificationPolicy, error)
	SetNotificationPolicy(ctx context.Context, accountID int64, p NotificationPolicy) error
	// NotificationRequests pages the senders with filtered notifications
	// by their newest (cursor LastID).
	NotificationRequests(ctx context.Context, accountID int64, p Page) ([]NotificationRequest, error)
	// NotificationRequest is one sender's request, or errs.NotFound.
	NotificationRequest(ctx context.Context, accountID, fromAccountID int64) (*NotificationRequest, error)
	// AcceptNotificationRequests shows the senders' filtered notifications
	// and never filters them again; DismissNotificationRequests deletes
	// them. Senders without a request are skipped.
	AcceptNotificationRequests(ctx context.Context, accountID int64, fromAccountIDs []int64) error
	DismissNotificationRequests(ctx context.Context, accountID int64, fromAccountIDs []int64) error
}
