package verify

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"github.com/roost-social/roost/internal/text"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/roost-social/roost/internal/errs"
	"github.com/roost-social/roost/tenant"
	"golang.org/x/net/publicsuffix"
)

// Mode is the instance's signup mode (ROOST_SIGNUPS).
type Mode string

// Signup modes.
const (
	// Open lets anyone sign up.
	Open Mode = "open"
	// Invite needs a one-time invite code (`roost tenant invite`).
	Invite Mode = "invite"
	// Approval creates tenants pending, unserved until an operator runs
	// `roost tenant approve`.
	Approval Mode = "approval"
)

// Signup is a newcomer's progress: their login, the tenant it created,
// the domain claimed and the first account.
type Signup struct {
	ID           int64
	UserID       int64
	TenantID     int64
	Email        string
	TenantName   string
	TenantStatus tenant.Status
	// Notice is something to tell the newcomer (a claim that expired).
	Notice    string
	CreatedAt time.Time
	// Claim is the tenant's claimed domain, nil before one is chosen.
	Claim *Claim
	// Account is the first account's handle (alice@alice.example) once
	// created by this login.
	Account string
}

// NewSignup is what creating a signup needs.
type NewSignup struct {
	Name  string
	Email string
	// Password is checked against an existing login with Email (the
	// same person re-submitting, or someone with a login already);
	// PasswordHash is stored for a new one.
	Password     string
	PasswordHash string
	// InviteHash is the SHA-256 of the invite code; nil when none is
	// needed.
	InviteHash []byte
	// Status is the new tenant's: Active, or Pending for approval.
	Status tenant.Status
	Now    time.Time
}

// NewClaim is a domain to claim for a signup's tenant.
type NewClaim struct {
	Kind          Kind
	Domain        string
	ServiceDomain string
	Now           time.Time
}

// SignupStore keeps signups, claims made through the portal and portal
// sessions. Implementations MUST be safe for concurrent use, and keep
// re-submitted forms from creating anything twice.
type SignupStore interface {
	// CreateSignup creates the login (or uses the one with n.Email when
	// n.Password matches it), the tenant and the signup in one
	// transaction. When the login already has a signup it returns that
	// one, creating nothing. A wrong password for an existing login, or a
	// missing or used invite, is a FieldErrors.
	CreateSignup(ctx context.Context, n NewSignup) (*Signup, error)
	// Signup returns the login's signup with its claim and account, or
	// errs.NotFound.
	Signup(ctx context.Context, userID int64) (*Signup, error)
	// Login returns the id and password hash of the login with email
	// (case-insensitive), or errs.NotFound.
	Login(ctx context.Context, email string) (int64, string, error)
	// ClaimDomain claims n's names for the tenant: a Subdomain claim is
	// verified at once, others pending until ClaimLifetime after n.Now.
	// Claiming the same names again returns the existing claim; a name
	// used by another tenant, or a tenant that already has another claim,
	// is a FieldErrors. A deleted tenant's domain is freed for the claim
	// (which must then be proven anew).
	ClaimDomain(ctx context.Context, tenantID int64, n NewClaim) (*Claim, error)
	// ReleaseClaim gives up the tenant's claim on domain while no account
	// lives on it; it returns the claim as it was, or errs.NotFound.
	ReleaseClaim(ctx context.Context, tenantID int64, domain string) (*Claim, error)
	// CreateSession stores a portal session by its token's hash.
	CreateSession(ctx context.Context, userID int64, tokenHash []byte, expires time.Time) error
	// SessionUser returns the login of an unexpired session, or
	// errs.NotFound.
	SessionUser(ctx context.Context, tokenHash []byte, now time.Time) (int64, error)
	// DeleteSession ends a session.
	DeleteSession(ctx context.Context, tokenHash []byte) error
}

// SessionLifetime is how long a portal sign-in lasts.
const SessionLifetime = 7 * 24 * time.Hour

// reservedLabels are subdomains of the base domain nobody may take.
var reservedLabels = map[string]bool{
	"www": true, "portal": true, "admin": true, "api": true, "app": true, "mail": true, "smtp": true, "imap": true,
	"pop": true, "ftp": true, "ns": true, "ns1": true, "ns2": true, "root": true, "status": true, "help": true,
	"support": true, "abuse": true, "postmaster": true, "webmaster": true, "hostmaster": true, "security": true,
	"autoconfig": true, "autodiscover": true, "media": true, "static": true, "cdn": true, "relay": true,
}

// Signups applies the portal's rules: who may sign up, which names may be
// claimed, and sessions.
type Signups struct {
	Store   SignupStore
	Checker *Checker
	// Hosts is told when a domain becomes served (tenant.Service); nil
	// tells nobody.
	Hosts tenant.Invalidator
	Mode  Mode
	// BaseDomain offers subdomains (alice.roost.example); empty offers none.
	BaseDomain string
	// PortalHost is the portal's own name, never claimable, nor any name
	// under it.
	PortalHost string
	// Reserved are every other host the instance serves or calls (the
	// operator host, the public host name...), never claimable either.
	Reserved Reserved
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	Log *slog.Logger
}

