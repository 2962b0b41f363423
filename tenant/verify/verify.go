// Package verify proves that a newcomer controls the domain they claim on
// the signup portal, and keeps proving it: a TXT record at
// _roost-challenge.<domain> holding the domain's token, a record pointing
// the name at this instance, and for a split setup (handle domain
// alice.example, service domain social.alice.example) the redirects of the
// handle domain's discovery documents. Checks run on demand ("Check now")
// and in the background with back-off until the claim expires (24 h), then
// daily for verified domains: a verified domain whose TXT record is gone is
// flagged for the operator, neither kept silently nor dropped.
//
// DNS, the web and storage are interfaces; the package also holds the
// signup rules the portal applies (signup.go).
package verify

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/roost-social/roost/internal/errs"
	"golang.org/x/net/publicsuffix"
)

// Kind is how a domain was claimed.
type Kind string

// Claim kinds.
const (
	// Subdomain is a name under the instance's base domain: ours to give,
	// active at once.
	Subdomain Kind = "subdomain"
	// Own is the newcomer's own domain, pointed at this instance.
	Own Kind = "own"
	// Split is a handle domain (their website, which redirects discovery)
	// with a service domain pointed at this instance.
	Split Kind = "split"
)

// State is where a claim stands.
type State string

// Claim states.
const (
	Pending  State = "pending"
	Verified State = "verified"
	// Flagged is a verified domain whose TXT proof disappeared: still
	// served, and listed for the operator to look at.
	Flagged State = "flagged"
)

// Timing of claims and checks.
const (
	// ClaimLifetime is how long an unproven claim holds its name.
	ClaimLifetime = 24 * time.Hour
	// RecheckEvery is how often verified (and flagged) domains are re-checked.
	RecheckEvery = 24 * time.Hour
	// firstBackoff and maxBackoff bound the back-off of a pending claim.
	firstBackoff = time.Minute
	maxBackoff   = time.Hour
)

// ChallengeLabel is the label under which the TXT proof lives.
const ChallengeLabel = "_roost-challenge"

// ChallengeName is where a domain's TXT proof lives.
func ChallengeName(domain string) string { return ChallengeLabel + "." + domain }

// Backoff is the wait before the next background check of a pending claim
// that failed attempts times: one minute, doubling, at most an hour.
func Backoff(attempts int) time.Duration {
	if attempts < 0 {
		attempts = 0
	}
	if attempts >= 6 { // 2^6 minutes is past the cap; no shift overflows
		return maxBackoff
	}
	return min(firstBackoff<<attempts, maxBackoff)
}

// Claim is a domain claimed through the portal and its proof's state.
type Claim struct {
	Domain        string
	ServiceDomain string
	TenantID      int64
	Kind          Kind
	State         State
	// Token is the value the TXT record must hold.
	Token    string
	Attempts int
	// ExpiresAt is when a pending claim lapses.
	ExpiresAt   time.Time
	NextCheckAt *time.Time
	CheckedAt   *time.Time
	FlaggedAt   *time.Time
	CreatedAt   time.Time
	// Checks are the last check's results, one per expected record.
	Checks []Check
}

// Host is where the claim's actors live: the service domain of a split
// setup, the domain itself otherwise. It is the name to type into apps.
func (c *Claim) Host() string {
	if c.ServiceDomain != "" {
		return c.ServiceDomain
	}
	return c.Domain
}

// Record is one thing the newcomer must set up: a DNS record (Type A,
// AAAA, CNAME or TXT; Name and Value as a zone file would have them,
// without trailing dots) or a redirect their website must serve (Type
// Redirect; Name the URL asked, Value where it must send to).
type Record struct {
	Type     string `json:"type"`
	Name     string `json:"name"`
	Value    string `json:"value"`
	Optional bool   `json:"optional,omitempty"`
}

// Check is the result of looking for one Record.
type Check struct {
	Record Record `json:"record"`
	OK     bool   `json:"ok"`
	// Transient marks a failed lookup (timeout, SERVFAIL) rather than an
	// answer: it never flags a verified domain.
	Transient bool `json:"transient,omitempty"`
	// Status says what was found, in plain words.
	Status string `json:"status"`
}

// Target is how this instance is reached: what the newcomer's records
// must point at, and how their redirects are addressed.
type Target struct {
	// IPv4 and IPv6 are the instance's public addresses (A and AAAA
	// records); either may be invalid (unset).
	IPv4, IPv6 netip.Addr
	// Hostname is the instance's public name, for CNAME records of
	// names that are not a zone apex.
	Hostname string
	// Scheme and Port form the URLs redirects are checked on (Port 0:
	// the scheme's default).
	Scheme string
	Port   int
}

// IsApex reports whether domain is a zone apex (a registrable domain such
// as alice.example or alice.co.uk), where a CNAME is not allowed.
func IsApex(domain string) bool {
	etld1, err := publicsuffix.EffectiveTLDPlusOne(domain)
	return err != nil || etld1 == domain
}

// DiscoveryPaths are the documents a split setup's handle domain must
// redirect to its service domain.
var DiscoveryPaths = []string{"/.well-known/webfinger", "/.well-known/host-meta", "/.well-known/nodeinfo"}

// Records lists what claim c needs, in the order the portal shows them:
// the TXT proof, the records pointing the serving name here, and for a
// split setup the redirects. A subdomain of the base domain needs none.
func (t Target) Records(c *Claim) []Record {
	if c.Kind == Subdomain {
		return nil
	}
	recs := []Record{{Type: "TXT", Name: ChallengeName(c.Domain), Value: c.Token}}
	recs = append(recs, t.pointing(c.Host())...)
	if c.Kind == Split {
		for _, p := range DiscoveryPaths {
			recs = append(recs, Record{Type: "Redirect", Name: t.url(c.Domain, p), Value: t.url(c.ServiceDomain, p)})
		}
	}
	return recs
}

// pointing is how host must point here: a CNAME to the instance's name
// when host is not an apex and the name is known, else A and/or AAAA. The
// first address family configured is required, the other optional.
func (t Target) pointing(host string) []Record {
	if !IsApex(host) && t.Hostname != "" {
		return []Record{{Type: "CNAME", Name: host, Value: t.Hostname}}
	}
	var recs []Record
	if t.IPv4.IsValid() {
		recs = append(recs, Record{Type: "A", Name: host, Value: t.IPv4.String()})
	}
	if t.IPv6.IsValid() {
		recs = append(recs, Record{Type: "AAAA", Name: host, Value: t.IPv6.String(), Optional: len(recs) > 0})
	}
	return recs
}

func (t Target) url(host, path string) string {
	scheme := t.Scheme
	if scheme == "" {
		scheme = "https"
	}
	if t.Port != 0 && !(scheme == "https" && t.Port == 443) && !(scheme == "http" && t.Port == 80) {
		host += ":" + strconv.Itoa(t.Port)
	}
	return scheme + "://" + host + path
}

// FieldErrors are input errors by form field ("domain", "email"...), each
// a sentence to show next to its field. As an error it is errs.Invalid.
type FieldErrors map[string]string

func (f FieldErrors) Error() string {
	var parts []string
	for k, v := range f {
		parts = append(parts, k+": "+v)
	}
	return strings.Join(parts, "; ")
}

// Unwrap lets errs.CodeOf see an Invalid error.
func (f FieldErrors) Unwrap() error { return errs.E(errs.Invalid, "%s", f.Error()) }

// fieldError is a FieldErrors with one field.
func fieldError(field, format string, args ...any) FieldErrors {
	return FieldErrors{field: fmt.Sprintf(format, args...)}
}
