package signature

import "strings"

// scanner walks an auth-param list (RFC 9110 §11.2): name BWS "=" BWS
// ( token / quoted-string ), separated by commas.
type scanner struct {
	s string
	i int
}

func (s *scanner) done() bool { return s.i >= len(s.s) }
func (s *scanner) peek() byte { return s.s[s.i] }

func (s *scanner) skipSpace() {
	for !s.done() && (s.peek() == ' ' || s.peek() == '\t') {
		s.i++
	}
}

func (s *scanner) token() string {
	start := s.i
	for !s.done() && isTchar(s.peek()) {
		s.i++
	}
	return s.s[start:s.i]
}

// value reads a quoted string (undoing backslash escapes) or a bare value
// running to the next comma or space. Control characters are refused in
// both, so a value can never smuggle a line break into a signing string.
func (s *scanner) value() (string, bool) {
	if s.done() {
		return "", false
	}
	if s.peek() != '"' {
		start := s.i
		for !s.done() && s.peek() != ',' && s.peek() != ' ' && s.peek() != '\t' {
			c := s.peek()
			if c == '"' || c == '\\' || isCtl(c) {
				return "", false
			}
			s.i++
		}
		return s.s[start:s.i], s.i > start
	}
	s.i++ // opening quote
	// The usual value has no escapes: return it as a substring.
	for j := s.i; j < len(s.s); j++ {
		c := s.s[j]
		if c == '"' {
			v := s.s[s.i:j]
			s.i = j + 1
			return v, true
		}
		if c == '\\' {
			break
		}
		if isCtl(c) {
			return "", false
		}
	}
	var b strings.Builder
	for !s.done() {
		c := s.peek()
		s.i++
		switch {
		case c == '"':
			return b.String(), true
		case c == '\\':
			if s.done() || isCtl(s.peek()) {
				return "", false
			}
			b.WriteByte(s.peek())
			s.i++
		case isCtl(c):
			return "", false
		default:
			b.WriteByte(c)
		}
	}
	return "", false // unterminated
}

func isCtl(c byte) bool { return (c < 0x20 && c != '\t') || c == 0x7f }

// isTchar reports whether c may appear in an HTTP token (RFC 9110 §5.6.2).
func isTchar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isTchar(s[i]) {
			return false
		}
	}
	return true
}
