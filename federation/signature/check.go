package signature

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/roost-social/roost/internal/errs"
)

// The accepted age of a signed Date or (created): Mastodon's 12 hours back
// (deliveries are retried, queued requests keep their signature) and one
// hour of clock skew ahead.
const (
	MaxAge  = 12 * time.Hour
	MaxSkew = time.Hour
)

// maxSignatureLen bounds the decoded signature: 1 KiB is an 8192-bit RSA
// signature, the largest key we accept.
const maxSignatureLen = 1024

// Check enforces Roost's signature policy on r before any key is fetched:
// it is cheap and does no cryptography, so a stranger's junk costs nothing.
// It requires exactly one signature whose keyId is an absolute http(s) URL,
// an accepted algorithm, an explicit headers= list covering
// (request-target), host, date or (created), and digest when the request
// has a body; a signed Date within [now-MaxAge, now+MaxSkew]; and a Digest
// whose SHA-256 equals body's. The host signed is r.Host, which the caller
// sets from the real request. All failures are errs.Unauthorized with a
// client-safe message.
//
// A request carrying Signature-Input is an RFC 9421 signature and is held
// to the same rules in that scheme's terms (see check9421): the returned
// Params then has Scheme RFC9421, and Verify checks it accordingly.
func Check(r *http.Request, body []byte, now time.Time) (*Params, error) {
	if len(r.Header.Values("Signature-Input")) > 0 {
		return check9421(r, body, now)
	}
	raw, err := signatureValue(r.Header)
	if err != nil {
		return nil, err
	}
	p, err := ParseHeader(raw)
	if err != nil {
		return nil, err
	}
	if _, err := KeyHost(p.KeyID); err != nil {
		return nil, err
	}
	if !acceptedAlgorithm(p.Algorithm) {
		return nil, errs.E(errs.Unauthorized, "signature algorithm must be rsa-sha256, hs2019 or ed25519")
	}
	if err := checkCovered(r, p, body); err != nil {
		return nil, err
	}
	if err := checkTimes(r, p, now); err != nil {
		return nil, err
	}
	if signed(p, "digest") || len(body) > 0 {
		if err := checkDigest(r.Header, body); err != nil {
			return nil, err
		}
	}
	if sig, err := base64.StdEncoding.DecodeString(p.Signature); err != nil || len(sig) == 0 || len(sig) > maxSignatureLen {
		return nil, errs.E(errs.Unauthorized, "signature value is not valid base64")
	}
	return p, nil
}

// signatureValue finds the one signature on a request. Two (a Signature
// header and an Authorization: Signature, or either twice) are refused:
// which one a verifier picks would then decide what was "signed".
func signatureValue(h http.Header) (string, error) {
	found := h.Values("Signature")
	for _, a := range h.Values("Authorization") {
		scheme, rest, _ := strings.Cut(strings.TrimLeft(a, " \t"), " ")
		if strings.EqualFold(scheme, "Signature") {
			found = append(found, rest)
		}
	}
	switch len(found) {
	case 0:
		return "", errs.E(errs.Unauthorized, "request is not signed")
	case 1:
		return found[0], nil
	default:
		return "", errs.E(errs.Unauthorized, "request carries more than one signature")
	}
}

func acceptedAlgorithm(a string) bool {
	switch a {
	case "", "rsa-sha256", "hs2019", "ed25519":
		return true
	}
	return false
}

// hasBody reports whether r's method carries a body that must be signed
// through its Digest, even an empty one.
func hasBody(method string) bool {
	return method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch
}

func signed(p *Params, h string) bool {
	for _, s := range p.Headers {
		if s == h {
			return true
		}
	}
	return false
}

// checkCovered requires the headers that bind a signature to this request:
// without (request-target) and host it could be replayed to another path
// or tenant, without date it could be replayed forever, and without digest
// it says nothing about the body.
func checkCovered(r *http.Request, p *Params, body []byte) error {
	switch {
	case p.Headers == nil:
		return errs.E(errs.Unauthorized, "signature must list its signed headers")
	case !signed(p, RequestTarget):
		return errs.E(errs.Unauthorized, "signature is missing the (request-target) header")
	case !signed(p, "host"):
		return errs.E(errs.Unauthorized, "signature is missing the host header")
	case !signed(p, "date") && !signed(p, Created):
		return errs.E(errs.Unauthorized, "signature is missing the date header")
	case (hasBody(r.Method) || len(body) > 0) && !signed(p, "digest"):
		return errs.E(errs.Unauthorized, "signature is missing the digest header")
	case r.URL == nil:
		return errs.E(errs.Unauthorized, "request has no target")
	case r.Host == "":
		return errs.E(errs.Unauthorized, "request has no Host header")
	}
	for _, h := range p.Headers {
		if h == RequestTarget || h == Created || h == Expires || h == "host" {
			continue
		}
		if len(r.Header.Values(h)) == 0 {
			return errs.E(errs.Unauthorized, "signed header %s is missing", h)
		}
	}
	return nil
}

func checkTimes(r *http.Request, p *Params, now time.Time) error {
	if signed(p, "date") {
		ds := r.Header.Values("Date")
		if len(ds) != 1 {
			return errs.E(errs.Unauthorized, "request must carry exactly one Date header")
		}
		d, err := http.ParseTime(ds[0])
		if err != nil {
			return errs.E(errs.Unauthorized, "Date is not a valid HTTP date")
		}
		if !inWindow(d, now) {
			return errs.E(errs.Unauthorized, "Date is outside the accepted window")
		}
	}
	if signed(p, Created) {
		if p.Created == 0 {
			return errs.E(errs.Unauthorized, "signature is missing the created parameter")
		}
		if !inWindow(time.Unix(p.Created, 0), now) {
			return errs.E(errs.Unauthorized, "signature created time is outside the accepted window")
		}
	}
	if signed(p, Expires) && p.Expires == 0 {
		return errs.E(errs.Unauthorized, "signature is missing the expires parameter")
	}
	if p.Expires != 0 && now.Unix() > p.Expires {
		return errs.E(errs.Unauthorized, "signature has expired")
	}
	return nil
}

func inWindow(t, now time.Time) bool {
	return !t.Before(now.Add(-MaxAge)) && !t.After(now.Add(MaxSkew))
}

// checkDigest requires a SHA-256 entry in the Digest header (RFC 3230: a
// comma-separated list of algorithm=base64) equal to the body's hash.
// Digests in other algorithms alone are refused: we would have to trust
// what we do not compute.
func checkDigest(h http.Header, body []byte) error {
	vs := h.Values("Digest")
	if len(vs) == 0 {
		return errs.E(errs.Unauthorized, "request has no Digest header")
	}
	var want []byte
	for _, item := range strings.Split(strings.Join(vs, ","), ",") {
		alg, val, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(alg), "SHA-256") {
			continue
		}
		if want != nil {
			return errs.E(errs.Unauthorized, "Digest lists SHA-256 more than once")
		}
		d, err := base64.StdEncoding.DecodeString(strings.TrimSpace(val))
		if err != nil || len(d) != sha256.Size {
			return errs.E(errs.Unauthorized, "Digest SHA-256 value is malformed")
		}
		want = d
	}
	if want == nil {
		return errs.E(errs.Unauthorized, "Digest must include SHA-256")
	}
	got := sha256.Sum256(body)
	if subtle.ConstantTimeCompare(got[:], want) != 1 {
		return errs.E(errs.Unauthorized, "Digest does not match the body")
	}
	return nil
}
