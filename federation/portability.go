package federation

import "time"

// Rehome is one account's move to another domain (of its tenant, or of
// another tenant of this instance).
type Rehome struct {
	AccountID  int64
	ToTenantID int64
	ToDomain   string
	ToUsername string
	// FromURI and ToURI are the actor ids before and after.
	FromURI, ToURI string
	Kind           string // "domain" or "account"
}

// RemoteFollow is a follow of a remote account by a local one.
type RemoteFollow struct {
	ID        int64
	URI       string // the Follow activity's id
	TargetURI string
	Inbox     string
}

// TenantExport is one account archive of a tenant, as offered to a
// leaving tenant.
type TenantExport struct {
	ID      int64
	Account string // user@domain
	State   string
	Size    int64
	Expires time.Time
}

// TenantDomain is one of a tenant's verified domains with how many
// accounts live on it and how many moved away from it.
type TenantDomain struct {
	Domain          string
	Accounts, Moved int64
}

// ImportedPost is a post an archive import recreates, its media already
// uploaded.
type ImportedPost struct {
	ID          int64 // reserved ahead (timelines order by id); 0: the next id
	OriginalURI string
	Status      *Status
	MediaIDs    []int64
	// Publish marks the post to be delivered to followers once the
	// import has threaded it.
	Publish bool
}
