package signature

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-fed/httpsig"
)

// Sign signs an outgoing request as Mastodon does (draft-cavage, rsa-sha256
// for RSA keys). It sets Date to now, Host to r.URL.Host unless r.Host is
// set, and for a request with a body (body non-nil) Digest: SHA-256=...,
// signing "(request-target) host date digest content-type"; a request
// without one signs "(request-target) host date accept" when Accept is
// set, else "(request-target) host date". key is an *rsa.PrivateKey or an
// ed25519.PrivateKey. Errors are ours, not a peer's: they carry no errs
// code.
func Sign(r *http.Request, body []byte, keyID string, key crypto.PrivateKey, now time.Time) error {
	return signCavage(r, DigestOf(body), keyID, key, now)
}

// Digest is the SHA-256 of a request body. A fan-out sends one body to
// every inbox: its digest is computed once (DigestOf) and each delivery's
// signature reuses it (SignDigest) instead of hashing the body again.
type Digest [sha256.Size]byte

// DigestOf is body's digest, nil for a request without a body (body nil).
func DigestOf(body []byte) *Digest {
	if body == nil {
		return nil
	}
	d := Digest(sha256.Sum256(body))
	return &d
}

// signCavage is Sign with the body's digest computed (nil: no body).
func signCavage(r *http.Request, digest *Digest, keyID string, key crypto.PrivateKey, now time.Time) error {
	if r.URL == nil {
		return errors.New("signature: request has no URL")
	}
	if r.Host == "" {
		r.Host = r.URL.Host
	}
	// A request re-signed after an RFC 9421 attempt must not keep its
	// Signature-Input: receivers would read the cavage Signature as 9421.
	r.Header.Del("Signature-Input")
	r.Header.Set("Date", now.UTC().Format(http.TimeFormat))
	headers := []string{RequestTarget, "host", "date"}
	if digest != nil {
		if r.Header.Get("Content-Type") == "" {
			return errors.New("signature: a request with a body needs a Content-Type")
		}
		r.Header.Set("Digest", "SHA-256="+base64.StdEncoding.EncodeToString(digest[:]))
		headers = append(headers, "digest", "content-type")
	} else if r.Header.Get("Accept") != "" {
		headers = append(headers, "accept")
	}
	return sign(r, keyID, key, headers)
}

// sign signs headers of r as they stand. Tests use it to sign lists and
// Date values Sign would never produce.
func sign(r *http.Request, keyID string, key crypto.PrivateKey, headers []string) error {
	if r.URL == nil || r.Host == "" {
		return errors.New("signature: request has no host")
	}
	if r.URL.Opaque != "" {
		return errors.New("signature: request URL must not be opaque")
	}
	// Peers parse keyId with parsers as naive as httpsig's: keep it free of
	// anything that could end or split the value.
	if _, err := KeyHost(keyID); err != nil || strings.ContainsAny(keyID, "\",\\ ") {
		return fmt.Errorf("signature: keyId %q is not a plain absolute http(s) URL", keyID)
	}
	var algo httpsig.Algorithm
	var name string
	switch key.(type) {
	case *rsa.PrivateKey:
		algo, name = httpsig.RSA_SHA256, "rsa-sha256"
	case ed25519.PrivateKey:
		algo, name = httpsig.ED25519, "hs2019"
	default:
		return fmt.Errorf("signature: cannot sign with a %T", key)
	}
	signer, got, err := httpsig.NewSigner([]httpsig.Algorithm{algo}, httpsig.DigestSha256, headers, httpsig.Signature, 0)
	if err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	if got != algo {
		return fmt.Errorf("signature: %s is not available", algo)
	}
	// httpsig reads "host" from the header map, where a client request has
	// none, and appends its Signature to any stale one: sign a copy.
	h := r.Header.Clone()
	h.Del("Signature")
	h["Host"] = []string{r.Host}
	shadow := &http.Request{Method: r.Method, URL: wireTarget(r.URL), Host: r.Host, Header: h}
	if err := signer.SignRequest(key, keyID, shadow, nil); err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	// httpsig always writes algorithm="hs2019"; Mastodon-era peers expect
	// the explicit name, so re-serialise with it.
	p, err := ParseHeader(shadow.Header.Get("Signature"))
	if err != nil {
		return fmt.Errorf("signature: httpsig wrote an unparsable header: %w", err)
	}
	p.Algorithm = name
	r.Header.Set("Signature", p.String())
	return nil
}
