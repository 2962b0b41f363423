// Package factor is two-factor sign-in (TOTP, RFC 6238) of a tenant's
// local accounts: enrolling an authenticator app (a secret shown once as
// an otpauth URI and QR code, active only once a code from it is
// entered), one-time recovery codes, switching it off, and the second
// step of every sign-in on the tenant's pages — the web app's and the
// OAuth authorization page's.
//
// Secrets are stored sealed (AES-256-GCM under the instance's factor key,
// kept in a table of its own), recovery codes hashed: a copy of the
// factors table alone signs nobody in. Each time step is spent once, so
// a code seen over someone's shoulder does not work a second time.
package factor

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/roost-social/roost/internal/errs"
)

// RecoveryCodes is how many recovery codes an enrolment gives.
const RecoveryCodes = 10

// ChallengeLifetime is how long the second step of a sign-in waits for
// its code after the password was accepted.
const ChallengeLifetime = 5 * time.Minute

// Stored is an account's factor as the Store keeps it.
type Stored struct {
	// Secret is the active secret, sealed; nil: two-factor sign-in off.
	Secret []byte
	// Pending is a secret being enrolled, sealed; nil when none.
	Pending []byte
	// Recovery are the unused recovery codes' SHA-256 hashes.
	Recovery [][]byte
	// LastStep is the last time step a code was accepted for.
	LastStep int64
}

// Store keeps factors by local account. Implementations scope nothing
// by tenant themselves: callers pass the signed-in account only.
type Store interface {
	// Key returns the instance's 32-byte sealing key, making it on first use.
	Key(ctx context.Context) ([]byte, error)
	// Factor returns the account's factor; a zero Stored when it has none.
	Factor(ctx context.Context, accountID int64) (Stored, error)
	// SetPending stores a secret being enrolled (sealed).
	SetPending(ctx context.Context, accountID int64, sealed []byte) error
	// Activate makes the pending secret the active one with the recovery
	// code hashes, spending step; false (nothing changed) when no secret
	// is pending or step was spent already.
	Activate(ctx context.Context, accountID, step int64, recovery [][]byte) (bool, error)
	// SpendStep records step as used; false when it (or a later one) was.
	SpendStep(ctx context.Context, accountID, step int64) (bool, error)
	// SpendRecovery removes one recovery code by hash; false when it is
	// not one of the account's.
	SpendRecovery(ctx context.Context, accountID int64, hash []byte) (bool, error)
	// Remove switches two-factor sign-in off: secrets and codes deleted.
	Remove(ctx context.Context, accountID int64) error
}

// Service is the use case.
type Service struct {
	Store Store
	// Now is the clock of codes and challenges; nil is time.Now.
	Now func() time.Time
	// Random is the source of secrets and codes; nil is crypto/rand.
	Random io.Reader
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) random() io.Reader {
	if s.Random != nil {
		return s.Random
	}
	return rand.Reader
}

// Status is what the settings page shows.
type Status struct {
	Enabled bool
	// Enrolment is the secret being enrolled; nil when none.
	Enrolment *Enrolment
	// RecoveryLeft is how many recovery codes are unused.
	RecoveryLeft int
}

// Enrolment is a secret to put into an authenticator app.
type Enrolment struct {
	Secret string // base32, as apps take it typed
	URI    string // otpauth://totp/…, as apps take it scanned
}

// Status returns the account's state; issuer and name label the secret
// being enrolled (the site and the account's handle).
func (s *Service) Status(ctx context.Context, accountID int64, issuer, name string) (Status, error) {
	f, err := s.Store.Factor(ctx, accountID)
	if err != nil {
		return Status{}, err
	}
	st := Status{Enabled: f.Secret != nil, RecoveryLeft: len(f.Recovery)}
	if f.Pending != nil {
		secret, err := s.open(ctx, f.Pending)
		if err != nil {
			return Status{}, err
		}
		st.Enrolment = &Enrolment{Secret: secret, URI: keyURI(issuer, name, secret)}
	}
	return st, nil
}

