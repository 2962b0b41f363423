// Package federation holds the domain types of Roost's social web —
// accounts (local and remote), statuses, follows, lists, filters, polls,
// reports, notifications and the views the client API reads — and the
// ports (interfaces) through which its use cases (federation/social/...,
// federation/portability) and its ActivityPub machinery (inbox, outbox,
// delivery, actors, fetch, signature, activitypub) reach storage and each
// other. It holds no logic beyond validating its own values, and depends
// on nothing of ours but internal/errs; storage is federation/postgres.
package federation

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/roost-social/roost/internal/errs"
)

// Account is an actor: a local account (TenantID set, @Username@Domain on
// one of its tenant's domains) or a remote actor cached for every tenant
// (TenantID zero, URI and endpoints set).
type Account struct {
	ID            int64
	TenantID      int64  // zero for remote actors
	Domain        string // handle domain; a remote actor's host
	Username      string
	DisplayName   string
	Note          string // plain text as typed by its owner
	AvatarURL     string
	HeaderURL     string
	Locked        bool // follow requests need approval
	Discoverable  bool
	Bot           bool
	PublicKeyPEM  string
	PrivateKeyPEM string // local only; never rendered; signs this actor's requests
	CreatedAt     time.Time
	// AlsoKnownAs (aliases) and MovedTo are a local account's move state.
	AlsoKnownAs []string
	MovedTo     string
	// Fields are the profile's name/value pairs.
	Fields []Field
	Remote *RemoteInfo // nil for local accounts
}

// Field is one profile field; VerifiedAt is set when its value links to a
// page that links back with rel="me".
type Field struct {
	Name       string     `json:"name"`
	Value      string     `json:"value"`
	VerifiedAt *time.Time `json:"verified_at,omitempty"`
}

// RemoteInfo is what we know of a remote actor's document.
type RemoteInfo struct {
	URI         string
	KeyID       string
	URL         string
	Inbox       string
	SharedInbox string
	Outbox      string
	Followers   string
	Following   string
	Type        string
	FetchedAt   time.Time
	// AlsoKnownAs and MovedTo come from the document as fetched (stored
	// with it); a verified Move sets MovedTo too.
	AlsoKnownAs []string
	MovedTo     string
	// Emojis are the custom emojis of the actor's name, note and fields,
	// as its server sent them (accounts.emojis).
	Emojis []RemoteEmoji
}

// Local reports whether a is hosted here.
func (a *Account) Local() bool { return a.TenantID != 0 }

// NewAccount is what creating an account needs.
type NewAccount struct {
	TenantID    int64
	Domain      string
	Username    string
	DisplayName string
	Email       string // the owning login; created when new
	// PasswordHash is the owning login's bcrypt hash (see tenant.HashPassword).
	// When the login already exists, Password is checked against it instead.
	PasswordHash string
	Password     string
	Keys         KeyPair
}

// Usage is a tenant's activity as NodeInfo reports it.
type Usage struct {
	Users int64
	// Statuses are the tenant's local posts; Domains the remote servers
	// its accounts are connected to; ActiveMonth the accounts that posted
	// in the last 30 days.
	Statuses    int64
	Domains     int64
	ActiveMonth int64
}

// AccountStore persists local accounts. Every method is scoped by tenant.
// Implementations MUST be safe for concurrent use.
type AccountStore interface {
	// CreateAccount creates the account and its owning login (or attaches
	// it to the existing login with that email) in one transaction.
	CreateAccount(ctx context.Context, a NewAccount) (*Account, error)
	// AccountByUsername finds an account on one of the tenant's domains,
	// case-insensitively, or returns errs.NotFound.
	AccountByUsername(ctx context.Context, tenantID int64, domain, username string) (*Account, error)
	// Usage counts the tenant's accounts.
	Usage(ctx context.Context, tenantID int64) (Usage, error)
	// SetAliases replaces a local account's alsoKnownAs.
	SetAliases(ctx context.Context, accountID int64, aliases []string) error
	// SetMovedTo records where a local account moved.
	SetMovedTo(ctx context.Context, accountID int64, uri string) error
}

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9_]{1,30}$`)

// ValidUsername reports whether u is a valid local username: 1–30 letters,
// digits or underscores, as Mastodon allows.
func ValidUsername(u string) bool { return usernameRE.MatchString(u) }

// KeyPair is an actor's RSA key pair in PEM.
type KeyPair struct {
	PublicPEM  string
	PrivatePEM string
}

// GenerateKeyPair makes an RSA-2048 key pair, the size the fediverse
// expects (PKIX public key, PKCS#1 private key).
func GenerateKeyPair() (KeyPair, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return KeyPair{}, fmt.Errorf("generate key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return KeyPair{}, err
	}
	return KeyPair{
		PublicPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})),
		PrivatePEM: string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})),
	}, nil
}

// Validate checks a NewAccount's fields, normalising the username's
// surrounding space.
func (a *NewAccount) Validate() error {
	a.Username = strings.TrimSpace(a.Username)
	if !ValidUsername(a.Username) {
		return errs.E(errs.Invalid, "username must be 1 to 30 letters, digits or underscores")
	}
	if len([]rune(a.DisplayName)) > 100 {
		return errs.E(errs.Invalid, "display name must be at most 100 characters")
	}
	if !strings.Contains(a.Email, "@") {
		return errs.E(errs.Invalid, "the owning login needs an email address")
	}
	if a.PasswordHash == "" || a.Password == "" {
		return errs.E(errs.Invalid, "the owning login needs a password")
	}
	if a.Keys.PublicPEM == "" || a.Keys.PrivatePEM == "" {
		return errs.E(errs.Invalid, "account needs a key pair")
	}
	return nil
}
