package factor

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"io"
	"time"

	"github.com/roost-social/roost/internal/errs"
)

// Secrets and sign-in challenges are sealed with AES-256-GCM under the
// instance's factor key; each use has its own associated data, so a
// sealed secret is never taken for a challenge or the other way round.
const (
	adSecret    = "roost factor secret v1"
	adChallenge = "roost factor challenge v1"
)

func (s *Service) aead(ctx context.Context) (cipher.AEAD, error) {
	key, err := s.Store.Key(ctx)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "the factor key is malformed")
	}
	return cipher.NewGCM(block)
}

func (s *Service) sealWith(ctx context.Context, plain []byte, ad string) ([]byte, error) {
	aead, err := s.aead(ctx)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := io.ReadFull(s.random(), nonce); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "no randomness for a seal")
	}
	return aead.Seal(nonce, nonce, plain, []byte(ad)), nil
}

func (s *Service) openWith(ctx context.Context, sealed []byte, ad string) ([]byte, error) {
	aead, err := s.aead(ctx)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize() {
		return nil, errs.E(errs.Internal, "a sealed value is truncated")
	}
	return aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(ad))
}

func (s *Service) seal(ctx context.Context, secret string) ([]byte, error) {
	return s.sealWith(ctx, []byte(secret), adSecret)
}

func (s *Service) open(ctx context.Context, sealed []byte) (string, error) {
	b, err := s.openWith(ctx, sealed, adSecret)
	if err != nil {
		return "", errs.Wrap(errs.Internal, err, "a stored secret does not open")
	}
	return string(b), nil
}

// Challenge is the second step of a sign-in whose password was right:
// a token naming the account, the tenant and an expiry, sealed, which
// the code form carries instead of the password. It holds nothing a
// reader could use: without a code it signs nobody in.
func (s *Service) Challenge(ctx context.Context, tenantID, accountID int64) (string, error) {
	var b [24]byte
	binary.BigEndian.PutUint64(b[0:], uint64(tenantID))
	binary.BigEndian.PutUint64(b[8:], uint64(accountID))
	binary.BigEndian.PutUint64(b[16:], uint64(s.now().Add(ChallengeLifetime).Unix()))
	sealed, err := s.sealWith(ctx, b[:], adChallenge)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(sealed), nil
}

var errChallenge = errs.E(errs.Unauthorized, "The sign-in took too long or did not start here. Sign in again.")

// Opened returns the account a live challenge of tenantID names, so the
// caller can throttle code guesses per account before any is checked. An
// expired, foreign or altered challenge is errs.Unauthorized.
func (s *Service) Opened(ctx context.Context, tenantID int64, challenge string) (int64, error) {
	if len(challenge) > 200 {
		return 0, errChallenge
	}
	sealed, err := base64.RawURLEncoding.DecodeString(challenge)
	if err != nil {
		return 0, errChallenge
	}
	b, err := s.openWith(ctx, sealed, adChallenge)
	if err != nil || len(b) != 24 {
		return 0, errChallenge
	}
	tid, aid := int64(binary.BigEndian.Uint64(b[0:])), int64(binary.BigEndian.Uint64(b[8:]))
	if tid != tenantID || s.now().After(time.Unix(int64(binary.BigEndian.Uint64(b[16:])), 0)) {
		return 0, errChallenge
	}
	return aid, nil
}

// Answer checks a challenge of tenantID (as Opened) and the code typed
// for it (a current code or a recovery code, as Check) and returns the
// account to sign in.
func (s *Service) Answer(ctx context.Context, tenantID int64, challenge, code string) (int64, error) {
	aid, err := s.Opened(ctx, tenantID, challenge)
	if err != nil {
		return 0, err
	}
	if err := s.Check(ctx, aid, code); err != nil {
		return 0, err
	}
	return aid, nil
}
