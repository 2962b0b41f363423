// Package text shortens strings for bounded storage and messages without
// breaking them: PostgreSQL refuses text that is not valid UTF-8, so a
// value cut inside a character would fail the very row it was cut for.
package text

import "unicode/utf8"

// Cut returns s shortened to at most n bytes, never inside a UTF-8
// sequence.
func Cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n < 0 {
		n = 0
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Clip is Cut with "…" appended when anything was cut, for text a person
// reads (the mark's 3 bytes are not counted in n).
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return Cut(s, n) + "…"
}
