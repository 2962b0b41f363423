package tenant

import (
	"strings"

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
	h = strings.TrimSuffix(h, ".")
	if needsMapping(h) {
		ascii, err := idnaProfile.ToASCII(h)
		if err != nil {
			return "", errs.E(errs.Invalid, "host is not a valid domain name")
		}
		h = ascii
	}
	if !validName(h) {
		return "", errs.E(errs.Invalid, "host is not a valid domain name")
	}
	return h, nil
}

// needsMapping reports whether h has upper case or non-ASCII characters.
func needsMapping(h string) bool {
	for i := 0; i < len(h); i++ {
		c := h[i]
		if c >= 0x80 || ('A' <= c && c <= 'Z') {
			return true
		}
	}
	return false
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
