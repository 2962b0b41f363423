package tenant

import "time"

// The operator and tenant dashboards' read models: what the dashboard
// store (tenant/postgres AdminStore) returns and api/admin renders. Plain
// data, so the store never imports the web layer.

// DashboardUser is a login as the dashboard sees it.
type DashboardUser struct {
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

// DashboardSession is a signed-in dashboard session; Pending ones still wait for
// their second factor and grant nothing.
type DashboardSession struct {
	User    DashboardUser
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

// Actor is who performs an audited action: a dashboard login (UserID and
// Email), billing (BillingActor) or the command line (CommandLine). It is
// the one shape every audit entry is written from.
type Actor struct {
	// UserID is the login's id; 0 for billing and the command line.
	UserID int64
	Email  string
}

// CommandLine is the operator at the terminal: no login, an empty email,
// which the audit log shows as "command line".
var CommandLine = Actor{}

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
	// Before, when set, lists tenants with a smaller id (the next page).
	Before int64
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

// DomainState is a tenant's domain with its verification state.
type DomainState struct {
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
	DomainList  []DomainState
	Posts       int64
	Followers   int64
	OpenReports int64
	Media       int64
	LastPostAt  *time.Time
	// SignupEmail is the login that signed the tenant up on the portal.
	SignupEmail string
	// Quota is its quotas and their use (tenant/quota), when shown.
	Quota *QuotaUsage
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
