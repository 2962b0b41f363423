package federation

import "context"

// Replies policies of a list: which replies by members it shows, besides
// replies to themselves and to the list's owner (always shown).
const (
	RepliesFollowed = "followed" // replies to anyone the owner follows
	RepliesList     = "list"     // replies to other members of the list
	RepliesNone     = "none"     // no other replies
)

// List is a named set of accounts its owner follows, with its own
// timeline. An exclusive list's members are left out of the home
// timeline.
type List struct {
	ID            int64
	AccountID     int64 // the owner
	Title         string
	RepliesPolicy string
	Exclusive     bool
	// ForYou marks the built-in "For you" list: its timeline is the ranked
	// feed, and it has no members.
	ForYou bool
}

// ForYouTitle is the built-in ranked list's title.
const ForYouTitle = "For you"

// MaxLists bounds the lists one account may have; MaxListMembers the
// accounts on one list.
const (
	MaxLists       = 100
	MaxListMembers = 1000
)

// ListStore keeps lists. Every method acts on the given owner's lists
// only: another account's list is errs.NotFound, whatever its id.
type ListStore interface {
	Lists(ctx context.Context, ownerID int64) ([]List, error)
	List(ctx context.Context, ownerID, id int64) (*List, error)
	// SaveList creates (ID zero) or updates one of the owner's lists.
	SaveList(ctx context.Context, ownerID int64, l List) (*List, error)
	DeleteList(ctx context.Context, ownerID, id int64) error
	// ListMembers pages a list's accounts; cursors are the membership rows'
	// ids. A zero Limit means all of them.
	ListMembers(ctx context.Context, ownerID, listID int64, p Page) (accountIDs, cursors []int64, err error)
	// AddListMembers puts accounts the owner follows (or asked to follow)
	// on the list; any other account is errs.Invalid and nothing is added.
	AddListMembers(ctx context.Context, ownerID, listID int64, accountIDs []int64) error
	RemoveListMembers(ctx context.Context, ownerID, listID int64, accountIDs []int64) error
	// ListsWith lists the owner's lists that have the account on them.
	ListsWith(ctx context.Context, ownerID, accountID int64) ([]List, error)
	// ListTimeline pages the owner's home feed narrowed to the list's
	// members and its replies policy.
	ListTimeline(ctx context.Context, ownerID int64, l *List, p Page) ([]int64, error)
	// ExclusiveMembers are the accounts on the owner's exclusive lists,
	// whose posts the home timeline leaves out.
	ExclusiveMembers(ctx context.Context, ownerID int64) ([]int64, error)
}
