package push

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"io"

	"github.com/roost-social/roost/federation"
	"github.com/roost-social/roost/internal/errs"
)

// Access tokens are stored hashed; a push payload carries the token in
// the clear (Mastodon's access_token: web apps find the signed-in account
// a push is for by it), so a subscription keeps its token sealed with
// AES-256-GCM under a key derived from the VAPID private key. A copy of
// push_subscriptions alone (a log, a partial dump) reveals no token.

const sealInfo = "roost web push access token v1"

func sealer(keys federation.VAPIDKeys) (cipher.AEAD, error) {
	secret, err := b64.DecodeString(keys.Private)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "the VAPID private key is malformed")
	}
	key, err := hkdf.Key(sha256.New, secret, nil, sealInfo, 32)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "the token key could not be derived")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, errs.Wrap(errs.Internal, err, "the token key could not be made")
	}
	return cipher.NewGCM(block)
}

// seal returns nonce ‖ ciphertext of token.
func seal(keys federation.VAPIDKeys, token string, random io.Reader) ([]byte, error) {
	aead, err := sealer(keys)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(token)+aead.Overhead())
	if _, err := io.ReadFull(random, nonce); err != nil {
		return nil, errs.Wrap(errs.Internal, err, "no randomness for the token seal")
	}
	return aead.Seal(nonce, nonce, []byte(token), nil), nil
}

// unseal opens what seal made.
func unseal(keys federation.VAPIDKeys, sealed []byte) (string, error) {
	aead, err := sealer(keys)
	if err != nil {
		return "", err
	}
	if len(sealed) < aead.NonceSize() {
		return "", errs.E(errs.Internal, "the sealed token is truncated")
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], nil)
	if err != nil {
		return "", errs.Wrap(errs.Internal, err, "the sealed token does not open")
	}
	return string(plain), nil
}