// Begin makes a new secret to enrol (replacing one pending); it signs
// nothing in until Confirm.
func (s *Service) Begin(ctx context.Context, accountID int64) error {
	b := make([]byte, 20) // 160 bits, RFC 4226's recommendation
	if _, err := io.ReadFull(s.random(), b); err != nil {
		return errs.Wrap(errs.Internal, err, "no randomness for a secret")
	}
	sealed, err := s.seal(ctx, base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
	if err != nil {
		return err
	}
	return s.Store.SetPending(ctx, accountID, sealed)
}

var errCode = errs.E(errs.Invalid, "That code is wrong or was already used. Enter the current one.")

// Confirm activates the pending secret with a code from it and returns
// the recovery codes, shown this once.
func (s *Service) Confirm(ctx context.Context, accountID int64, code string) ([]string, error) {
	f, err := s.Store.Factor(ctx, accountID)
	if err != nil {
		return nil, err
	}
	if f.Pending == nil {
		return nil, errs.E(errs.Invalid, "Start the set-up first: no secret is waiting for a code.")
	}
	secret, err := s.open(ctx, f.Pending)
	if err != nil {
		return nil, err
	}
	step, ok := checkCode(secret, code, s.now())
	if !ok {
		return nil, errCode
	}
	codes, hashes, err := s.recoveryCodes()
	if err != nil {
		return nil, err
	}
	ok, err = s.Store.Activate(ctx, accountID, step, hashes)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errCode
	}
	return codes, nil
}

// Disable switches two-factor sign-in off; it takes a current code or a
// recovery code, so a session left open is not enough to remove it.
func (s *Service) Disable(ctx context.Context, accountID int64, code string) error {
	if err := s.Check(ctx, accountID, code); err != nil {
		return err
	}
	return s.Store.Remove(ctx, accountID)
}

// Required reports whether the account signs in with a second factor.
func (s *Service) Required(ctx context.Context, accountID int64) (bool, error) {
	f, err := s.Store.Factor(ctx, accountID)
	return f.Secret != nil, err
}

// Check accepts a current code of the active secret (once) or one of
// the recovery codes (spent). Anything else is errs.Unauthorized.
func (s *Service) Check(ctx context.Context, accountID int64, code string) error {
	f, err := s.Store.Factor(ctx, accountID)
	if err != nil {
		return err
	}
	if f.Secret == nil {
		return errs.E(errs.Invalid, "Two-factor sign-in is not on.")
	}
	secret, err := s.open(ctx, f.Secret)
	if err != nil {
		return err
	}
	ok := false
	if step, valid := checkCode(secret, code, s.now()); valid {
		ok, err = s.Store.SpendStep(ctx, accountID, step)
	} else if c := normalRecovery(code); len(c) == recoveryLen {
		ok, err = s.Store.SpendRecovery(ctx, accountID, hashCode(c))
	}
	if err != nil {
		return err
	}
	if !ok {
		return errs.E(errs.Unauthorized, "That code is wrong or was already used.")
	}
	return nil
}

// TOTP parameters: RFC 6238's defaults, which every authenticator app reads.
var totpOpts = totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// checkCode returns the time step a 6-digit code is valid for, allowing
// one step of clock drift either way; the caller spends the step.
func checkCode(secret, code string, now time.Time) (int64, bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if secret == "" || len(code) != 6 {
		return 0, false
	}
	for _, skew := range []time.Duration{0, -30 * time.Second, 30 * time.Second} {
		t := now.Add(skew)
		want, err := totp.GenerateCodeCustom(secret, t, totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return t.Unix() / 30, true
		}
	}
	return 0, false
}

// keyURI is the secret's otpauth URI (Google Authenticator's key URI format).
func keyURI(issuer, name, secret string) string {
	q := url.Values{"secret": {secret}, "issuer": {issuer}, "algorithm": {"SHA1"}, "digits": {"6"}, "period": {"30"}}
	return (&url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + issuer + ":" + name, RawQuery: q.Encode()}).String()
}

// Recovery codes: 10 characters of a lowercase alphabet without look-alikes.
const (
	recoveryLen      = 10
	recoveryAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"
)

func (s *Service) recoveryCodes() (codes []string, hashes [][]byte, err error) {
	b := make([]byte, RecoveryCodes*recoveryLen)
	if _, err := io.ReadFull(s.random(), b); err != nil {
		return nil, nil, errs.Wrap(errs.Internal, err, "no randomness for recovery codes")
	}
	for i := 0; i < RecoveryCodes; i++ {
		c := make([]byte, recoveryLen)
		for j := range c {
			// 256 % 31 skews the first few letters slightly; 50 bits
			// remain far beyond guessing under the sign-in throttle.
			c[j] = recoveryAlphabet[int(b[i*recoveryLen+j])%len(recoveryAlphabet)]
		}
		codes = append(codes, string(c[:5])+"-"+string(c[5:]))
		hashes = append(hashes, hashCode(string(c)))
	}
	return codes, hashes, nil
}

// normalRecovery is a typed recovery code without spaces, dashes or case.
func normalRecovery(code string) string {
	return strings.ToLower(strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(code)))
}

func hashCode(c string) []byte {
	h := sha256.Sum256([]byte(c))
	return h[:]
}
