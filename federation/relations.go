package federation

import (
	"context"
	"time"
)

// MutedAccount is one account a viewer mutes, with the mute's row id (the
// cursor Mastodon pages by) and when it ends (nil: never).
type MutedAccount struct {
	AccountID int64
	Cursor    int64
	ExpiresAt *time.Time
}

// Suggestion sources, as Mastodon names them (Suggestion.sources).
const (
	SuggestFeatured         = "featured"           // an account of the viewer's own tenant
	SuggestFriendsOfFriends = "friends_of_friends" // followed by accounts the viewer follows
)

// Suggestion is an account suggested to a viewer to follow, and why.
type Suggestion struct {
	AccountID int64
	Sources   []string
}

// DirectoryQuery pages a tenant's profile directory: discoverable accounts
// only; Local: the tenant's own, else also the others it knows (that one
// of its accounts follows or is followed by). Order is "active" (latest
// post first) or "new" (newest account first).
type DirectoryQuery struct {
	TenantID int64
	Local    bool
	Order    string
	Offset   int
	Limit    int
}

// AccountSettings are a local account's Mastodon 4.4/4.5 profile settings.
type AccountSettings struct {
	AttributionDomains []string
	QuotePolicy        string // public, followers or nobody
}

// RelationStore keeps what a viewer records about other accounts that does
// not federate — notes, endorsements, dismissed suggestions — and pages its
// blocks and mutes. Every method acts on, and reads, the given account's
// own rows only: nobody else's notes, blocks or dismissals are ever seen
// or changed through it.
type RelationStore interface {
	// BlockedAccounts pages the accounts accountID blocks; cursors are the
	// blocks' row ids.
	BlockedAccounts(ctx context.Context, accountID int64, p Page) (accountIDs, cursors []int64, err error)
	// MutedAccounts pages the accounts accountID mutes (mutes that ended
	// left out), by the mutes' row ids.
	MutedAccounts(ctx context.Context, accountID int64, p Page) ([]MutedAccount, error)
	// SetAccountNote sets accountID's private note on targetID; "" removes it.
	SetAccountNote(ctx context.Context, accountID, targetID int64, comment string) error
	// Endorse features targetID on accountID's profile; it is refused
	// (errs.Invalid) unless accountID follows targetID (accepted), and
	// when accountID already features MaxEndorsements accounts.
	Endorse(ctx context.Context, accountID, targetID int64) error
	// Unendorse stops featuring targetID (done when it was not).
	Unendorse(ctx context.Context, accountID, targetID int64) error
	// Endorsements pages the accounts accountID features; cursors are the
	// endorsements' row ids.
	Endorsements(ctx context.Context, accountID int64, p Page) (accountIDs, cursors []int64, err error)
	// Suggestions lists up to limit accounts to suggest to viewerID on its
	// tenant: discoverable accounts of the tenant, and accounts followed by
	// those the viewer follows; never the viewer, nor an account it
	// follows, requested, blocks, is blocked by, mutes or dismissed, nor a
	// suspended or moved one. Best first.
	Suggestions(ctx context.Context, viewerID, tenantID int64, limit int) ([]Suggestion, error)
	// DismissSuggestion records that viewerID does not want targetID
	// suggested again.
	DismissSuggestion(ctx context.Context, viewerID, targetID int64) error
	// Directory pages a tenant's profile directory.
	Directory(ctx context.Context, q DirectoryQuery) ([]int64, error)
	// ListedAccounts keeps, in order, the ids of ids that are accounts the
	// tenant may show: existing, not suspended (instance-wide or by the
	// tenant).
	ListedAccounts(ctx context.Context, tenantID int64, ids []int64) ([]int64, error)
	// AccountSettings reads a local account's settings.
	AccountSettings(ctx context.Context, accountID int64) (AccountSettings, error)
	// SetAccountSettings saves a local account's settings; nil leaves one.
	SetAccountSettings(ctx context.Context, accountID int64, domains *[]string, quotePolicy *string) error
}

// MaxEndorsements bounds how many accounts one account features.
const MaxEndorsements = 40

// MaxAccountNote is the longest private note on an account, as on Mastodon.
const MaxAccountNote = 2000