func (s *Signups) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// StartForm is the first form: a tenant and its login.
type StartForm struct {
	Name, Email, Password, Invite string
	AcceptRules                   bool
}

// HashCode is how tokens and invite codes are kept.
func HashCode(code string) []byte {
	h := sha256.Sum256([]byte(code))
	return h[:]
}

// Start creates the tenant, its login and the signup, or finds them when
// the same email and password were submitted before.
func (s *Signups) Start(ctx context.Context, f StartForm) (*Signup, error) {
	fe := FieldErrors{}
	name := strings.TrimSpace(f.Name)
	if name == "" || utf8.RuneCountInString(name) > 200 {
		fe["name"] = "Give your site a name of 1 to 200 characters."
	}
	email, err := tenant.NormalizeEmail(f.Email)
	if err != nil {
		fe["email"] = "Enter a valid email address, such as you@example.com."
	}
	if len(f.Password) < 8 {
		fe["password"] = "Choose a password of at least 8 characters."
	} else if len(f.Password) > 72 {
		fe["password"] = "Choose a password of at most 72 bytes."
	}
	var invite []byte
	if s.Mode == Invite {
		code := strings.TrimSpace(f.Invite)
		if code == "" {
			fe["invite"] = "Signups on this server need an invite code."
		}
		invite = HashCode(strings.ToUpper(code))
	}
	if !f.AcceptRules {
		fe["rules"] = "You must accept the rules of this server to sign up."
	}
	if len(fe) > 0 {
		return nil, fe
	}
	hash, err := s.startHash(ctx, email, f.Password)
	if err != nil {
		return nil, err
	}
	status := tenant.Active
	if s.Mode == Approval {
		status = tenant.Pending
	}
	sg, err := s.Store.CreateSignup(ctx, NewSignup{Name: name, Email: email, Password: f.Password, PasswordHash: hash,
		InviteHash: invite, Status: status, Now: s.now()})
	if fe := (FieldErrors{}); errors.As(err, &fe) && fe["email"] != "" {
		return nil, errBadStart // a login made at the same moment, with another password
	}
	return sg, err
}

// errBadStart answers a start with the email of a login whose password
// is another. It neither says that the login exists nor how the password
// differs (issue 14 finding 8), and like the sign-in form it is reached
// only through the portal's throttle, so the start form is no quicker a
// way to test passwords, or which emails have logins, than signing in.
var errBadStart = fieldError("email", "This email and password cannot start a site. If you signed up before, sign in with the password you chose then; otherwise use another email.")

// startHash checks the password of an existing login with email (its
// hash is kept) or hashes the new login's password: one bcrypt either
// way, so the two take as long.
func (s *Signups) startHash(ctx context.Context, email, password string) (string, error) {
	_, hash, err := s.Store.Login(ctx, email)
	switch {
	case err == nil:
		if !tenant.CheckPassword(hash, password) {
			return "", errBadStart
		}
		return hash, nil
	case !errs.Is(err, errs.NotFound):
		return "", err
	}
	hash, err = tenant.HashPassword(password)
	if err != nil {
		return "", fieldError("password", "%s", errs.MessageOf(err))
	}
	return hash, nil
}

// dummyHash is compared against when no login has the email, so a
// wrong email costs as long as a wrong password.
var dummyHash, _ = tenant.HashPassword("not a password of anyone's")

var errBadLogin = fieldError("email", "Wrong email or password.")

// Login finds the signup of the login with email and password.
func (s *Signups) Login(ctx context.Context, email, password string) (*Signup, error) {
	id, hash, err := s.Store.Login(ctx, strings.TrimSpace(email))
	if errs.Is(err, errs.NotFound) {
		tenant.CheckPassword(dummyHash, password)
		return nil, errBadLogin
	}
	if err != nil {
		return nil, err
	}
	if !tenant.CheckPassword(hash, password) {
		return nil, errBadLogin
	}
	sg, err := s.Store.Signup(ctx, id)
	if errs.Is(err, errs.NotFound) {
		return nil, fieldError("email", "This login has no site yet: create one with the same email and password.")
	}
	return sg, err
}

// NewSession starts a portal session for the login and returns the
// cookie's token.
func (s *Signups) NewSession(ctx context.Context, userID int64) (string, error) {
	b := make([]byte, 32)
	rand.Read(b)
	tok := base64.RawURLEncoding.EncodeToString(b)
	return tok, s.Store.CreateSession(ctx, userID, HashCode(tok), s.now().Add(SessionLifetime))
}

// SessionSignup returns the signup of a session's login, or errs.NotFound.
func (s *Signups) SessionSignup(ctx context.Context, token string) (*Signup, error) {
	if token == "" || len(token) > 100 {
		return nil, errs.E(errs.NotFound, "no session")
	}
	id, err := s.Store.SessionUser(ctx, HashCode(token), s.now())
	if err != nil {
		return nil, err
	}
	return s.Store.Signup(ctx, id)
}

