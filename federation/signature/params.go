// Package signature signs and checks draft-cavage HTTP Signatures, the
// scheme every fediverse server speaks, and RFC 9421 HTTP Message
// Signatures, its successor (rfc9421.go). It is the only importer of
// github.com/go-fed/httpsig, which is used for cavage only.
//
// httpsig verifies the signature over the headers a request lists and
// nothing else: it never recomputes the body's Digest, never looks at Date,
// treats a missing headers= parameter as "date only", and splits the
// Signature header on every comma. So verification here is two steps:
// Check enforces Roost's policy (which headers must be signed, the Date
// window, the Digest against the body) cheaply, before any key is fetched;
// Verify then checks the cryptography, handing httpsig a header we
// re-serialised from our own parse so both sides agree on what was signed.
package signature

import (
	"strconv"
	"strings"

	"github.com/roost-social/roost/internal/errs"
)

// MaxHeaderLen bounds a Signature header; real ones are under 1 KiB, and
// parsing cost must not grow with what a stranger sends.
const MaxHeaderLen = 8 << 10

// The pseudo-headers of draft-cavage-12.
const (
	RequestTarget = "(request-target)"
	Created       = "(created)"
	Expires       = "(expires)"
)

// Params is a parsed Signature header (or Authorization: Signature ...).
type Params struct {
	KeyID     string
	Algorithm string   // lower case; empty when absent
	Headers   []string // lower case, in signed order; nil when headers= is absent
	Signature string   // base64, as sent
	Created   int64    // unix seconds; zero when absent
	Expires   int64    // unix seconds; zero when absent
	// Scheme is Cavage for a Signature header, RFC9421 for a request
	// carrying Signature-Input; Headers is nil for RFC9421.
	Scheme Scheme

	rfc *rfcSig // the RFC 9421 signature, when Scheme is RFC9421
}

// ParseHeader parses the parameters of a Signature header (without the
// "Signature " auth-scheme of an Authorization header). Values may be
// quoted (commas inside quotes are not separators, backslash escapes a
// character); parameter names are case-insensitive and may appear once;
// unknown parameters are ignored as the draft asks. Failures are
// errs.Unauthorized.
func ParseHeader(v string) (*Params, error) {
	if len(v) > MaxHeaderLen {
		return nil, errs.E(errs.Unauthorized, "Signature header is too long")
	}
	p := &Params{}
	seen := make(map[string]bool, 6)
	s := scanner{s: v}
	for {
		s.skipSpace()
		if s.done() {
			break
		}
		if s.peek() == ',' { // empty list elements are allowed in HTTP lists
			s.i++
			continue
		}
		name := strings.ToLower(s.token())
		if name == "" {
			return nil, malformed()
		}
		s.skipSpace()
		if s.done() || s.peek() != '=' {
			return nil, malformed()
		}
		s.i++
		s.skipSpace()
		val, ok := s.value()
		if !ok {
			return nil, malformed()
		}
		s.skipSpace()
		if !s.done() && s.peek() != ',' {
			return nil, malformed()
		}
		if seen[name] {
			return nil, errs.E(errs.Unauthorized, "Signature header repeats a parameter")
		}
		seen[name] = true
		if err := p.set(name, val); err != nil {
			return nil, err
		}
	}
	if p.KeyID == "" {
		return nil, errs.E(errs.Unauthorized, "signature has no keyId")
	}
	if p.Signature == "" {
		return nil, errs.E(errs.Unauthorized, "signature has no signature value")
	}
	return p, nil
}

func (p *Params) set(name, val string) error {
	var err error
	switch name {
	case "keyid":
		p.KeyID = val
	case "algorithm":
		p.Algorithm = strings.ToLower(val)
	case "signature":
		p.Signature = val
	case "headers":
		p.Headers, err = parseHeaderList(val)
	case "created":
		p.Created, err = parseUnix(val)
	case "expires":
		p.Expires, err = parseUnix(val)
	}
	return err
}

// parseHeaderList splits headers= on spaces. Every name must be an HTTP
// token or one of the draft's pseudo-headers and may appear once, so that a
// list means the same to us as to the library that builds the signing
// string.
func parseHeaderList(v string) ([]string, error) {
	var out []string
	seen := make(map[string]bool)
	for _, h := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == '\t' }) {
		h = strings.ToLower(h)
		switch {
		case h == RequestTarget || h == Created || h == Expires:
		case isToken(h):
		default:
			return nil, errs.E(errs.Unauthorized, "signature headers parameter names an invalid header")
		}
		if seen[h] {
			return nil, errs.E(errs.Unauthorized, "signature headers parameter repeats a header")
		}
		seen[h] = true
		out = append(out, h)
	}
	if len(out) == 0 {
		return nil, errs.E(errs.Unauthorized, "signature headers parameter is empty")
	}
	return out, nil
}

func parseUnix(v string) (int64, error) {
	if v == "" || len(v) > 18 || strings.Trim(v, "0123456789") != "" {
		return 0, errs.E(errs.Unauthorized, "signature created or expires is not a unix time")
	}
	n, _ := strconv.ParseInt(v, 10, 64) // 18 digits always fit
	return n, nil
}

func malformed() error { return errs.E(errs.Unauthorized, "Signature header is malformed") }

// String renders p as a Signature header value, in the parameter order
// Mastodon sends. ParseHeader(p.String()) gives p back.
func (p *Params) String() string {
	var b strings.Builder
	b.WriteString(`keyId=`)
	b.WriteString(quote(p.KeyID))
	if p.Algorithm != "" {
		b.WriteString(`,algorithm=`)
		b.WriteString(quote(p.Algorithm))
	}
	if p.Created != 0 {
		b.WriteString(`,created=`)
		b.WriteString(strconv.FormatInt(p.Created, 10))
	}
	if p.Expires != 0 {
		b.WriteString(`,expires=`)
		b.WriteString(strconv.FormatInt(p.Expires, 10))
	}
	if p.Headers != nil {
		b.WriteString(`,headers=`)
		b.WriteString(quote(strings.Join(p.Headers, " ")))
	}
	b.WriteString(`,signature=`)
	b.WriteString(quote(p.Signature))
	return b.String()
}

func quote(s string) string {
	if !strings.ContainsAny(s, `"\`) {
		return `"` + s + `"`
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}
