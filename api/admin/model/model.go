// Package model holds the operator dashboard's data: what api/admin shows
// and its store (tenant/postgres AdminStore) reads and writes. Plain data,
// no dependencies, so the store need not import the web layer.
package model

import "time"

// User is a login as the dashboard sees it.
type User struct {
	ID         int64
	Email      string
	IsOperator bool
	// Role and Perms are the login's role on the tenant a session or
	// sign-in is for (admin_roles); empty and 0 without one.
	Role  string
	Perms uint32
	// TOTPEnabled says sign-in asks for a second factor.
	TOTPEnabled bool
}

// Session is a signed-in dashboard session; Pending ones still wait for
// their second factor and grant nothing.
type Session struct {
	User    User
	Pending bool
}

// RoleGrant is a login's role on a tenant.
type RoleGrant struct {
	UserID     int64
	Email      string
	TenantID   int64
	TenantName string
	Role       string
	Perms      uint32
	GrantedBy  string
	CreatedAt  time.Time
}

// Login is an instance-wide login owning accounts.
type Login struct {
	ID          int64
	Email       string
	IsOperator  bool
	TOTPEnabled bool
}

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

// AuditFilter narrows the audit log. TenantID 0 reads every entry (the
// instance); otherwise only the tenant's.
type AuditFilter struct {
	TenantID     int64
	Actor        string
	Action       string
	TargetDomain string
	From, To     *time.Time
	Limit        int
}

// Actor is who performs a dashboard action, for the audit log.
type Actor struct {
	UserID int64
	Email  string
}

// Stats are the instance's numbers on the dashboard.
type Stats struct {
	// TenantsByStatus counts tenants per status (active, pending, ...).
	TenantsByStatus map[string]int64
	// Accounts are local accounts; Active* those that posted within a
	// day, a week and 30 days (account_stats.last_status_at).
	Accounts, ActiveDay, ActiveWeek, ActiveMonth int64
	// Posts are local statuses; RemoteAccounts the remote actors known.
	Posts, RemoteAccounts int64
	// Deliveries in the last hour, the pending queue and its oldest item.
	DeliveredHour, FailedHour, DeliveriesPending int64
	// The last minute's deliveries (sent, given up) and inbox POSTs
	// accepted: the live rates.
	DeliveredMinute, FailedMinute, InboxMinute int64
	// StorageBytes is the media stored for the scope's accounts.
	StorageBytes   int64
	OldestPending  *time.Time
	InboxPending   int64
	SignupsPending int64
	OpenReports    int64
	// Certificates in the shared TLS storage and the next to expire.
	Certificates   int64
	NextCertExpiry *time.Time
	NextCertName   string
	// PostsPerDay are local posts on each of the last 30 days, oldest first.
	PostsPerDay []DayCount
}

// DayCount is a number for one UTC day.
type DayCount struct {
	Day time.Time
	N   int64
}

// TenantFilter narrows the tenant list.
type TenantFilter struct {
	// Query matches the name or a domain, case-insensitively.
	Query string
	// Status is one tenant status, or empty for all.
	Status string
	Limit  int
}

// TenantRow is a tenant in the list.
type TenantRow struct {
	ID        int64
	Name      string
	Status    string
	CreatedAt time.Time
	Domains   []string
	Accounts  int64
}

// Domain is a tenant's domain with its verification state.
type Domain struct {
	Domain, ServiceDomain string
	VerifiedAt            *time.Time
	// ClaimKind and ClaimState come from a portal claim ("" when an
	// operator created the domain); FlaggedAt is set while its TXT proof
	// is missing.
	ClaimKind, ClaimState string
	FlaggedAt             *time.Time
}

// TenantDetail is one tenant with its domains and usage.
type TenantDetail struct {
	TenantRow
	DomainList  []Domain
	Posts       int64
	Followers   int64
	OpenReports int64
	Media       int64
	LastPostAt  *time.Time
	// SignupEmail is the login that signed the tenant up on the portal.
	SignupEmail string
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

// AuditEntry is one recorded action.
type AuditEntry struct {
	ID        int64
	UserEmail string
	Action    string
	Target    string
	TenantID  *int64
	Detail    string
	CreatedAt time.Time
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
