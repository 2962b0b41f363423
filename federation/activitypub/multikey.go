package activitypub

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"

	"github.com/roost-social/roost/internal/errs"
)

// FEP-521a publishes keys as Multikey objects: publicKeyMultibase is "z"
// (base58btc) followed by a multicodec prefix and the raw key. We read the
// two codecs fediverse servers use: ed25519-pub (0xed, varint ed 01) and
// rsa-pub (0x1205, varint 85 24) with a PKCS#1 DER key.

// maxMultibase bounds the text decoded: base58 decoding is quadratic, and
// an 8192-bit RSA key needs about 1,450 characters.
const maxMultibase = 2048

// MultikeyPEM converts a publicKeyMultibase value into the PEM form the
// signature verifier reads: PKIX "PUBLIC KEY" for Ed25519, PKCS#1 "RSA
// PUBLIC KEY" for RSA. Failures are errs.Invalid.
func MultikeyPEM(multibase string) (string, error) {
	if len(multibase) < 2 || len(multibase) > maxMultibase || multibase[0] != 'z' {
		return "", errs.E(errs.Invalid, "publicKeyMultibase must be base58btc (z…)")
	}
	raw, ok := base58Decode(multibase[1:])
	if !ok {
		return "", errs.E(errs.Invalid, "publicKeyMultibase is not valid base58")
	}
	switch {
	case len(raw) == 2+ed25519.PublicKeySize && raw[0] == 0xed && raw[1] == 0x01:
		der, err := x509.MarshalPKIXPublicKey(ed25519.PublicKey(raw[2:]))
		if err != nil {
			return "", errs.Wrap(errs.Invalid, err, "Ed25519 multikey does not encode")
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
	case len(raw) > 2 && raw[0] == 0x85 && raw[1] == 0x24:
		if _, err := x509.ParsePKCS1PublicKey(raw[2:]); err != nil {
			return "", errs.Wrap(errs.Invalid, err, "RSA multikey does not parse")
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: raw[2:]})), nil
	}
	return "", errs.E(errs.Invalid, "multikey type is not Ed25519 or RSA")
}

const base58Alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

var base58Index = func() (idx [256]int8) {
	for i := range idx {
		idx[i] = -1
	}
	for i := 0; i < len(base58Alphabet); i++ {
		idx[base58Alphabet[i]] = int8(i)
	}
	return idx
}()

// base58Decode decodes Bitcoin-alphabet base58: each leading '1' is a zero
// byte, the rest a big-endian number.
func base58Decode(s string) ([]byte, bool) {
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	var num []byte // little-endian
	for i := zeros; i < len(s); i++ {
		carry := int(base58Index[s[i]])
		if carry < 0 {
			return nil, false
		}
		for j := range num {
			carry += int(num[j]) * 58
			num[j] = byte(carry)
			carry >>= 8
		}
		for ; carry > 0; carry >>= 8 {
			num = append(num, byte(carry))
		}
	}
	out := make([]byte, zeros+len(num))
	for i, b := range num {
		out[len(out)-1-i] = b
	}
	return out, true
}
