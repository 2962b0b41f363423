package tenant

import (
	"strings"
	"unicode/utf8"

	"github.com/roost-social/roost/internal/errs"
	"golang.org/x/net/idna"
)

// idnaProfile converts internationalised names to their punycode form with
// the rules browsers use for lookups.
var idnaProfile = idna.Lookup

// NormalizeHost turns a Host header (or a domain typed by a person) into
// the form domains are stored in: lower case, punycode, no port, no trailing
// dot. IP literals and anything that is not a valid DNS name are refused.
// For an already-normal ASCII name it returns a substring of raw without
// allocating.
func NormalizeHost(raw string) (string, error) {
	h := raw
	if strings.HasPrefix(h, "[") {
		return "", errs.E(errs.Invalid, "IP literal hosts are not served")
	}
	if i := strings.IndexByte(h, ':'); i >= 0 {
		if strings.IndexByte(h[i+1:], ':') >= 0 {
			return "", errs.E(errs.Invalid, "IP literal hosts are not served")
		}
		if !allDigits(h[i+1:]) {
			return "", errs.E(errs.Invalid, "invalid port in host")
		}
		h = h[:i]
	}
	if !isASCII(h) {
		// IDNA maps full-width dots and letters, so it runs before the
		// trailing dot is trimmed.
		if !utf8.ValidString(h) {
			return "", errInvalidName
		}
		ascii, err := idnaProfile.ToASCII(h)
		if err != nil {
			return "", errInvalidName
		}
		h = ascii
	}
	h = strings.ToLower(h) // returns h itself when already lower case
	h = strings.TrimSuffix(h, ".")
	if !validName(h) {
		return "", errInvalidName
	}
	return h, nil
}

// NormalizeDomain is NormalizeHost for names being registered rather than
// looked up: punycode labels must also decode. (Lookups skip that check to
// stay allocation-free; an undecodable name can never have been stored.)
func NormalizeDomain(raw string) (string, error) {
	h, err := NormalizeHost(raw)
	if err != nil {
		return "", err
	}
	if strings.Contains(h, "xn--") {
		if _, err := idnaProfile.ToUnicode(h); err != nil {
			return "", errInvalidName
		}
	}
	return h, nil
}

var errInvalidName = errs.E(errs.Invalid, "host is not a valid domain name")

func isASCII(h string) bool {
	for i := 0; i < len(h); i++ {
		if h[i] >= 0x80 {
			return false
		}
	}
	return true
}

// validName checks an already lower-case ASCII name: labels of 1–63
// letters, digits and inner hyphens, at most 253 bytes, and a last label
// that is not all digits (so dotted-quad IPv4 literals are refused).
func validName(h string) bool {
	if len(h) == 0 || len(h) > 253 {
		return false
	}
	label := 0
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c == '.':
			if label == 0 || h[i-1] == '-' {
				return false
			}
			label = 0
			continue
		case c == '-':
			if label == 0 {
				return false
			}
		case ('a' <= c && c <= 'z') || ('0' <= c && c <= '9'):
		default:
			return false
		}
		label++
		if label > 63 {
			return false
		}
	}
	if label == 0 || h[len(h)-1] == '-' {
		return false
	}
	last := h[strings.LastIndexByte(h, '.')+1:]
	return !allDigits(last)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
