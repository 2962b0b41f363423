package signature

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/url"
	"strings"

	"github.com/roost-social/roost/internal/errs"
)

// RSA key sizes we accept. 1024 bits is weak but BookWyrm and Bridgy Fed
// still publish such keys; anything smaller is refused, and anything above
// 8192 bits only costs us verification time.
const (
	minRSABits = 1024
	maxRSABits = 8192
)

// ParsePublicKeyPEM parses an actor's publicKeyPem: PKIX "PUBLIC KEY"
// (RSA or Ed25519) or PKCS#1 "RSA PUBLIC KEY". RSA keys must have 1024 to
// 8192 bits. Failures are errs.Invalid.
func ParsePublicKeyPEM(s string) (crypto.PublicKey, error) {
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		return nil, errs.E(errs.Invalid, "public key is not PEM")
	}
	var pub any
	var err error
	switch b.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(b.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(b.Bytes)
	default:
		return nil, errs.E(errs.Invalid, "public key PEM must be PUBLIC KEY or RSA PUBLIC KEY")
	}
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "public key does not parse")
	}
	return checkKey(pub)
}

// ParsePrivateKeyPEM parses a private key in PKCS#1 ("RSA PRIVATE KEY")
// or PKCS#8 ("PRIVATE KEY", RSA or Ed25519) PEM, the two forms our own
// and imported accounts use. Failures are errs.Invalid.
func ParsePrivateKeyPEM(s string) (crypto.PrivateKey, error) {
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		return nil, errs.E(errs.Invalid, "private key is not PEM")
	}
	var key any
	var err error
	switch b.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	default:
		return nil, errs.E(errs.Invalid, "private key PEM must be RSA PRIVATE KEY or PRIVATE KEY")
	}
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "private key does not parse")
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if _, err := checkKey(&k.PublicKey); err != nil {
			return nil, err
		}
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, errs.E(errs.Invalid, "private key must be RSA or Ed25519")
}

func checkKey(pub any) (crypto.PublicKey, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < minRSABits || n > maxRSABits {
			return nil, errs.E(errs.Invalid, "RSA key must have 1024 to 8192 bits")
		}
		return k, nil
	case ed25519.PublicKey:
		return k, nil
	}
	return nil, errs.E(errs.Invalid, "public key must be RSA or Ed25519")
}

// KeyHost returns the host (lower case, with any port) of a keyId URL, for
// the rule that a signing key's host must be the activity actor's host. It
// refuses anything but an absolute http(s) URL with a host and no
// user info, which could make one host read as another. Failures are
// errs.Unauthorized.
func KeyHost(keyID string) (string, error) {
	u, err := url.Parse(keyID)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Opaque != "" ||
		u.User != nil || u.Host == "" || u.Hostname() == "" {
		return "", errs.E(errs.Unauthorized, "keyId must be an absolute http(s) URL")
	}
	return strings.ToLower(u.Host), nil
}
