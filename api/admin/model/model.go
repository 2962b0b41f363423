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
	OldestPending                                *time.Time
	InboxPending                                 int64
	SignupsPending                               int64
	OpenReports                                  int64
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
	Username    string
	Domain      string
	DisplayName string
	URL         string
	Local       bool
}

// Post is a reported post, its content as stored (HTML).
type Post struct {
	ID          int64
	URI         string
	Content     string
	Summary     string
	PublishedAt time.Time
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
