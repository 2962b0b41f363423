package federation

import (
	"context"
	"time"
)

// What a tenant's admins write about their server (issue 17): rules, the
// about text, the privacy policy, terms of service and who may see the
// domain blocks. federation/social/about holds the rules; AboutStore keeps
// them, every method scoped by the tenant.

// ServerRule is one of a tenant's rules (Mastodon's Rule entity).
type ServerRule struct {
	ID, TenantID int64
	Position     int
	Text, Hint   string
}

// Visibility of the tenant's domain blocks, as Mastodon's
// show_domain_blocks and show_domain_blocks_rationale settings.
const (
	ShowNobody   = "disabled"
	ShowUsers    = "users"
	ShowEveryone = "all"
)

// ServerSettings are a tenant's texts and settings; the zero value (with
// ShowNobody) is a tenant that wrote none.
type ServerSettings struct {
	About                 string
	AboutUpdatedAt        *time.Time
	PrivacyPolicy         string
	PrivacyPolicyUpdated  *time.Time
	DomainBlocks          string // ShowNobody, ShowUsers or ShowEveryone
	DomainBlocksRationale string // the same, for the blocks' public comments
}

// TermsVersion is one version of a tenant's terms of service, in force
// from EffectiveDate (a date, at midnight UTC).
type TermsVersion struct {
	ID, TenantID    int64
	EffectiveDate   time.Time
	Text, Changelog string
}

// PublicDomainBlock is one of a tenant's domain blocks as people may see
// it: the domain, whether it is obfuscated, the severity and the public
// comment.
type PublicDomainBlock struct {
	Domain, Severity, Comment string
	Obfuscate                 bool
}

// AboutStore keeps what federation/social/about serves; every method acts
// on one tenant's rows alone (a rule or version of another tenant is
// errs.NotFound).
type AboutStore interface {
	ServerRules(ctx context.Context, tenantID int64) ([]ServerRule, error)
	ServerRule(ctx context.Context, tenantID, id int64) (*ServerRule, error)
	// SaveServerRule creates (ID 0, placed last) or edits a rule.
	SaveServerRule(ctx context.Context, r ServerRule, maxRules int) (*ServerRule, error)
	DeleteServerRule(ctx context.Context, tenantID, id int64) (*ServerRule, error)
	// MoveServerRule swaps a rule with its neighbour above (up) or below.
	MoveServerRule(ctx context.Context, tenantID, id int64, up bool) error
	ServerSettings(ctx context.Context, tenantID int64) (*ServerSettings, error)
	// SaveServerSettings stores the settings; a text's updated time moves
	// only when that text changed.
	SaveServerSettings(ctx context.Context, tenantID int64, s ServerSettings, now time.Time) error
	// TermsVersions lists every version, newest effective date first.
	TermsVersions(ctx context.Context, tenantID int64) ([]TermsVersion, error)
	TermsVersion(ctx context.Context, tenantID, id int64) (*TermsVersion, error)
	// SaveTermsVersion creates (ID 0) or edits a version; another version
	// on the same date is errs.Conflict.
	SaveTermsVersion(ctx context.Context, v TermsVersion, maxVersions int) (*TermsVersion, error)
	DeleteTermsVersion(ctx context.Context, tenantID, id int64) (*TermsVersion, error)
	// PublicDomainBlocks lists the tenant's own domain blocks that limit
	// anything (not noop without media rejection), by domain.
	PublicDomainBlocks(ctx context.Context, tenantID int64) ([]PublicDomainBlock, error)
}
