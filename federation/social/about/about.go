// Package about is the use case of what a tenant's admins write about
// their server, as a Mastodon admin does: the ordered server rules, the
// about text (extended description), the privacy policy, terms of service
// by effective date, and who may see the tenant's domain blocks. Admins
// write them on the tenant dashboard; people's apps read them through
// /api/v1/instance/*. Every call names the tenant it acts for, and the
// store never lets one tenant's call reach another's rows.
package about

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// Limits. A rule is a sentence or two; a tenant's texts are pages, not
// books.
const (
	MaxRules         = 100
	MaxRuleText      = 1000
	MaxRuleHint      = 1000
	MaxAbout         = 20000
	MaxPrivacyPolicy = 50000
	MaxTerms         = 50000
	MaxChangelog     = 5000
	MaxTermsVersions = 100
)

// DateFormat is how terms of service dates are written and served.
const DateFormat = "2006-01-02"

// Service is the use case.
type Service struct {
	Store federation.AboutStore
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Rules lists the tenant's rules in their order.
func (s *Service) Rules(ctx context.Context, tenantID int64) ([]federation.ServerRule, error) {
	return s.Store.ServerRules(ctx, tenantID)
}

// Rule is one of the tenant's rules, or errs.NotFound.
func (s *Service) Rule(ctx context.Context, tenantID, id int64) (*federation.ServerRule, error) {
	return s.Store.ServerRule(ctx, tenantID, id)
}

// RuleDraft is a rule as an admin wrote it: ID 0 adds one, last.
type RuleDraft struct {
	ID         int64
	Text, Hint string
}

// SaveRule checks and stores a rule of the tenant.
func (s *Service) SaveRule(ctx context.Context, tenantID int64, d RuleDraft) (*federation.ServerRule, error) {
	text, hint := strings.TrimSpace(d.Text), strings.TrimSpace(d.Hint)
	if n := utf8.RuneCountInString(text); n == 0 || n > MaxRuleText {
		return nil, errs.E(errs.Invalid, "a rule's text is 1 to %d characters", MaxRuleText)
	}
	if utf8.RuneCountInString(hint) > MaxRuleHint {
		return nil, errs.E(errs.Invalid, "a rule's hint is at most %d characters", MaxRuleHint)
	}
	return s.Store.SaveServerRule(ctx, federation.ServerRule{ID: d.ID, TenantID: tenantID, Text: text, Hint: hint}, MaxRules)
}

// DeleteRule deletes one of the tenant's rules.
func (s *Service) DeleteRule(ctx context.Context, tenantID, id int64) (*federation.ServerRule, error) {
	return s.Store.DeleteServerRule(ctx, tenantID, id)
}

// MoveRule moves one of the tenant's rules a place up or down.
func (s *Service) MoveRule(ctx context.Context, tenantID, id int64, up bool) error {
	return s.Store.MoveServerRule(ctx, tenantID, id, up)
}

// Settings are the tenant's texts and settings.
func (s *Service) Settings(ctx context.Context, tenantID int64) (*federation.ServerSettings, error) {
	return s.Store.ServerSettings(ctx, tenantID)
}

// SaveSettings checks and stores the tenant's texts and settings.
func (s *Service) SaveSettings(ctx context.Context, tenantID int64, v federation.ServerSettings) error {
	v.About, v.PrivacyPolicy = strings.TrimSpace(v.About), strings.TrimSpace(v.PrivacyPolicy)
	if utf8.RuneCountInString(v.About) > MaxAbout {
		return errs.E(errs.Invalid, "the about text is at most %d characters", MaxAbout)
	}
	if utf8.RuneCountInString(v.PrivacyPolicy) > MaxPrivacyPolicy {
		return errs.E(errs.Invalid, "the privacy policy is at most %d characters", MaxPrivacyPolicy)
	}
	if !validShow(v.DomainBlocks) || !validShow(v.DomainBlocksRationale) {
		return errs.E(errs.Invalid, "domain blocks are shown to nobody (disabled), signed-in users (users) or everyone (all)")
	}
	return s.Store.SaveServerSettings(ctx, tenantID, v, s.now())
}

func validShow(v string) bool {
	return v == federation.ShowNobody || v == federation.ShowUsers || v == federation.ShowEveryone
}

// TermsVersions lists the tenant's terms of service, newest date first.
func (s *Service) TermsVersions(ctx context.Context, tenantID int64) ([]federation.TermsVersion, error) {
	return s.Store.TermsVersions(ctx, tenantID)
}

// TermsVersion is one version of the tenant's terms, or errs.NotFound.
func (s *Service) TermsVersion(ctx context.Context, tenantID, id int64) (*federation.TermsVersion, error) {
	return s.Store.TermsVersion(ctx, tenantID, id)
}

// TermsDraft is a version of the terms as an admin wrote it: ID 0 adds
// one; Date is YYYY-MM-DD.
type TermsDraft struct {
	ID                    int64
	Date, Text, Changelog string
}

// SaveTerms checks and stores a version of the tenant's terms.
func (s *Service) SaveTerms(ctx context.Context, tenantID int64, d TermsDraft) (*federation.TermsVersion, error) {
	date, err := time.Parse(DateFormat, strings.TrimSpace(d.Date))
	if err != nil {
		return nil, errs.E(errs.Invalid, "the effective date is YYYY-MM-DD")
	}
	text, changelog := strings.TrimSpace(d.Text), strings.TrimSpace(d.Changelog)
	if n := utf8.RuneCountInString(text); n == 0 || n > MaxTerms {
		return nil, errs.E(errs.Invalid, "the terms are 1 to %d characters", MaxTerms)
	}
	if utf8.RuneCountInString(changelog) > MaxChangelog {
		return nil, errs.E(errs.Invalid, "the summary of changes is at most %d characters", MaxChangelog)
	}
	v := federation.TermsVersion{ID: d.ID, TenantID: tenantID, EffectiveDate: date, Text: text, Changelog: changelog}
	return s.Store.SaveTermsVersion(ctx, v, MaxTermsVersions)
}

// DeleteTerms deletes one version of the tenant's terms.
func (s *Service) DeleteTerms(ctx context.Context, tenantID, id int64) (*federation.TermsVersion, error) {
	return s.Store.DeleteTermsVersion(ctx, tenantID, id)
}

// Document is a text as served: HTML, and when it last changed (nil:
// never).
type Document struct {
	Content   string
	UpdatedAt *time.Time
}

// ExtendedDescription is the tenant's about text; empty when none.
func (s *Service) ExtendedDescription(ctx context.Context, tenantID int64) (*Document, error) {
	v, err := s.Store.ServerSettings(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return &Document{Content: Render(v.About), UpdatedAt: v.AboutUpdatedAt}, nil
}

// PrivacyPolicy is the tenant's privacy policy, errs.NotFound when it
// wrote none: Roost never invents one for a tenant.
func (s *Service) PrivacyPolicy(ctx context.Context, tenantID int64) (*Document, error) {
	v, err := s.Store.ServerSettings(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if v.PrivacyPolicy == "" {
		return nil, errs.E(errs.NotFound, "Record not found")
	}
	return &Document{Content: Render(v.PrivacyPolicy), UpdatedAt: v.PrivacyPolicyUpdated}, nil
}

// Terms is a version of the terms as served (Mastodon's TermsOfService
// entity).
type Terms struct {
	EffectiveDate time.Time
	// Effective: the version is in force today (or was).
	Effective bool
	Content   string
	// SucceededBy is the next version's date, nil when none.
	SucceededBy *time.Time
}

// CurrentTerms is the version in force today (the newest whose date has
// come), else the first one to come; errs.NotFound when there is none.
func (s *Service) CurrentTerms(ctx context.Context, tenantID int64) (*Terms, error) {
	return s.terms(ctx, tenantID, func(vs []federation.TermsVersion, today time.Time) int {
		for i, v := range vs { // newest first
			if !v.EffectiveDate.After(today) {
				return i
			}
		}
		return len(vs) - 1 // only upcoming ones: the soonest
	})
}

// TermsOn is the version whose effective date is date (YYYY-MM-DD), as
// Mastodon's /terms_of_service/:date; errs.NotFound otherwise.
func (s *Service) TermsOn(ctx context.Context, tenantID int64, date string) (*Terms, error) {
	d, err := time.Parse(DateFormat, date)
	if err != nil {
		return nil, errs.E(errs.NotFound, "Record not found")
	}
	return s.terms(ctx, tenantID, func(vs []federation.TermsVersion, _ time.Time) int {
		for i, v := range vs {
			if v.EffectiveDate.Equal(d) {
				return i
			}
		}
		return -1
	})
}

func (s *Service) terms(ctx context.Context, tenantID int64, pick func([]federation.TermsVersion, time.Time) int) (*Terms, error) {
	vs, err := s.Store.TermsVersions(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	i := pick(vs, today)
	if i < 0 || i >= len(vs) {
		return nil, errs.E(errs.NotFound, "Record not found")
	}
	v := vs[i]
	t := &Terms{EffectiveDate: v.EffectiveDate, Effective: !v.EffectiveDate.After(today), Content: Render(v.Text)}
	if i > 0 {
		next := vs[i-1].EffectiveDate
		t.SucceededBy = &next
	}
	return t, nil
}

// DomainBlock is one of the tenant's domain blocks as served (Mastodon's
// DomainBlock entity): Comment is nil when comments are not shown.
type DomainBlock struct {
	Domain, Digest, Severity string
	Comment                  *string
}

// DomainBlocks lists the tenant's domain blocks to a reader signed in on
// the tenant or not, as its settings allow; errs.NotFound when they are
// not shown to that reader (Mastodon answers 404 then).
func (s *Service) DomainBlocks(ctx context.Context, tenantID int64, signedIn bool) ([]DomainBlock, error) {
	v, err := s.Store.ServerSettings(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if !shown(v.DomainBlocks, signedIn) {
		return nil, errs.E(errs.NotFound, "Record not found")
	}
	comments := shown(v.DomainBlocksRationale, signedIn)
	bs, err := s.Store.PublicDomainBlocks(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	out := make([]DomainBlock, 0, len(bs))
	for _, b := range bs {
		sum := sha256.Sum256([]byte(b.Domain))
		d := DomainBlock{Domain: b.Domain, Digest: hex.EncodeToString(sum[:]), Severity: b.Severity}
		if b.Obfuscate {
			d.Domain = Obfuscate(b.Domain)
		}
		if comments {
			c := b.Comment
			d.Comment = &c
		}
		out = append(out, d)
	}
	return out, nil
}

func shown(setting string, signedIn bool) bool {
	return setting == federation.ShowEveryone || (setting == federation.ShowUsers && signedIn)
}

// Obfuscate hides the middle of a domain behind asterisks (its dots
// kept), as Mastodon shows an obfuscated block: the first and last
// quarter stay readable, the digest identifies it exactly.
func Obfuscate(domain string) string {
	r := []rune(domain)
	keep := len(r) / 4
	for i := range r {
		if i > keep && i < len(r)-keep && r[i] != '.' {
			r[i] = '*'
		}
	}
	return string(r)
}
