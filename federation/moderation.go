package federation

import (
	"context"
	"time"
)

// DomainBlockStore keeps the domains a person hides (their accounts'
// posts in timelines, their notifications). Every method acts on the given
// account's blocks only.
type DomainBlockStore interface {
	// DomainBlocks pages the blocked domains; cursors are the rows' ids.
	DomainBlocks(ctx context.Context, accountID int64, p Page) (domains []string, cursors []int64, err error)
	BlockDomain(ctx context.Context, accountID int64, domain string) error
	UnblockDomain(ctx context.Context, accountID int64, domain string) error
	// Hidden returns what the account hides from its timelines at once:
	// its blocked domains, and the members of its exclusive lists.
	Hidden(ctx context.Context, accountID int64) (domains []string, exclusive []int64, err error)
	// FollowersOn lists the account's remote followers (and follow
	// requests) on a domain or its subdomains.
	FollowersOn(ctx context.Context, accountID int64, domain string) ([]int64, error)
}

// MaxDomainBlocks bounds one account's blocked domains.
const MaxDomainBlocks = 1000

// DomainHidden reports whether host is one of domains or under one.
func DomainHidden(domains []string, host string) bool {
	for _, d := range domains {
		if host == d || len(host) > len(d) && host[len(host)-len(d)-1] == '.' && host[len(host)-len(d):] == d {
			return true
		}
	}
	return false
}

// Report categories, as on Mastodon.
const (
	ReportSpam      = "spam"
	ReportLegal     = "legal"
	ReportViolation = "violation"
	ReportOther     = "other"
)

// UserReport is a report a local account files through the client API.
type UserReport struct {
	ID         int64 // the reporter's tenant's copy
	ReporterID int64
	// ReporterTenantID is the reporter's tenant; TargetTenantID the
	// reported account's (zero for a remote account).
	ReporterTenantID int64
	TargetTenantID   int64
	TargetID         int64
	StatusIDs        []int64 // the target's statuses
	Comment          string
	Category         string
	RuleIDs          []int64
	Forwarded        bool
	CreatedAt        time.Time
	// Forward, when set, is the Flag to deliver to the reported remote
	// account's server, queued with the report in one transaction.
	Forward *ReportForward
}

// ReportForward is a report's Flag activity on its way to the reported
// account's server. It is signed by the instance actor of ActingHost (the
// reporter's site), never by the reporter: the remote moderators learn
// what was reported, not who reported it.
type ReportForward struct {
	ActingHost string
	ActivityID string
	Inbox      string
	Body       []byte
	// DeliveryID is the queued delivery's row, set by FileReport (zero
	// when the inbox's domain is suspended for the reporter's tenant:
	// nothing is queued for it).
	DeliveryID int64
}

// FlagBuilder writes the Flag that forwards a report of a remote account
// (and some of its posts, by URI) to its server.
type FlagBuilder interface {
	Flag(actingHost string, target *Account, statusURIs []string, comment string) (*ReportForward, error)
}

// ReportStore files reports.
type ReportStore interface {
	// FileReport stores a report for the moderators of the reported
	// account's tenant and, when that is another tenant or the account is
	// remote, a copy for the reporter's tenant. Another tenant's copy does
	// not name the reporter. Status ids not of the target are dropped.
	// It sets r.ID (the reporter's tenant's copy) and r.CreatedAt. When
	// r.Forward is set, its delivery is queued in the same transaction
	// (and r.Forward.DeliveryID set), so the report and its forwarding
	// are stored together or not at all.
	FileReport(ctx context.Context, r *UserReport) error
}
