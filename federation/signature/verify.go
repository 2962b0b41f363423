package signature

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-fed/httpsig"
	"github.com/roost-social/roost/internal/errs"
)

// Verify checks p's cryptographic signature over r's signed headers with
// pub: an *rsa.PublicKey verifies rsa-sha256 (PKCS#1 v1.5, SHA-256), also
// when the algorithm is hs2019 or absent; an ed25519.PublicKey verifies
// ed25519. It checks no policy: call Check first. An empty p.Headers means
// "date" alone, as the draft says. Failures are errs.Unauthorized.
//
// httpsig builds the signing string. Three of its habits are worked around
// here: it reads the Signature header itself with a comma-splitting parser,
// so it gets a header re-serialised from p; it takes "host" from the
// header map when one is there, so the map's Host is forced to r.Host; and
// it writes (request-target) from the decoded r.URL.Path, so it gets the
// escaped path that went over the wire. It also compares a signed
// (created) and (expires) with the wall clock (10 s of skew), on top of
// Check's window.
//
// An RFC 9421 Params (from Check) is verified over its signature base
// instead, without httpsig.
func Verify(r *http.Request, p *Params, pub crypto.PublicKey) error {
	if p != nil && p.Scheme == RFC9421 {
		return verify9421(r, p, pub)
	}
	if p == nil || r.URL == nil || r.Host == "" || !wellFormed(p) {
		return errs.E(errs.Unauthorized, "signature does not verify")
	}
	algo, err := verifyAlgorithm(p.Algorithm, pub)
	if err != nil {
		return err
	}
	h := r.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Del("Authorization")
	h["Host"] = []string{r.Host}
	h["Signature"] = []string{forHTTPSig(p)}
	shadow := &http.Request{Method: r.Method, URL: wireTarget(r.URL), Host: r.Host, Header: h}
	v, err := httpsig.NewVerifier(shadow)
	if err != nil {
		return errs.Wrap(errs.Unauthorized, err, "signature could not be checked")
	}
	if err := v.Verify(pub, algo); err != nil {
		return errs.Wrap(errs.Unauthorized, err, "signature does not verify")
	}
	return nil
}

// verifyAlgorithm picks httpsig's algorithm from the key, refusing a key
// that contradicts the declared algorithm and RSA keys below 1024 bits.
func verifyAlgorithm(declared string, pub crypto.PublicKey) (httpsig.Algorithm, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return "", errs.E(errs.Unauthorized, "signing key is too small")
		}
		if declared == "" || declared == "rsa-sha256" || declared == "hs2019" {
			return httpsig.RSA_SHA256, nil
		}
	case ed25519.PublicKey:
		if declared == "" || declared == "ed25519" || declared == "hs2019" {
			return httpsig.ED25519, nil
		}
	default:
		return "", errs.E(errs.Unauthorized, "signing key type is not supported")
	}
	return "", errs.E(errs.Unauthorized, "signature algorithm does not match the signing key")
}

// forHTTPSig renders p for httpsig's naive parser: the keyId (which the
// signing string never uses and may hold commas) becomes a placeholder,
// header names are tokens, and created/expires appear only when signed, so
// that httpsig's wall-clock checks apply only to values that matter.
func forHTTPSig(p *Params) string {
	var b strings.Builder
	b.WriteString(`keyId="k"`)
	if signed(p, Created) {
		b.WriteString(",created=" + strconv.FormatInt(p.Created, 10))
	}
	if signed(p, Expires) {
		b.WriteString(",expires=" + strconv.FormatInt(p.Expires, 10))
	}
	if len(p.Headers) > 0 {
		b.WriteString(`,headers="` + strings.Join(p.Headers, " ") + `"`)
	}
	b.WriteString(`,signature="` + p.Signature + `"`)
	return b.String()
}

// wellFormed reports whether p can be handed to httpsig unchanged in
// meaning: a Params built by hand (not by ParseHeader) could otherwise
// smuggle a quote and a second headers= into forHTTPSig's output.
func wellFormed(p *Params) bool {
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
	if p.Signature == "" || strings.Trim(p.Signature, b64) != "" {
		return false
	}
	for _, h := range p.Headers {
		if h != RequestTarget && h != Created && h != Expires && (!isToken(h) || h != strings.ToLower(h)) {
			return false
		}
	}
	return true
}

// wireTarget returns a URL whose Path is the escaped path as sent on the
// wire (and "/" for an empty one), since httpsig writes Path verbatim into
// (request-target) and senders sign what they send.
func wireTarget(u *url.URL) *url.URL {
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return &url.URL{Path: path, RawQuery: u.RawQuery}
}
