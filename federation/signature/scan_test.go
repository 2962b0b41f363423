package signature

import (
	"strings"
	"testing"
)

// slowValue is scanner.value without its fast path for quoted values free
// of escapes: the reference the fast path must agree with.
func slowValue(s *scanner) (string, bool) {
	if s.done() || s.peek() != '"' {
		return s.value()
	}
	s.i++
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
	return "", false
}

func checkValue(t *testing.T, in string) {
	t.Helper()
	fast, ref := scanner{s: in}, scanner{s: in}
	v, ok := fast.value()
	rv, rok := slowValue(&ref)
	if v != rv || ok != rok || (ok && fast.i != ref.i) {
		t.Fatalf("value(%q) = %q, %v at %d; want %q, %v at %d", in, v, ok, fast.i, rv, rok, ref.i)
	}
}

func TestScannerValue(t *testing.T) {
	for _, in := range []string{
		`"plain"`, `"plain",next="x"`, `""`, `"`, `"unterminated`, `"a\"b"`, `"ab\\"`,
		`"a\`, "\"a\\\n\"", "\"tab\tok\"", "\"nl\nbad\"", "\"del\x7fbad\"", "\"x\"y\"",
		`"after \" escape, then , comma"`, `bare`, `bare,next`, `"é ünïcode"`,
	} {
		checkValue(t, in)
	}
}

func FuzzScannerValue(f *testing.F) {
	for _, s := range []string{`"plain"`, `"a\"b"`, `"a\`, "\"x\ny\"", `bare`} {
		f.Add(s)
	}
	f.Fuzz(checkValue)
}
