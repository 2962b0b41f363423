package tenant

import "time"

// Moderation read models: accounts, posts and reports as a tenant's or
// the instance's moderators see them on the dashboard, and what resolving
// reports did.

// Limits are the moderation applied to an account at one scope.
type Limits struct {
	SilencedAt, SuspendedAt, SensitizedAt *time.Time
}

// AccountFilter narrows the account search. TenantID 0 is the instance:
// every account; otherwise the tenant's local accounts, the remote
// accounts its accounts follow or are followed by, and any account
// reported there.
type AccountFilter struct {
	TenantID int64
	Query    string
	// Origin is "local", "remote" or "" for both.
	Origin string
	Limit  int
}

// AccountRow is an account in the search results.
type AccountRow struct {
	Account
	TenantID  *int64
	CreatedAt time.Time
	Limits
}

// AccountAction is a moderation action on an account, from the audit log.
type AccountAction struct {
	Action, UserEmail, Detail string
	CreatedAt                 time.Time
}

// AccountDetail is one account as a moderator sees it.
type AccountDetail struct {
	AccountRow
	Note        string
	Posts       []Post
	Reports     []Report
	Actions     []AccountAction
	Logins      []Login
	Followers   int64
	Following   int64
	StatusCount int64
}

// Account is an account named in a report.
type Account struct {
	ID          int64
	URI         string
	Username    string
	Domain      string
	DisplayName string
	URL         string
	Local       bool
}

// Post is a reported post, its content as stored (HTML). The store hands
// a tenant's dashboard only posts that tenant may see.
type Post struct {
	ID          int64
	URI         string
	Content     string
	Summary     string
	PublishedAt time.Time
	// Hidden: the tenant's moderators hid this remote post from its viewers.
	Hidden bool
}

// Report is an open report with what it is about.
type Report struct {
	ID         int64
	TenantID   int64
	TenantName string
	// Reporter is nil for an anonymous inbound Flag.
	Reporter  *Account
	Target    Account
	Comment   string
	Category  string
	URI       string
	CreatedAt time.Time
	Posts     []Post
	// AssignedTo is the email of the login working on it ("" for nobody).
	AssignedTo  string
	ActionTaken string
	ResolvedAt  *time.Time
}

// PostRef names a local post that resolving a report deletes through
// the outbox (so followers' servers are told).
type PostRef struct {
	AccountID int64
	URI       string
}

// Resolution is what resolving reports did. A tenant's moderators act
// within their tenant's authority only: its own accounts' posts are
// deleted, remote posts (rows shared by every tenant) are hidden from its
// viewers, and other tenants' posts are left alone. Operators, acting for
// the instance, delete any.
type Resolution struct {
	// Resolved counts the reports closed.
	Resolved int
	// Delete are the local posts the caller deletes through the outbox.
	Delete []PostRef
	// Deleted counts the remote posts removed for everyone (operators);
	// Hidden those hidden from the acting tenant's viewers alone.
	Deleted, Hidden int
	// Kept counts the reported posts of another tenant's accounts that a
	// tenant's moderators asked to delete: left alone.
	Kept int
}

// ForwardTarget is what forwarding a report to a remote server needs.
type ForwardTarget struct {
	TenantID int64
	// Host is the reporting tenant's domain: the Flag is sent as its
	// instance actor.
	Host                           string
	AccountURI, Inbox, SharedInbox string
	Comment                        string
	StatusURIs                     []string
}
