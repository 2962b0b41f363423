package tenant

import (
	"net/mail"
	"strings"
	"time"

	"github.com/roost-social/roost/internal/errs"
	"golang.org/x/crypto/bcrypt"
)

// User is a login: an email and password that may own accounts on several
// domains and tenants.
type User struct {
	ID         int64
	Email      string
	IsOperator bool
	CreatedAt  time.Time
}

// bcryptCost is bcrypt's work factor: about 50 ms per hash on one core of
// the machines we run on, a login-time cost that stays cheap to verify.
const bcryptCost = 11

// HashPassword checks the password's length and returns its bcrypt hash.
func HashPassword(password string) (string, error) {
	if len(password) < 8 {
		return "", errs.E(errs.Invalid, "password must be at least 8 characters")
	}
	if len(password) > 72 {
		// bcrypt ignores bytes past 72; refuse rather than silently truncate.
		return "", errs.E(errs.Invalid, "password must be at most 72 bytes")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	return string(h), err
}

// CheckPassword reports whether password matches hash.
func CheckPassword(hash, password string) bool {
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
}

// NormalizeEmail validates an email address and returns it trimmed.
func NormalizeEmail(email string) (string, error) {
	email = strings.TrimSpace(email)
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || len(email) > 254 {
		return "", errs.E(errs.Invalid, "%q is not a valid email address", email)
	}
	return email, nil
}