// EndSession signs out.
func (s *Signups) EndSession(ctx context.Context, token string) error {
	if token == "" || len(token) > 100 {
		return nil
	}
	return s.Store.DeleteSession(ctx, HashCode(token))
}

// under reports whether name is base or a name under it.
func under(name, base string) bool {
	return base != "" && (name == base || strings.HasSuffix(name, "."+base))
}

// checkOwn refuses names that are not the newcomer's to claim: the
// instance's own names and public suffixes (co.uk).
func (s *Signups) checkOwn(field, raw string) (string, FieldErrors) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", fieldError(field, "Enter a domain name, such as alice.example.")
	}
	name, err := tenant.NormalizeDomain(raw)
	if err != nil || !strings.Contains(name, ".") {
		return "", fieldError(field, "%q is not a domain name; enter one such as alice.example.", text.Clip(raw, 100))
	}
	if h := s.reservedOf(name); h != "" {
		return "", fieldError(field, "%s belongs to this server (%s); use a domain of your own.", name, h)
	}
	if under(name, s.BaseDomain) {
		return "", fieldError(field, "%s belongs to this server; choose a subdomain of %s instead, or a domain of your own.", name, s.BaseDomain)
	}
	if ps, _ := publicsuffix.PublicSuffix(name); ps == name {
		return "", fieldError(field, "%s is a public suffix that nobody owns; enter your domain under it.", name)
	}
	return name, nil
}

// reservedOf returns the host of the instance's own that name is or is
// under (the portal host, or one of Reserved), or "".
func (s *Signups) reservedOf(name string) string {
	if h := s.Reserved.Of(name); h != "" {
		return h
	}
	return NewReserved(s.BaseDomain, s.PortalHost).Of(name)
}

// ChooseSubdomain claims label.BaseDomain, active at once.
func (s *Signups) ChooseSubdomain(ctx context.Context, sg *Signup, label string) (*Claim, error) {
	if s.BaseDomain == "" {
		return nil, fieldError("label", "This server offers no subdomains; use a domain of your own.")
	}
	label = strings.ToLower(strings.TrimSpace(label))
	name, err := tenant.NormalizeDomain(label + "." + s.BaseDomain)
	if label == "" || strings.Contains(label, ".") || err != nil {
		return nil, fieldError("label", "Use 1 to 63 letters, digits and inner hyphens, such as alice.")
	}
	if reservedLabels[label] || s.reservedOf(name) != "" {
		return nil, fieldError("label", "%s is reserved; choose another name.", name)
	}
	c, err := s.Store.ClaimDomain(ctx, sg.TenantID, NewClaim{Kind: Subdomain, Domain: name, Now: s.now()})
	if err != nil {
		return nil, err
	}
	s.hostsChanged(ctx, c.Domain)
	return c, nil
}

// ChooseOwn claims the newcomer's own domain, pending its DNS records.
func (s *Signups) ChooseOwn(ctx context.Context, sg *Signup, domain string) (*Claim, error) {
	name, fe := s.checkOwn("domain", domain)
	if fe != nil {
		return nil, fe
	}
	return s.Store.ClaimDomain(ctx, sg.TenantID, NewClaim{Kind: Own, Domain: name, Now: s.now()})
}

// ChooseSplit claims a handle domain and a service domain, pending their
// DNS records and the handle domain's redirects.
func (s *Signups) ChooseSplit(ctx context.Context, sg *Signup, handle, service string) (*Claim, error) {
	h, fe := s.checkOwn("handle", handle)
	sv, fe2 := s.checkOwn("service", service)
	if fe != nil || fe2 != nil {
		for k, v := range fe2 {
			if fe == nil {
				fe = FieldErrors{}
			}
			fe[k] = v
		}
		return nil, fe
	}
	if h == sv {
		return nil, fieldError("service", "The service domain must differ from the handle domain, such as social.%s.", h)
	}
	return s.Store.ClaimDomain(ctx, sg.TenantID, NewClaim{Kind: Split, Domain: h, ServiceDomain: sv, Now: s.now()})
}

// Release gives up the signup's claim (to choose another) while no
// account lives on it.
func (s *Signups) Release(ctx context.Context, sg *Signup) error {
	if sg.Claim == nil {
		return nil
	}
	c, err := s.Store.ReleaseClaim(ctx, sg.TenantID, sg.Claim.Domain)
	if errs.Is(err, errs.NotFound) {
		return nil // released already: a re-submitted form
	}
	if err != nil {
		return err
	}
	if c.State != Pending {
		s.hostsChanged(ctx, c.Domain, c.ServiceDomain)
	}
	return nil
}

// Check checks the signup's pending claim now.
func (s *Signups) Check(ctx context.Context, sg *Signup) (*Claim, error) {
	if sg.Claim == nil {
		return nil, errs.E(errs.NotFound, "no domain claimed")
	}
	return s.Checker.CheckNow(ctx, sg.Claim.Domain)
}

func (s *Signups) hostsChanged(ctx context.Context, hosts ...string) {
	k := &Checker{Hosts: s.Hosts, Log: s.Log}
	k.hostsChanged(ctx, hosts...)
}
