package signature

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/roost-social/roost/internal/errs"
)

// RFC 9421 (HTTP Message Signatures) is the successor of draft-cavage that
// Mastodon 4.5 speaks. No Go library for it is available to us, so it is
// implemented here over our own RFC 8941 parser (sfv.go): Check9421 is the
// cheap policy step, verify9421 the cryptography, both reached through
// Check and Verify so that every caller accepts either scheme.

// The RFC 9421 algorithms we verify. hmac-sha256 needs a shared secret and
// ECDSA keys are not published by fediverse actors: both are refused.
const (
	AlgRSAv15SHA256 = "rsa-v1_5-sha256"
	AlgRSAPSSSHA512 = "rsa-pss-sha512"
	AlgEd25519      = "ed25519"
)

// rfcSig is the RFC 9421 part of a Params: what the signature base is
// rebuilt from.
type rfcSig struct {
	label      string
	components []sfItem  // covered component identifiers, in signed order
	params     []sfParam // signature parameters, in received order
	sig        []byte
}

// covers reports whether name is a covered component.
func (s *rfcSig) covers(name string) bool {
	for _, c := range s.components {
		if c.str == name {
			return true
		}
	}
	return false
}

// check9421 is Check for a request carrying Signature-Input: exactly one
// signature; keyid an absolute http(s) URL; an accepted alg, if named;
// created within [now-MaxAge, now+MaxSkew] and expires not past; covered
// components binding method, authority, path and query (as cavage's
// (request-target) and host do) and, for a request with a body,
// content-digest, whose Content-Digest must match the body.
func check9421(r *http.Request, body []byte, now time.Time) (*Params, error) {
	if len(r.Header.Values("Authorization")) > 0 && hasAuthSignature(r.Header) {
		return nil, errs.E(errs.Unauthorized, "request carries more than one signature")
	}
	s, err := parse9421(r.Header)
	if err != nil {
		return nil, err
	}
	p := &Params{Scheme: RFC9421, rfc: s, Signature: base64.StdEncoding.EncodeToString(s.sig)}
	if err := p.take9421Params(); err != nil {
		return nil, err
	}
	if err := checkComponents(r, s, body); err != nil {
		return nil, err
	}
	if err := check9421Times(p, now); err != nil {
		return nil, err
	}
	if hasBody(r.Method) || len(body) > 0 {
		if err := checkContentDigest(r.Header, body); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func hasAuthSignature(h http.Header) bool {
	for _, a := range h.Values("Authorization") {
		scheme, _, _ := strings.Cut(strings.TrimLeft(a, " \t"), " ")
		if strings.EqualFold(scheme, "Signature") {
			return true
		}
	}
	return false
}

// parse9421 reads the one signature of Signature-Input and Signature. More
// than one label is refused, as two cavage signatures are: which one a
// verifier picks would decide what was "signed".
func parse9421(h http.Header) (*rfcSig, error) {
	in := strings.Join(h.Values("Signature-Input"), ", ")
	sg := strings.Join(h.Values("Signature"), ", ")
	if len(in) > MaxHeaderLen || len(sg) > MaxHeaderLen {
		return nil, errs.E(errs.Unauthorized, "Signature-Input or Signature header is too long")
	}
	inputs, ok := parseDictionary(in)
	if !ok {
		return nil, errs.E(errs.Unauthorized, "Signature-Input header is malformed")
	}
	sigs, ok := parseDictionary(sg)
	if !ok {
		return nil, errs.E(errs.Unauthorized, "Signature header is malformed")
	}
	if len(inputs) != 1 || len(sigs) != 1 {
		return nil, errs.E(errs.Unauthorized, "request must carry exactly one signature")
	}
	input, sig := inputs[0], sigs[0]
	switch {
	case input.key != sig.key:
		return nil, errs.E(errs.Unauthorized, "Signature and Signature-Input name different signatures")
	case !input.list:
		return nil, errs.E(errs.Unauthorized, "Signature-Input must be an inner list of components")
	case sig.list || sig.item.kind != sfBytes || len(sig.item.bytes) == 0 || len(sig.item.bytes) > maxSignatureLen:
		return nil, errs.E(errs.Unauthorized, "signature value is not a valid byte sequence")
	}
	return &rfcSig{label: input.key, components: input.inner, params: input.item.params, sig: sig.item.bytes}, nil
}

// take9421Params copies keyid, alg, created and expires into p, checking
// their types and the keyid and alg policy.
func (p *Params) take9421Params() error {
	for _, q := range p.rfc.params {
		var ok bool
		switch q.key {
		case "keyid":
			p.KeyID, ok = q.val.str, q.val.kind == sfString
		case "alg":
			p.Algorithm, ok = q.val.str, q.val.kind == sfString
		case "created":
			p.Created, ok = q.val.num, q.val.kind == sfInteger && q.val.num > 0
		case "expires":
			p.Expires, ok = q.val.num, q.val.kind == sfInteger && q.val.num > 0
		default:
			ok = true // nonce, tag and others are signed, not interpreted
		}
		if !ok {
			return errs.E(errs.Unauthorized, "signature parameter %s has the wrong type", q.key)
		}
	}
	if p.KeyID == "" {
		return errs.E(errs.Unauthorized, "signature has no keyid")
	}
	if _, err := KeyHost(p.KeyID); err != nil {
		return err
	}
	switch p.Algorithm {
	case "", AlgRSAv15SHA256, AlgRSAPSSSHA512, AlgEd25519:
		return nil
	}
	return errs.E(errs.Unauthorized, "signature algorithm must be rsa-v1_5-sha256, rsa-pss-sha512 or ed25519")
}

// check9421Times applies cavage's Date window to created, which RFC 9421
// leaves optional and we require: without it a signature is valid forever.
func check9421Times(p *Params, now time.Time) error {
	if p.Created == 0 {
		return errs.E(errs.Unauthorized, "signature is missing the created parameter")
	}
	if !inWindow(time.Unix(p.Created, 0), now) {
		return errs.E(errs.Unauthorized, "signature created time is outside the accepted window")
	}
	if p.Expires != 0 && now.Unix() > p.Expires {
		return errs.E(errs.Unauthorized, "signature has expired")
	}
	return nil
}

// derived lists the derived components we can rebuild for a request.
var derived = map[string]bool{
	"@method": true, "@target-uri": true, "@authority": true, "@scheme": true,
	"@request-target": true, "@path": true, "@query": true, "@query-param": true,
}

// checkComponents refuses components we cannot rebuild exactly and
// requires those that bind the signature to this request: without the
// method, authority, path and query it could be replayed to another
// endpoint or tenant, and without content-digest it says nothing about
// the body.
func checkComponents(r *http.Request, s *rfcSig, body []byte) error {
	if r.URL == nil || r.Host == "" {
		return errs.E(errs.Unauthorized, "request has no target or Host")
	}
	seen := map[string]bool{}
	for _, c := range s.components {
		if err := checkComponent(r, c); err != nil {
			return err
		}
		var b strings.Builder
		c.serialize(&b)
		if seen[b.String()] {
			return errs.E(errs.Unauthorized, "signature covers a component twice")
		}
		seen[b.String()] = true
	}
	has := s.covers
	switch {
	case !has("@method"):
		return errs.E(errs.Unauthorized, "signature must cover @method")
	case !has("@target-uri") && !has("@authority"):
		return errs.E(errs.Unauthorized, "signature must cover @target-uri or @authority")
	case !has("@target-uri") && !has("@request-target") && !has("@path"):
		return errs.E(errs.Unauthorized, "signature must cover @target-uri or @path")
	case r.URL.RawQuery != "" && !has("@target-uri") && !has("@request-target") && !has("@query"):
		return errs.E(errs.Unauthorized, "signature must cover the query")
	case (hasBody(r.Method) || len(body) > 0) && !has("content-digest"):
		return errs.E(errs.Unauthorized, "signature must cover content-digest")
	}
	return nil
}

func checkComponent(r *http.Request, c sfItem) error {
	if c.kind != sfString || c.str == "" {
		return errs.E(errs.Unauthorized, "signature component is not a string")
	}
	if strings.HasPrefix(c.str, "@") {
		if !derived[c.str] {
			return errs.E(errs.Unauthorized, "signature component %s is not supported", c.str)
		}
		if c.str == "@query-param" {
			if len(c.params) != 1 || c.params[0].key != "name" || c.params[0].val.kind != sfString {
				return errs.E(errs.Unauthorized, "@query-param needs exactly a name parameter")
			}
		} else if len(c.params) > 0 {
			return errs.E(errs.Unauthorized, "signature component parameters are not supported")
		}
		return nil
	}
	if !isToken(c.str) || c.str != strings.ToLower(c.str) {
		return errs.E(errs.Unauthorized, "signature component %q is not a lower-case field name", c.str)
	}
	if len(c.params) > 0 {
		return errs.E(errs.Unauthorized, "signature component parameters are not supported")
	}
	if c.str == "host" {
		return nil // net/http moves Host out of the header map: r.Host
	}
	if len(r.Header.Values(c.str)) == 0 {
		return errs.E(errs.Unauthorized, "signed header %s is missing", c.str)
	}
	return nil
}

// checkContentDigest requires a Content-Digest (RFC 9530) with a sha-256
// or sha-512 entry, and every such entry to match body. Other algorithms
// are ignored, as RFC 9530 allows; alone they are refused, since we would
// have to trust what we do not compute.
func checkContentDigest(h http.Header, body []byte) error {
	vs := h.Values("Content-Digest")
	if len(vs) == 0 {
		return errs.E(errs.Unauthorized, "request has no Content-Digest header")
	}
	members, ok := parseDictionary(strings.Join(vs, ", "))
	if !ok {
		return errs.E(errs.Unauthorized, "Content-Digest header is malformed")
	}
	checked := false
	for _, m := range members {
		var got []byte
		switch m.key {
		case "sha-256":
			s := sha256.Sum256(body)
			got = s[:]
		case "sha-512":
			s := sha512.Sum512(body)
			got = s[:]
		default:
			continue
		}
		if m.list || m.item.kind != sfBytes {
			return errs.E(errs.Unauthorized, "Content-Digest %s value is malformed", m.key)
		}
		if subtle.ConstantTimeCompare(got, m.item.bytes) != 1 {
			return errs.E(errs.Unauthorized, "Content-Digest does not match the body")
		}
		checked = true
	}
	if !checked {
		return errs.E(errs.Unauthorized, "Content-Digest must include sha-256 or sha-512")
	}
	return nil
}

// verify9421 is Verify for an RFC 9421 signature. A server-side request
// does not say whether it came over TLS when r.TLS is unset and its URL has
// no scheme; a signature covering @target-uri or @scheme is then tried
// with https (what federation uses) and, failing that, http.
func verify9421(r *http.Request, p *Params, pub crypto.PublicKey) error {
	if p.rfc == nil || r.URL == nil || r.Host == "" {
		return errs.E(errs.Unauthorized, "signature does not verify")
	}
	if k, ok := pub.(*rsa.PublicKey); ok && k.N.BitLen() < minRSABits {
		return errs.E(errs.Unauthorized, "signing key is too small")
	}
	schemes := []string{r.URL.Scheme}
	if schemes[0] == "" {
		switch {
		case r.TLS != nil:
			schemes[0] = "https"
		case p.rfc.covers("@target-uri") || p.rfc.covers("@scheme"):
			schemes = []string{"https", "http"}
		default:
			schemes[0] = "https"
		}
	}
	var err error
	for _, scheme := range schemes {
		var base string
		if base, err = signatureBase(r, p.rfc, scheme); err != nil {
			return err
		}
		if err = verifyBase(base, p.Algorithm, p.rfc.sig, pub); err == nil {
			return nil
		}
	}
	return err
}

// verifyBase checks sig over base with pub. Without alg the key decides:
// Ed25519, or for RSA PKCS#1 v1.5 with SHA-256 (what fediverse servers
// sign with) and then PSS with SHA-512 (the RFC's RSA examples).
func verifyBase(base, alg string, sig []byte, pub crypto.PublicKey) error {
	bad := errs.E(errs.Unauthorized, "signature does not verify")
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if alg != "" && alg != AlgEd25519 {
			break
		}
		if !ed25519.Verify(k, []byte(base), sig) {
			return bad
		}
		return nil
	case *rsa.PublicKey:
		if alg == AlgEd25519 {
			break
		}
		if alg != AlgRSAPSSSHA512 {
			h := sha256.Sum256([]byte(base))
			if rsa.VerifyPKCS1v15(k, crypto.SHA256, h[:], sig) == nil {
				return nil
			}
		}
		if alg != AlgRSAv15SHA256 {
			h := sha512.Sum512([]byte(base))
			if rsa.VerifyPSS(k, crypto.SHA512, h[:], sig, &rsa.PSSOptions{SaltLength: 64, Hash: crypto.SHA512}) == nil {
				return nil
			}
		}
		return bad
	default:
		return errs.E(errs.Unauthorized, "signing key type is not supported")
	}
	return errs.E(errs.Unauthorized, "signature algorithm does not match the signing key")
}

// signatureBase builds the RFC 9421 §2.5 signature base of r: one line
// per covered component, then @signature-params, re-serialised from our
// parse so that what we verify is exactly what we understood.
func signatureBase(r *http.Request, s *rfcSig, scheme string) (string, error) {
	var b strings.Builder
	for _, c := range s.components {
		v, err := componentValue(r, c, scheme)
		if err != nil {
			return "", err
		}
		c.serialize(&b)
		b.WriteString(": ")
		b.WriteString(v)
		b.WriteByte('\n')
	}
	b.WriteString(`"@signature-params": `)
	b.WriteString(serializeInner(s.components, s.params))
	return b.String(), nil
}

// componentValue is one covered component's value (RFC 9421 §2.1, §2.2).
// A value holding a control character is refused: it could forge a line
// of the signature base.
func componentValue(r *http.Request, c sfItem, scheme string) (string, error) {
	var v string
	switch c.str {
	case "@method":
		v = r.Method
	case "@scheme":
		v = strings.ToLower(scheme)
	case "@authority":
		v = authority(r.Host, scheme)
	case "@target-uri":
		v = strings.ToLower(scheme) + "://" + authority(r.Host, scheme) + requestTarget(r.URL)
	case "@request-target":
		v = requestTarget(r.URL)
	case "@path":
		v = wireTarget(r.URL).Path
	case "@query":
		v = "?" + r.URL.RawQuery
	case "@query-param":
		var err error
		if v, err = queryParam(r.URL.RawQuery, c.params[0].val.str); err != nil {
			return "", err
		}
	case "host":
		v = r.Host
	default:
		if strings.HasPrefix(c.str, "@") {
			return "", errs.E(errs.Unauthorized, "signature component %s is not supported", c.str)
		}
		vs := r.Header.Values(c.str)
		if len(vs) == 0 {
			return "", errs.E(errs.Unauthorized, "signed header %s is missing", c.str)
		}
		for i := range vs {
			vs[i] = strings.Trim(vs[i], " \t")
		}
		v = strings.Join(vs, ", ")
	}
	for i := 0; i < len(v); i++ {
		if isCtl(v[i]) && v[i] != '\t' {
			return "", errs.E(errs.Unauthorized, "signed component %s holds a control character", c.str)
		}
	}
	return v, nil
}

// authority is the lower-case host with the scheme's default port dropped
// (RFC 9421 §2.2.3).
func authority(host, scheme string) string {
	host = strings.ToLower(host)
	switch {
	case scheme == "https" && strings.HasSuffix(host, ":443"):
		return strings.TrimSuffix(host, ":443")
	case scheme == "http" && strings.HasSuffix(host, ":80"):
		return strings.TrimSuffix(host, ":80")
	}
	return host
}

// requestTarget is the escaped path and query as sent on the wire.
func requestTarget(u *url.URL) string {
	t := wireTarget(u)
	if t.RawQuery != "" || u.ForceQuery {
		return t.Path + "?" + t.RawQuery
	}
	return t.Path
}

// queryParam is @query-param's value: the one parameter named name,
// decoded and re-encoded (RFC 9421 §2.2.8). A name given twice is refused:
// which value was meant is ambiguous.
func queryParam(rawQuery, name string) (string, error) {
	var found []string
	for _, pair := range strings.Split(rawQuery, "&") {
		k, v, _ := strings.Cut(pair, "=")
		dk, err1 := url.QueryUnescape(k)
		dv, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return "", errs.E(errs.Unauthorized, "query is not valid form encoding")
		}
		if dk == name {
			found = append(found, dv)
		}
	}
	if len(found) != 1 {
		return "", errs.E(errs.Unauthorized, "signed query parameter %s must appear exactly once", name)
	}
	return strings.ReplaceAll(url.QueryEscape(found[0]), "+", "%20"), nil
}
